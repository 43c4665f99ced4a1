/* A picture's pixels on the host -> the model's input, in float64 (repmlp_preprocessing). */
#include <math.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "repmlp/model.h"

/* Area average of src (sh x sw) into dst (dh x dw): each output pixel is the mean of the source
 * area it covers, fractional pixels weighted by their overlap. */
static void resize_area(const double *src, int sh, int sw, double *dst, int dh, int dw) {
    for (int y = 0; y < dh; y++) {
        double y0 = (double)y * sh / dh, y1 = (double)(y + 1) * sh / dh;
        for (int x = 0; x < dw; x++) {
            double x0 = (double)x * sw / dw, x1 = (double)(x + 1) * sw / dw, sum = 0, area = 0;
            for (int sy = (int)y0; sy < sh && sy < y1; sy++) {
                double wy = fmin(y1, sy + 1.0) - fmax(y0, (double)sy);
                if (wy <= 0) continue;
                for (int sx = (int)x0; sx < sw && sx < x1; sx++) {
                    double wx = fmin(x1, sx + 1.0) - fmax(x0, (double)sx);
                    if (wx <= 0) continue;
                    sum += wy * wx * src[(size_t)sy * (size_t)sw + (size_t)sx];
                    area += wy * wx;
                }
            }
            dst[(size_t)y * (size_t)dw + (size_t)x] = area > 0 ? sum / area : 0;
        }
    }
}

/* PyTorch's bilinear interpolate (align_corners=False): source coordinate
 * (dst + 0.5) * in/out - 0.5, clamped below at 0; the upper neighbour clamped to the edge. */
static void resize_bilinear(const double *src, int sh, int sw, double *dst, int dh, int dw) {
    for (int y = 0; y < dh; y++) {
        double fy = fmax(((double)y + 0.5) * ((double)sh / dh) - 0.5, 0.0);
        int y0 = (int)fy, y1 = y0 + (y0 < sh - 1);
        double ly = fy - y0;
        for (int x = 0; x < dw; x++) {
            double fx = fmax(((double)x + 0.5) * ((double)sw / dw) - 0.5, 0.0);
            int x0 = (int)fx, x1 = x0 + (x0 < sw - 1);
            double lx = fx - x0;
            const double *r0 = src + (size_t)y0 * (size_t)sw, *r1 = src + (size_t)y1 * (size_t)sw;
            dst[(size_t)y * (size_t)dw + (size_t)x] = (1 - ly) * ((1 - lx) * r0[x0] + lx * r0[x1]) +
                                                      ly * ((1 - lx) * r1[x0] + lx * r1[x1]);
        }
    }
}

repmlp_status repmlp_preprocessing_apply(const repmlp_preprocessing *p, const unsigned char *pixels,
                                         uint32_t width, uint32_t height, float *out) {
    if (!p || !pixels || !out || !width || !height || width > 65536 || height > 65536 ||
        p->channels < 1 || p->channels > 3 || !p->source_h || !p->source_w || !p->input_h ||
        !p->input_w)
        return rm_fail(REPMLP_ERROR_INVALID_ARGUMENT,
                       "repmlp_preprocessing_apply: NULL argument or bad size");
    const int channels = (int)p->channels, w = (int)width, h = (int)height;
    const int src_h = (int)p->source_h, src_w = (int)p->source_w;
    const int in_h = (int)p->input_h, in_w = (int)p->input_w;
    size_t src_n = (size_t)src_h * (size_t)src_w, in_n = (size_t)in_h * (size_t)in_w;
    double *plane = rm_malloc((size_t)w * (size_t)h * sizeof *plane);
    double *src = rm_malloc(src_n * sizeof *src), *res = rm_malloc(in_n * sizeof *res);
    repmlp_status st = REPMLP_OK;
    if (!plane || !src || !res) {
        st = rm_fail(REPMLP_ERROR_OUT_OF_HOST_MEMORY, "out of host memory");
    } else {
        for (int c = 0; c < channels; c++) {
            for (size_t i = 0; i < (size_t)w * (size_t)h; i++)
                plane[i] = p->value_lo + pixels[i * (size_t)channels + (size_t)c] / 255.0 *
                                             (p->value_hi - p->value_lo);
            if (w == src_w && h == src_h)
                memcpy(src, plane, src_n * sizeof *src);
            else
                resize_area(plane, h, w, src, src_h, src_w);
            for (size_t i = 0; i < src_n; i++) src[i] = (src[i] - p->mean[c]) / p->std[c];
            if (src_h == in_h && src_w == in_w)
                memcpy(res, src, in_n * sizeof *res);
            else
                resize_bilinear(src, src_h, src_w, res, in_h, in_w);
            for (size_t i = 0; i < in_n; i++) out[(size_t)c * in_n + i] = (float)res[i];
        }
    }
    rm_free(plane);
    rm_free(src);
    rm_free(res);
    return st;
}
