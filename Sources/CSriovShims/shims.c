#define _GNU_SOURCE
#include "CSriovShims.h"
#include <malloc.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <sys/eventfd.h>
#include <string.h>
#include <unistd.h>

int CSriovShims_accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags) {
    return accept4(fd, addr, len, flags);
}
int CSriovShims_SOCK_NONBLOCK(void) { return SOCK_NONBLOCK; }
int CSriovShims_SOCK_CLOEXEC(void) { return SOCK_CLOEXEC; }

int CSriovShims_epoll_create(void) { return epoll_create1(EPOLL_CLOEXEC); }
int CSriovShims_epoll_ctl(int epfd, int op, int fd, uint32_t events, uint64_t data) {
    struct epoll_event ev;
    ev.events = events;
    ev.data.u64 = data;
    return epoll_ctl(epfd, op, fd, &ev);
}
int CSriovShims_epoll_wait(int epfd, struct epoll_event *events, int maxevents, int timeout) {
    return epoll_wait(epfd, events, maxevents, timeout);
}
uint64_t CSriovShims_epoll_event_data(const struct epoll_event *event) { return event->data.u64; }
uint32_t CSriovShims_epoll_event_events(const struct epoll_event *event) { return event->events; }

int CSriovShims_SSL_CTX_set_min_proto_version(SSL_CTX *ctx, int version) {
    return (int)SSL_CTX_set_min_proto_version(ctx, version);
}
int CSriovShims_SSL_CTX_set_max_proto_version(SSL_CTX *ctx, int version) {
    return (int)SSL_CTX_set_max_proto_version(ctx, version);
}
long CSriovShims_SSL_CTX_set_mode(SSL_CTX *ctx, long mode) { return SSL_CTX_set_mode(ctx, mode); }
long CSriovShims_SSL_CTX_set_options(SSL_CTX *ctx, long options) { return (long)SSL_CTX_set_options(ctx, (uint64_t)options); }
int CSriovShims_SSL_set_tlsext_host_name(SSL *ssl, const char *name) { return (int)SSL_set_tlsext_host_name(ssl, name); }
int CSriovShims_SSL_CTX_set1_groups_list(SSL_CTX *ctx, const char *list) { return (int)SSL_CTX_set1_groups_list(ctx, list); }
long CSriovShims_SSL_CTX_set_session_cache_mode(SSL_CTX *ctx, long mode) { return SSL_CTX_set_session_cache_mode(ctx, mode); }
int CSriovShims_TLS1_2_VERSION(void) { return TLS1_2_VERSION; }
int CSriovShims_TLS1_3_VERSION(void) { return TLS1_3_VERSION; }
long CSriovShims_SSL_MODE_RELEASE_BUFFERS(void) { return SSL_MODE_RELEASE_BUFFERS; }
long CSriovShims_SSL_MODE_ENABLE_PARTIAL_WRITE(void) { return SSL_MODE_ENABLE_PARTIAL_WRITE; }
long CSriovShims_SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER(void) { return SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER; }
long CSriovShims_SSL_OP_NO_RENEGOTIATION(void) { return (long)SSL_OP_NO_RENEGOTIATION; }
long CSriovShims_SSL_OP_NO_COMPRESSION(void) { return (long)SSL_OP_NO_COMPRESSION; }
long CSriovShims_SSL_OP_CIPHER_SERVER_PREFERENCE(void) { return (long)SSL_OP_CIPHER_SERVER_PREFERENCE; }
void CSriovShims_ERR_clear_error(void) { ERR_clear_error(); }

int CSriovShims_malloc_trim(size_t pad) { return malloc_trim(pad); }

int CSriovShims_eventfd(void) { return eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC); }
int CSriovShims_eventfd_signal(int fd) { uint64_t one = 1; return (int)write(fd, &one, sizeof one); }
int CSriovShims_eventfd_drain(int fd) { uint64_t v; return (int)read(fd, &v, sizeof v); }

static const unsigned char h2_alpn[] = {2, 'h', '2'};

static int select_h2(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                     const unsigned char *in, unsigned int inlen, void *arg) {
    (void)ssl; (void)arg;
    unsigned char *o = NULL;
    if (SSL_select_next_proto(&o, outlen, h2_alpn, sizeof h2_alpn, in, inlen) != OPENSSL_NPN_NEGOTIATED)
        return SSL_TLSEXT_ERR_ALERT_FATAL;
    *out = o;
    return SSL_TLSEXT_ERR_OK;
}
void CSriovShims_SSL_CTX_select_alpn_h2(SSL_CTX *ctx) { SSL_CTX_set_alpn_select_cb(ctx, select_h2, NULL); }
int CSriovShims_SSL_set_alpn_h2(SSL *ssl) { return SSL_set_alpn_protos(ssl, h2_alpn, sizeof h2_alpn); }
int CSriovShims_SSL_alpn_is_h2(const SSL *ssl) {
    const unsigned char *p = NULL; unsigned int n = 0;
    SSL_get0_alpn_selected(ssl, &p, &n);
    return n == 2 && p[0] == 'h' && p[1] == '2';
}

int CSriovShims_SSL_peer_uri_san(const SSL *ssl, char *buf, size_t len) {
    X509 *cert = SSL_get1_peer_certificate(ssl);
    if (!cert) return -1;
    int result = 0;
    GENERAL_NAMES *names = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
    if (names) {
        for (int i = 0; i < sk_GENERAL_NAME_num(names); i++) {
            const GENERAL_NAME *n = sk_GENERAL_NAME_value(names, i);
            if (n->type == GEN_URI) {
                const unsigned char *data = ASN1_STRING_get0_data(n->d.uniformResourceIdentifier);
                int dl = ASN1_STRING_length(n->d.uniformResourceIdentifier);
                if (dl > 0 && (size_t)dl < len) {
                    memcpy(buf, data, (size_t)dl);
                    buf[dl] = 0;
                    result = dl;
                }
                break;
            }
        }
        GENERAL_NAMES_free(names);
    }
    X509_free(cert);
    return result;
}

int CSriovShims_SSL_set_verify_host(SSL *ssl, const char *host, int is_ip) {
    X509_VERIFY_PARAM *param = SSL_get0_param(ssl);
    if (is_ip) return X509_VERIFY_PARAM_set1_ip_asc(param, host);
    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    return SSL_set1_host(ssl, host);
}

const char *CSriovShims_SSL_verify_error(const SSL *ssl) {
    long r = SSL_get_verify_result(ssl);
    if (r == X509_V_OK) return NULL;
    return X509_verify_cert_error_string(r);
}

void CSriovShims_ERR_drain(char *buf, size_t len) {
    size_t used = 0;
    buf[0] = 0;
    unsigned long e;
    while ((e = ERR_get_error()) != 0) {
        char one[256];
        ERR_error_string_n(e, one, sizeof one);
        size_t l = strlen(one);
        if (used + l + 3 < len) {
            if (used) { memcpy(buf + used, "; ", 2); used += 2; }
            memcpy(buf + used, one, l);
            used += l;
            buf[used] = 0;
        }
    }
}

int CSriovShims_SSL_CTX_load(SSL_CTX *ctx, const char *cert, const char *key, const char *ca, int verify_peer) {
    if (cert && cert[0]) {
        if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) return 0;
        if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) return 0;
        if (SSL_CTX_check_private_key(ctx) != 1) return 0;
    }
    if (ca && ca[0]) {
        if (SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1) return 0;
        STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(ca);
        if (names) SSL_CTX_set_client_CA_list(ctx, names);
    }
    int mode = SSL_VERIFY_NONE;
    if (verify_peer == 1) mode = SSL_VERIFY_PEER;
    if (verify_peer == 2) mode = SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
    SSL_CTX_set_verify(ctx, mode, NULL);
    return 1;
}
long CSriovShims_SSL_OP_IGNORE_UNEXPECTED_EOF(void) { return (long)SSL_OP_IGNORE_UNEXPECTED_EOF; }
