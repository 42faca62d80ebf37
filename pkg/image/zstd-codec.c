/* Layer compression with libzstd's streaming API: single-threaded at a fixed level so that
 * the same bytes always give the same frame. libzstd is opened on first use (dlib.h): a run
 * from a warm layer cache, like most commands, never decompresses anything. */
#include <errno.h>
#include <zstd.h>

#include "base.h"
#include "zstd-codec.h"

/* The soname the build linked against (the Makefile reads it from the library). */
#ifndef CVM_LIBZSTD_SONAME
#define CVM_LIBZSTD_SONAME "libzstd.so.1"
#endif

#define ZSTD_FUNCTIONS(X)                                                                          \
    X(ZSTD_CCtx_setParameter)                                                                      \
    X(ZSTD_CCtx_setPledgedSrcSize)                                                                 \
    X(ZSTD_DCtx_setParameter)                                                                      \
    X(ZSTD_compress2)                                                                              \
    X(ZSTD_compressBound)                                                                          \
    X(ZSTD_createCCtx)                                                                             \
    X(ZSTD_createDStream)                                                                          \
    X(ZSTD_decompressStream)                                                                       \
    X(ZSTD_freeCCtx)                                                                               \
    X(ZSTD_freeDStream)                                                                            \
    X(ZSTD_getErrorName)                                                                           \
    X(ZSTD_isError)

#define ZSTD_DEFINE(f) static __typeof__(f) *sym_##f;
ZSTD_FUNCTIONS(ZSTD_DEFINE)
#undef ZSTD_DEFINE

static int zstd_lib_load(struct cvm_error **err)
{
#define ZSTD_SLOT(f) {#f, (void **)&sym_##f},
    static const struct cvm_dlib_symbol symbols[] = {ZSTD_FUNCTIONS(ZSTD_SLOT)};
#undef ZSTD_SLOT
    return cvm_dlib_load(CVM_LIBZSTD_SONAME, symbols, sizeof(symbols) / sizeof(symbols[0]), err);
}

#define DECOMPRESS_STEP (1u << 20)

int cvm_zstd_compress(const void *data, size_t len, struct cvm_buf *out, struct cvm_error **err)
{
    int r = zstd_lib_load(err);
    if (r < 0)
        return r;
    ZSTD_CCtx *cctx = sym_ZSTD_createCCtx();
    if (!cctx)
        return cvm_error_set_errno(err, ENOMEM, "cannot start zstd");
    sym_ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, CVM_ZSTD_LEVEL);
    sym_ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 1);
    sym_ZSTD_CCtx_setParameter(cctx, ZSTD_c_contentSizeFlag, 1);
    sym_ZSTD_CCtx_setPledgedSrcSize(cctx, len);
    size_t bound = sym_ZSTD_compressBound(len);
    r = cvm_buf_reserve(out, bound, err);
    if (r == 0) {
        size_t n = sym_ZSTD_compress2(cctx, out->data + out->len, bound, data, len);
        if (sym_ZSTD_isError(n)) {
            r = cvm_error_set(err, CVM_E_SYSTEM, "zstd: %s", sym_ZSTD_getErrorName(n));
        } else {
            out->len += n;
            out->data[out->len] = 0;
        }
    }
    sym_ZSTD_freeCCtx(cctx);
    return r;
}

int cvm_zstd_decompress(const void *data, size_t len, const char *display, struct cvm_buf *out,
                        struct cvm_error **err)
{
    int r = zstd_lib_load(err);
    if (r < 0)
        return r;
    ZSTD_DStream *ds = sym_ZSTD_createDStream();
    if (!ds)
        return cvm_error_set_errno(err, ENOMEM, "cannot start zstd");
    /* Bounds the window a hostile frame may demand (zstd's default limit, 128 MiB). */
    sym_ZSTD_DCtx_setParameter(ds, ZSTD_d_windowLogMax, 27);
    ZSTD_inBuffer in = {data, len, 0};
    size_t ret = 1;
    if (len == 0)
        r = cvm_error_set(err, CVM_E_FORMAT, "%s: empty zstd stream", display);
    /* Decode straight into the buffer; stop once the input is consumed and the decoder
     * no longer fills the space it is given (it has flushed everything). */
    while (r == 0) {
        size_t room = out->max - out->len < DECOMPRESS_STEP ? out->max - out->len : DECOMPRESS_STEP;
        if (room == 0) {
            if (in.pos == in.size && ret == 0)
                break;
            r = cvm_error_set(err, CVM_E_LIMIT, "%s: decompresses to more than %zu bytes", display,
                              out->max);
            break;
        }
        if ((r = cvm_buf_reserve(out, room, err)) < 0)
            break;
        ZSTD_outBuffer o = {out->data + out->len, room, 0};
        ret = sym_ZSTD_decompressStream(ds, &o, &in);
        if (sym_ZSTD_isError(ret)) {
            r = cvm_error_set(err, CVM_E_FORMAT, "%s: zstd: %s", display,
                              sym_ZSTD_getErrorName(ret));
            break;
        }
        out->len += o.pos;
        out->data[out->len] = 0;
        if (in.pos == in.size && o.pos < room)
            break;
    }
    if (r == 0 && ret != 0)
        r = cvm_error_set(err, CVM_E_FORMAT, "%s: truncated zstd frame", display);
    sym_ZSTD_freeDStream(ds);
    return r;
}
