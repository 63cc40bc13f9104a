#ifndef CZLIB_SHIM_H
#define CZLIB_SHIM_H
#include <zlib.h>

/* deflateInit2/inflateInit2 are function-like macros Swift cannot call.
 * windowBits 15 + 16 selects the gzip wrapper (RFC 1952), which is what
 * gRPC's "gzip" message encoding means. */
static inline int CZlib_deflateInitGzip(z_streamp stream, int level) {
    return deflateInit2(stream, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
}

static inline int CZlib_inflateInitGzip(z_streamp stream) {
    return inflateInit2(stream, 15 + 16);
}
#endif
