/* Layer compression with libzstd's streaming API: single-threaded at a fixed level so that
 * the same bytes always give the same frame. */
#include <errno.h>
#include <zstd.h>

#include "base.h"
#include "zstd-codec.h"

#define DECOMPRESS_STEP (1u << 20)

int cvm_zstd_compress(const void *data, size_t len, struct cvm_buf *out, struct cvm_error **err)
{
    ZSTD_CCtx *cctx = ZSTD_createCCtx();
    if (!cctx)
        return cvm_error_set_errno(err, ENOMEM, "cannot start zstd");
    ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, CVM_ZSTD_LEVEL);
    ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 1);
    ZSTD_CCtx_setParameter(cctx, ZSTD_c_contentSizeFlag, 1);
    ZSTD_CCtx_setPledgedSrcSize(cctx, len);
    size_t bound = ZSTD_compressBound(len);
    int r = cvm_buf_reserve(out, bound, err);
    if (r == 0) {
        size_t n = ZSTD_compress2(cctx, out->data + out->len, bound, data, len);
        if (ZSTD_isError(n)) {
            r = cvm_error_set(err, CVM_E_SYSTEM, "zstd: %s", ZSTD_getErrorName(n));
        } else {
            out->len += n;
            out->data[out->len] = 0;
        }
    }
    ZSTD_freeCCtx(cctx);
    return r;
}

int cvm_zstd_decompress(const void *data, size_t len, const char *display, struct cvm_buf *out,
                        struct cvm_error **err)
{
    ZSTD_DStream *ds = ZSTD_createDStream();
    if (!ds)
        return cvm_error_set_errno(err, ENOMEM, "cannot start zstd");
    /* Bounds the window a hostile frame may demand (zstd's default limit, 128 MiB). */
    ZSTD_DCtx_setParameter(ds, ZSTD_d_windowLogMax, 27);
    ZSTD_inBuffer in = {data, len, 0};
    size_t ret = 1;
    int r = 0;
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
        ret = ZSTD_decompressStream(ds, &o, &in);
        if (ZSTD_isError(ret)) {
            r = cvm_error_set(err, CVM_E_FORMAT, "%s: zstd: %s", display, ZSTD_getErrorName(ret));
            break;
        }
        out->len += o.pos;
        out->data[out->len] = 0;
        if (in.pos == in.size && o.pos < room)
            break;
    }
    if (r == 0 && ret != 0)
        r = cvm_error_set(err, CVM_E_FORMAT, "%s: truncated zstd frame", display);
    ZSTD_freeDStream(ds);
    return r;
}
