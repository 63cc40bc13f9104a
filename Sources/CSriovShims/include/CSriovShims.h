#ifndef CSRIOVSHIMS_H
#define CSRIOVSHIMS_H
/*
 * C shims for what Swift cannot import directly: OpenSSL function-like
 * macros, <sys/epoll.h>, accept4 and other _GNU_SOURCE functions.
 * Every exported symbol is prefixed with CSriovShims_.
 */
#include <stddef.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <openssl/ssl.h>

/* --- sockets --- */
int CSriovShims_accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags);
int CSriovShims_SOCK_NONBLOCK(void);
int CSriovShims_SOCK_CLOEXEC(void);

/* --- epoll --- */
int CSriovShims_epoll_create(void);
int CSriovShims_epoll_ctl(int epfd, int op, int fd, uint32_t events, uint64_t data);
int CSriovShims_epoll_wait(int epfd, struct epoll_event *events, int maxevents, int timeout);
uint64_t CSriovShims_epoll_event_data(const struct epoll_event *event);
uint32_t CSriovShims_epoll_event_events(const struct epoll_event *event);

/* --- OpenSSL macros --- */
int CSriovShims_SSL_CTX_set_min_proto_version(SSL_CTX *ctx, int version);
int CSriovShims_SSL_CTX_set_max_proto_version(SSL_CTX *ctx, int version);
long CSriovShims_SSL_CTX_set_mode(SSL_CTX *ctx, long mode);
long CSriovShims_SSL_CTX_set_options(SSL_CTX *ctx, long options);
int CSriovShims_SSL_set_tlsext_host_name(SSL *ssl, const char *name);
int CSriovShims_SSL_CTX_set1_groups_list(SSL_CTX *ctx, const char *list);
long CSriovShims_SSL_CTX_set_session_cache_mode(SSL_CTX *ctx, long mode);
int CSriovShims_TLS1_2_VERSION(void);
int CSriovShims_TLS1_3_VERSION(void);
long CSriovShims_SSL_MODE_RELEASE_BUFFERS(void);
long CSriovShims_SSL_MODE_ENABLE_PARTIAL_WRITE(void);
long CSriovShims_SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER(void);
long CSriovShims_SSL_OP_NO_RENEGOTIATION(void);
long CSriovShims_SSL_OP_NO_COMPRESSION(void);
long CSriovShims_SSL_OP_IGNORE_UNEXPECTED_EOF(void);
long CSriovShims_SSL_OP_CIPHER_SERVER_PREFERENCE(void);
long CSriovShims_SSL_OP_NO_TICKET(void);
void CSriovShims_ERR_clear_error(void);

/* --- eventfd (event-loop wake-ups) --- */
int CSriovShims_eventfd(void);
int CSriovShims_eventfd_signal(int fd);
int CSriovShims_eventfd_drain(int fd);

/* --- TLS helpers --- */
/* Server: select "h2" by ALPN; a client offering ALPN without h2 is refused. */
void CSriovShims_SSL_CTX_select_alpn_h2(SSL_CTX *ctx);
/* Client: offer "h2". Returns 0 on success. */
int CSriovShims_SSL_set_alpn_h2(SSL *ssl);
/* 1 when "h2" was negotiated by ALPN. */
int CSriovShims_SSL_alpn_is_h2(const SSL *ssl);
/* Client: verify the server certificate against host (a DNS name or an IP
 * literal). Returns 1 on success. */
int CSriovShims_SSL_set_verify_host(SSL *ssl, const char *host, int is_ip);
/* Human-readable reason of the last verification failure, or NULL. */
const char *CSriovShims_SSL_verify_error(const SSL *ssl);
/* Pops OpenSSL's error queue into buf as one line. */
void CSriovShims_ERR_drain(char *buf, size_t len);
/* Loads a certificate chain, a key and a CA bundle into ctx and requires the
 * key to match. verify_peer: 0 none, 1 request, 2 require. Returns 1 or 0. */
int CSriovShims_SSL_CTX_load(SSL_CTX *ctx, const char *cert, const char *key, const char *ca, int verify_peer);

/* --- X509-SVID identity checks --- */
/* Leaf rules of an X509-SVID, in the order they are checked. */
#define CSriovShims_SVID_OK 0
#define CSriovShims_SVID_CA 1                   /* basicConstraints CA:TRUE */
#define CSriovShims_SVID_KEY_CERT_SIGN 2        /* keyUsage keyCertSign */
#define CSriovShims_SVID_CRL_SIGN 3             /* keyUsage cRLSign */
#define CSriovShims_SVID_NO_KEY_USAGE 4         /* no keyUsage extension */
#define CSriovShims_SVID_NO_DIGITAL_SIGNATURE 5 /* keyUsage without digitalSignature */
#define CSriovShims_SVID_NO_CLIENT_AUTH 6       /* an extendedKeyUsage without clientAuth */
#define CSriovShims_SVID_BAD_EXTENSIONS 7       /* extensions OpenSSL could not decode */
/* Checks the X509-SVID leaf rules; returns the first broken one. */
int CSriovShims_X509_svid_leaf_check(X509 *cert);
/* Counts the URI SANs of cert. The first one's length goes to *first_len
 * and, when it fits, its bytes (unchanged, NULs included) into buf.
 * Returns -1 when the subjectAltName extension cannot be decoded. */
int CSriovShims_X509_uri_sans(X509 *cert, unsigned char *buf, size_t cap, size_t *first_len);
/* Seconds from now until cert's notAfter (negative once past). Returns 1,
 * or 0 when the time cannot be read. */
int CSriovShims_X509_seconds_until_expiry(X509 *cert, long long *seconds);
/* Number of CRLs in ctx's trust store. */
int CSriovShims_SSL_CTX_crl_count(SSL_CTX *ctx);
/* Loads the CRLs of a PEM file into ctx's trust store; returns how many. */
int CSriovShims_SSL_CTX_load_crl_file(SSL_CTX *ctx, const char *path);
/* Verifies ssl's peer certificate chain again, against ctx's trust store
 * (CA certificates, CRLs and flags) at the current time, for a TLS client
 * at ctx's security level. Returns 1 when it verifies, 0 with the reason in
 * buf, -1 when there is no peer certificate. */
int CSriovShims_SSL_reverify_peer(const SSL *ssl, SSL_CTX *ctx, char *buf, size_t cap);

/* Releases unused heap memory back to the OS (glibc malloc_trim). */
int CSriovShims_malloc_trim(size_t pad);

#endif
