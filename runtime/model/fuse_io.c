#include "model/fuse_io.h"

#include "core/alloc.h"
#include "core/error.h"
#include "model/fuse_block_v1.h"
#include "model/fused_format.h"
#include "model/weights_q8.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

const char *rm_fuse_name(char *buf, const char *prefix, const char *rel) {
    snprintf(buf, RM_FUSE_NAME_MAX, "%s%s", prefix, rel);
    return buf;
}

repmlp_status rm_fuser_out_of_memory(const rm_fuser *f) {
    return rm_fail(REPMLP_ERROR_OUT_OF_HOST_MEMORY, "%s: out of host memory", f->file);
}

repmlp_status rm_fuser_read(rm_fuser *f, const char *name, int ndim, const int64_t *shape,
                            double **out) {
    repmlp_status s = rm_safetensors_read_f64(f->train, name, ndim, shape, out);
    if (s != REPMLP_OK) return s;
    size_t count;
    rm_product(shape, ndim, &count);
    for (size_t i = 0; i < count; i++) {
        /* one inf or nan would poison every fused weight it touches */
        if (!isfinite((*out)[i])) {
            s = rm_fail(REPMLP_ERROR_FORMAT, "%s: tensor '%s': element %zu is not finite (%g)",
                        f->file, name, i, (*out)[i]);
            rm_free(*out);
            *out = NULL;
            return s;
        }
    }
    return REPMLP_OK;
}

rm_bn_params rm_fuse_bn_params(const rm_fuse_bn *bn) {
    rm_bn_params p = {bn->gamma, bn->beta, bn->mean, bn->var, bn->channels};
    return p;
}

void rm_fuse_bn_free(rm_fuse_bn *bn) {
    rm_free(bn->gamma);
    rm_free(bn->beta);
    rm_free(bn->mean);
    rm_free(bn->var);
    memset(bn, 0, sizeof *bn);
}

repmlp_status rm_fuser_read_bn(rm_fuser *f, const char *base, int64_t channels, rm_fuse_bn *bn) {
    char name[RM_FUSE_NAME_MAX];
    double **parts[4] = {&bn->gamma, &bn->beta, &bn->mean, &bn->var};
    static const char *const suffix[4] = {"weight", "bias", "running_mean", "running_var"};
    memset(bn, 0, sizeof *bn);
    bn->channels = channels;
    repmlp_status s = REPMLP_OK;
    for (int i = 0; s == REPMLP_OK && i < 4; i++) {
        snprintf(name, sizeof name, "%s.%s", base, suffix[i]);
        s = rm_fuser_read(f, name, 1, &channels, parts[i]);
    }
    for (int64_t c = 0; s == REPMLP_OK && c < channels; c++) {
        if (!(bn->var[c] + RM_BN_EPS > 0.0)) {
            snprintf(name, sizeof name, "%s.running_var", base);
            s = rm_fail(REPMLP_ERROR_FORMAT,
                        "%s: tensor '%s': element %lld is %g, so var + eps is not positive",
                        f->file, name, (long long)c, bn->var[c]);
        }
    }
    if (s == REPMLP_OK) {
        snprintf(name, sizeof name, "%s.num_batches_tracked", base);
        const rm_st_tensor *nbt = rm_safetensors_find(f->train, name);
        if (nbt && (nbt->ndim > 1 || nbt->count != 1)) {
            char got[160];
            s = rm_fail(REPMLP_ERROR_FORMAT, "%s: tensor '%s': expected shape () or (1), got %s",
                        f->file, nbt->name,
                        rm_st_format_shape(nbt->ndim, nbt->shape, got, sizeof got));
        } else if (nbt) {
            rm_safetensors_mark_used(f->train, nbt); /* any dtype: it is ignored */
        }
    }
    if (s != REPMLP_OK) rm_fuse_bn_free(bn);
    return s;
}

static _Thread_local bool fuse_q8;

void rm_fuse_set_q8(bool q8) {
    fuse_q8 = q8;
}

static bool is_core_weight(const char *name, int ndim) {
    size_t n = strlen(name), suffix = strlen(".weight");
    return ndim >= 2 && n > suffix && strcmp(name + n - suffix, ".weight") == 0;
}

/* v (count values, finite, within float32) as I8 `name` and F16 `name_scale`; frees v. */
static repmlp_status emit_q8(rm_fuser *f, const char *name, int ndim, const int64_t *shape,
                             size_t count, double *v) {
    uint64_t rows = (uint64_t)shape[0], K = rows ? count / rows : 0;
    uint64_t blocks = rm_q8_blocks(K, RM_Q8_BLOCK), n = rows * blocks; /* n <= count */
    int8_t *q = rm_malloc(count ? count : 1);
    float *scales = rm_malloc(n ? n * sizeof *scales : 1);
    uint16_t *bits = rm_malloc(n ? n * sizeof *bits : 1);
    repmlp_status s = REPMLP_OK;
    if (!q || !scales || !bits) {
        s = rm_fail(REPMLP_ERROR_OUT_OF_HOST_MEMORY, "%s: fused tensor '%s': out of host memory",
                    f->file, name);
    } else if (!rm_q8_quantize(v, rows, K, RM_Q8_BLOCK, true, q, scales)) {
        s = rm_fail(REPMLP_ERROR_FORMAT,
                    "%s: fused tensor '%s': a block's scale is beyond fp16's range (values over "
                    "127 x 65504): fuse it without --weights q8",
                    f->file, name);
    }
    for (uint64_t i = 0; s == REPMLP_OK && i < n; i++) bits[i] = rm_q8_f32_to_f16(scales[i]);
    rm_free(v);
    rm_free(scales);
    char scale_name[RM_FUSE_NAME_MAX + 8];
    snprintf(scale_name, sizeof scale_name, "%s%s", name, RM_Q8_SCALE_SUFFIX);
    const int64_t scale_shape[2] = {(int64_t)rows, (int64_t)blocks};
    if (s == REPMLP_OK) {
        s = rm_st_writer_add_take(f->out, name, RM_DTYPE_I8, ndim, shape, q);
        q = NULL;
    }
    if (s == REPMLP_OK) {
        s = rm_st_writer_add_take(f->out, scale_name, RM_DTYPE_F16, 2, scale_shape, bits);
        bits = NULL;
    }
    rm_free(q);
    rm_free(bits);
    return s;
}

repmlp_status rm_fuser_emit(rm_fuser *f, const char *name, int ndim, const int64_t *shape,
                            double **values) {
    double *v = *values;
    *values = NULL;
    size_t count;
    rm_product(shape, ndim, &count);
    for (size_t i = 0; fuse_q8 && is_core_weight(name, ndim) && i <= count; i++) {
        if (i == count) return emit_q8(f, name, ndim, shape, count, v);
        if (!(fabs(v[i]) <= FLT_MAX)) break; /* reported below */
    }
    float *dst = rm_calloc(count ? count : 1, sizeof *dst);
    if (!dst) {
        rm_free(v);
        return rm_fail(REPMLP_ERROR_OUT_OF_HOST_MEMORY, "%s: fused tensor '%s': out of host memory",
                       f->file, name);
    }
    for (size_t i = 0; i < count; i++) {
        /* inputs are finite, so only a magnitude beyond float32 can end up here */
        if (!(fabs(v[i]) <= FLT_MAX)) {
            repmlp_status s = rm_fail(REPMLP_ERROR_FORMAT,
                                      "%s: fused tensor '%s': element %zu (%g) overflows float32",
                                      f->file, name, i, v[i]);
            rm_free(v);
            rm_free(dst);
            return s;
        }
        dst[i] = (float)v[i];
    }
    rm_free(v);
    return rm_st_writer_add_take(f->out, name, RM_DTYPE_F32, ndim, shape, dst);
}

repmlp_status rm_fuser_copy(rm_fuser *f, const char *name, int ndim, const int64_t *shape) {
    double *v = NULL;
    repmlp_status s = rm_fuser_read(f, name, ndim, shape, &v);
    if (s == REPMLP_OK) s = rm_fuser_emit(f, name, ndim, shape, &v);
    return s;
}

/* t = gamma/sqrt(var+eps): W'[o] = W[o]*t[o], b'[o] = beta[o] - mean[o]*t[o] */
repmlp_status rm_fuse_convbn_read(rm_fuser *f, const char *base, int64_t out_ch,
                                  int64_t in_per_group, int64_t kh, int64_t kw, double **weight,
                                  double **bias) {
    char name[RM_FUSE_NAME_MAX];
    const int64_t shape[4] = {out_ch, in_per_group, kh, kw};
    rm_fuse_bn bn = {0};
    *weight = *bias = NULL;
    snprintf(name, sizeof name, "%s.conv.weight", base);
    repmlp_status s = rm_fuser_read(f, name, 4, shape, weight);
    snprintf(name, sizeof name, "%s.bn", base);
    if (s == REPMLP_OK) s = rm_fuser_read_bn(f, name, out_ch, &bn);
    if (s == REPMLP_OK && !(*bias = rm_calloc((size_t)out_ch, sizeof **bias))) {
        s = rm_fuser_out_of_memory(f);
    }
    if (s == REPMLP_OK) {
        rm_bn_params p = rm_fuse_bn_params(&bn);
        rm_fuse_bn_into_rows(&p, 1, in_per_group * kh * kw, *weight, NULL, *bias);
    } else {
        rm_free(*weight);
        rm_free(*bias);
        *weight = *bias = NULL;
    }
    rm_fuse_bn_free(&bn);
    return s;
}

repmlp_status rm_fuse_convbn(rm_fuser *f, const char *base, int64_t out_ch, int64_t in_per_group,
                             int64_t kh, int64_t kw) {
    double *w = NULL, *b = NULL;
    char name[RM_FUSE_NAME_MAX];
    const int64_t shape[4] = {out_ch, in_per_group, kh, kw};
    repmlp_status s = rm_fuse_convbn_read(f, base, out_ch, in_per_group, kh, kw, &w, &b);
    snprintf(name, sizeof name, "%s.conv.weight", base);
    if (s == REPMLP_OK) s = rm_fuser_emit(f, name, 4, shape, &w);
    snprintf(name, sizeof name, "%s.conv.bias", base);
    if (s == REPMLP_OK) s = rm_fuser_emit(f, name, 1, &out_ch, &b);
    rm_free(w);
    rm_free(b);
    return s;
}

/* The conv branches as one kernel (out_ch, in_per_group, kmax, kmax) and bias (out_ch): each
 * ConvBN folded, padded to kmax (centred) and summed. kernel and bias are zeroed by the
 * caller. */
static repmlp_status fuse_conv_branches(rm_fuser *f, const char *prefix, const rm_fuse_fc3_dims *d,
                                        int64_t kmax, double *kernel, double *bias) {
    const int64_t O = d->out_ch, cg = d->in_per_group, padded = O * cg * kmax * kmax;
    double *pad = rm_calloc((size_t)padded, sizeof *pad);
    repmlp_status s = pad ? REPMLP_OK : rm_fuser_out_of_memory(f);
    for (int i = 0; s == REPMLP_OK && i < d->kernel_count; i++) {
        const int64_t k = d->kernels[i];
        char rel[64], base[RM_FUSE_NAME_MAX];
        snprintf(rel, sizeof rel, "repconv%lld", (long long)k);
        double *kw = NULL, *kb = NULL;
        s = rm_fuse_convbn_read(f, rm_fuse_name(base, prefix, rel), O, cg, k, k, &kw, &kb);
        if (s == REPMLP_OK) {
            rm_fuse_pad_kernel(kw, O, cg, k, kmax, pad);
            for (int64_t j = 0; j < padded; j++) kernel[j] += pad[j];
            for (int64_t o = 0; o < O; o++) bias[o] += kb[o];
        }
        rm_free(kw);
        rm_free(kb);
    }
    rm_free(pad);
    return s;
}

repmlp_status rm_fuse_fc3_read(rm_fuser *f, const char *prefix, const rm_fuse_fc3_dims *d,
                               double **weight, double **bias) {
    const int64_t O = d->out_ch, cg = d->in_per_group, hw = d->h * d->w;
    const int64_t rows = O * hw, cols = cg * hw, shape[4] = {rows, cols, 1, 1};
    const int64_t kmax = d->kernel_count ? d->kernels[d->kernel_count - 1] : 0;
    char name[RM_FUSE_NAME_MAX];
    rm_fuse_bn bn = {0};
    double *kernel = NULL, *kbias = NULL;
    *weight = NULL;
    *bias = rm_calloc((size_t)rows, sizeof **bias);
    repmlp_status s = REPMLP_OK;
    if (kmax) {
        kernel = rm_calloc((size_t)(O * cg * kmax * kmax), sizeof *kernel);
        kbias = rm_calloc((size_t)O, sizeof *kbias);
    }
    if (!*bias || (kmax && (!kernel || !kbias))) s = rm_fuser_out_of_memory(f);
    if (s == REPMLP_OK)
        s = rm_fuser_read(f, rm_fuse_name(name, prefix, "fc3.weight"), 4, shape, weight);
    if (s == REPMLP_OK) {
        s = rm_fuser_read_bn(f, rm_fuse_name(name, prefix, "fc3_bn"), rows / d->rows_per_bn_channel,
                             &bn);
    }
    if (s == REPMLP_OK && kmax) s = fuse_conv_branches(f, prefix, d, kmax, kernel, kbias);
    if (s == REPMLP_OK) {
        rm_bn_params p = rm_fuse_bn_params(&bn);
        rm_fuse_bn_into_rows(&p, d->rows_per_bn_channel, cols, *weight, NULL, *bias);
        if (kmax) rm_fuse_conv_to_fc(kernel, kbias, O, cg, d->h, d->w, kmax, *weight, *bias);
    } else {
        rm_free(*weight);
        rm_free(*bias);
        *weight = *bias = NULL;
    }
    rm_fuse_bn_free(&bn);
    rm_free(kernel);
    rm_free(kbias);
    return s;
}

/* Fuses f->train into a new f->out with the fused-format metadata; the caller writes it. */
static repmlp_status fuse_into_writer(const char *arch, const char *config_json, rm_fuse_body body,
                                      const void *ctx, rm_fuser *f) {
    f->file = rm_safetensors_path(f->train);
    repmlp_status s = rm_st_writer_create(&f->out);
    if (s == REPMLP_OK) s = body(ctx, f);
    if (s == REPMLP_OK) s = rm_fuse_check_all_used(f->train, arch);
    if (s == REPMLP_OK) s = rm_fused_set_metadata(f->out, arch, config_json);
    return s;
}

repmlp_status rm_fuse_to_file(const char *arch, char *config_json, rm_fuse_body body,
                              const void *ctx, const char *train_path, const char *out_path) {
    if (!config_json) {
        return rm_fail(REPMLP_ERROR_OUT_OF_HOST_MEMORY, "%s: out of host memory", out_path);
    }
    rm_fuser f = {0};
    repmlp_status s = rm_safetensors_open(train_path, &f.train);
    if (s == REPMLP_OK) s = fuse_into_writer(arch, config_json, body, ctx, &f);
    if (s == REPMLP_OK) s = rm_st_writer_write(f.out, out_path);
    rm_st_writer_destroy(f.out);
    rm_safetensors_close(f.train);
    rm_free(config_json);
    return s;
}

repmlp_status rm_fuse_to_memory(const char *arch, char *config_json, rm_fuse_body body,
                                const void *ctx, const void *train, size_t train_size,
                                const char *train_name, void **out, size_t *out_size) {
    *out = NULL;
    *out_size = 0;
    if (!config_json) {
        return rm_fail(REPMLP_ERROR_OUT_OF_HOST_MEMORY, "%s: out of host memory", train_name);
    }
    rm_fuser f = {0};
    repmlp_status s = rm_safetensors_open_memory(train, train_size, train_name, &f.train);
    if (s == REPMLP_OK) s = fuse_into_writer(arch, config_json, body, ctx, &f);
    if (s == REPMLP_OK) s = rm_st_writer_write_memory(f.out, train_name, out, out_size);
    rm_st_writer_destroy(f.out);
    rm_safetensors_close(f.train);
    rm_free(config_json);
    return s;
}
