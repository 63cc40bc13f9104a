#define _GNU_SOURCE
#include "CSriovShims.h"
#include <malloc.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <sys/eventfd.h>
#include <stdio.h>
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
long CSriovShims_SSL_OP_NO_TICKET(void) { return (long)SSL_OP_NO_TICKET; }
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

int CSriovShims_X509_svid_leaf_check(X509 *cert) {
    uint32_t flags = X509_get_extension_flags(cert); /* also decodes the extensions */
    if (flags & EXFLAG_INVALID) return CSriovShims_SVID_BAD_EXTENSIONS;
    if ((flags & EXFLAG_BCONS) && (flags & EXFLAG_CA)) return CSriovShims_SVID_CA;
    if (!(flags & EXFLAG_KUSAGE)) return CSriovShims_SVID_NO_KEY_USAGE;
    uint32_t ku = X509_get_key_usage(cert);
    if (ku & KU_KEY_CERT_SIGN) return CSriovShims_SVID_KEY_CERT_SIGN;
    if (ku & KU_CRL_SIGN) return CSriovShims_SVID_CRL_SIGN;
    if (!(ku & KU_DIGITAL_SIGNATURE)) return CSriovShims_SVID_NO_DIGITAL_SIGNATURE;
    if ((flags & EXFLAG_XKUSAGE) && !(X509_get_extended_key_usage(cert) & XKU_SSL_CLIENT))
        return CSriovShims_SVID_NO_CLIENT_AUTH;
    return CSriovShims_SVID_OK;
}

int CSriovShims_X509_uri_sans(X509 *cert, unsigned char *buf, size_t cap, size_t *first_len) {
    *first_len = 0;
    int crit = 0;
    GENERAL_NAMES *names = X509_get_ext_d2i(cert, NID_subject_alt_name, &crit, NULL);
    if (!names) return crit == -1 ? 0 : -1; /* -1: absent; otherwise undecodable or repeated */
    int count = 0;
    for (int i = 0; i < sk_GENERAL_NAME_num(names); i++) {
        const GENERAL_NAME *n = sk_GENERAL_NAME_value(names, i);
        if (n->type != GEN_URI) continue;
        if (count++ == 0) {
            const unsigned char *data = ASN1_STRING_get0_data(n->d.uniformResourceIdentifier);
            int dl = ASN1_STRING_length(n->d.uniformResourceIdentifier);
            *first_len = dl > 0 ? (size_t)dl : 0;
            if (dl > 0 && (size_t)dl <= cap) memcpy(buf, data, (size_t)dl);
        }
    }
    GENERAL_NAMES_free(names);
    return count;
}

int CSriovShims_X509_seconds_until_expiry(X509 *cert, long long *seconds) {
    int days = 0, secs = 0;
    if (!ASN1_TIME_diff(&days, &secs, NULL, X509_get0_notAfter(cert))) return 0;
    *seconds = (long long)days * 86400 + secs;
    return 1;
}

int CSriovShims_SSL_CTX_crl_count(SSL_CTX *ctx) {
    X509_STORE *store = SSL_CTX_get_cert_store(ctx);
    if (!store) return 0;
    int count = 0;
    if (!X509_STORE_lock(store)) return 0;
    STACK_OF(X509_OBJECT) *objs = X509_STORE_get0_objects(store);
    for (int i = 0; i < sk_X509_OBJECT_num(objs); i++)
        if (X509_OBJECT_get_type(sk_X509_OBJECT_value(objs, i)) == X509_LU_CRL) count++;
    X509_STORE_unlock(store);
    return count;
}

int CSriovShims_SSL_CTX_load_crl_file(SSL_CTX *ctx, const char *path) {
    X509_STORE *store = SSL_CTX_get_cert_store(ctx);
    X509_LOOKUP *lookup = store ? X509_STORE_add_lookup(store, X509_LOOKUP_file()) : NULL;
    if (!lookup) return 0;
    return X509_load_crl_file(lookup, path, X509_FILETYPE_PEM);
}

int CSriovShims_SSL_reverify_peer(const SSL *ssl, SSL_CTX *ctx, char *buf, size_t cap) {
    buf[0] = 0;
    X509 *leaf = SSL_get0_peer_certificate(ssl);
    if (!leaf) return -1;
    STACK_OF(X509) *chain = SSL_get_peer_cert_chain(ssl); /* server side: without the leaf */
    X509_STORE_CTX *sctx = X509_STORE_CTX_new();
    if (!sctx) { snprintf(buf, cap, "out of memory"); return 0; }
    int ok = 0;
    if (X509_STORE_CTX_init(sctx, SSL_CTX_get_cert_store(ctx), leaf, chain)) {
        X509_STORE_CTX_set_default(sctx, "ssl_client");
        X509_VERIFY_PARAM_set_auth_level(X509_STORE_CTX_get0_param(sctx), SSL_CTX_get_security_level(ctx));
        ok = X509_verify_cert(sctx) == 1;
        if (!ok) snprintf(buf, cap, "%s", X509_verify_cert_error_string(X509_STORE_CTX_get_error(sctx)));
    } else {
        snprintf(buf, cap, "could not set up verification");
    }
    X509_STORE_CTX_free(sctx);
    return ok;
}
