#define _GNU_SOURCE
#include "CSriovShims.h"
#include <malloc.h>
#include <openssl/err.h>

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
