#include "model/fuse_block_v1.h"

#include "core/alloc.h"
#include "core/error.h"
#include "model/fuse_rules.h"
#include "model/fused_format.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

/* Names are built as prefix + a relative name from the tables below; 96 bytes covers the
 * longest relative name ("repconv<k>.bn.num_batches_tracked") with any k. */
#define RELATIVE_NAME_MAX 96

typedef struct names {
    const char *prefix;
    char *buf;
    size_t cap;
} names;

static repmlp_status names_init(names *n, const char *prefix, const char *file) {
    n->prefix = prefix;
    if (!rm_add_size(strlen(prefix), RELATIVE_NAME_MAX, &n->cap) || !(n->buf = rm_malloc(n->cap))) {
        return rm_fail(REPMLP_ERROR_OUT_OF_HOST_MEMORY, "%s: out of host memory", file);
    }
    return REPMLP_OK;
}

/* prefix + rel in the shared buffer; valid until the next call. */
static const char *name_of(names *n, const char *rel) {
    snprintf(n->buf, n->cap, "%s%s", n->prefix, rel);
    return n->buf;
}

typedef struct fuser {
    rm_safetensors *st;
    const char *file;
    names in, out;
    rm_st_writer *writer;
} fuser;

/* Reads a float tensor as float64 with its exact expected shape and rejects inf/nan, which
 * would silently poison every fused weight they touch. */
static repmlp_status read_tensor(fuser *f, const char *rel, int ndim, const int64_t *shape,
                                 double **out) {
    const char *name = name_of(&f->in, rel);
    repmlp_status s = rm_safetensors_read_f64(f->st, name, ndim, shape, out);
    if (s != REPMLP_OK) return s;
    size_t count;
    rm_product(shape, ndim, &count);
    for (size_t i = 0; i < count; i++) {
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

typedef struct bn_owned {
    double *t[4]; /* gamma, beta, mean, var */
} bn_owned;

static void bn_free(bn_owned *bn) {
    for (int i = 0; i < 4; i++) rm_free(bn->t[i]);
    memset(bn, 0, sizeof *bn);
}

static rm_bn_params bn_view(const bn_owned *bn, int64_t channels) {
    rm_bn_params p = {bn->t[0], bn->t[1], bn->t[2], bn->t[3], channels};
    return p;
}

/* Reads "<base>.{weight,bias,running_mean,running_var}" of `channels` entries, and accepts an
 * optional "<base>.num_batches_tracked" (any dtype: it is ignored) of shape () or (1). */
static repmlp_status read_bn(fuser *f, const char *base, int64_t channels, bn_owned *bn) {
    static const char *const parts[4] = {"weight", "bias", "running_mean", "running_var"};
    char rel[RELATIVE_NAME_MAX];
    for (int i = 0; i < 4; i++) {
        snprintf(rel, sizeof rel, "%s.%s", base, parts[i]);
        repmlp_status s = read_tensor(f, rel, 1, &channels, &bn->t[i]);
        if (s != REPMLP_OK) return s;
    }
    for (int64_t c = 0; c < channels; c++) {
        if (!(bn->t[3][c] + RM_BN_EPS > 0.0)) {
            snprintf(rel, sizeof rel, "%s.running_var", base);
            return rm_fail(REPMLP_ERROR_FORMAT,
                           "%s: tensor '%s': element %lld is %g, so var + eps is not positive",
                           f->file, name_of(&f->in, rel), (long long)c, bn->t[3][c]);
        }
    }
    snprintf(rel, sizeof rel, "%s.num_batches_tracked", base);
    const rm_st_tensor *nbt = rm_safetensors_find(f->st, name_of(&f->in, rel));
    if (nbt) {
        if (nbt->ndim > 1 || nbt->count != 1) {
            char got[160];
            return rm_fail(REPMLP_ERROR_FORMAT, "%s: tensor '%s': expected shape () or (1), got %s",
                           f->file, nbt->name,
                           rm_st_format_shape(nbt->ndim, nbt->shape, got, sizeof got));
        }
        rm_safetensors_mark_used(f->st, nbt);
    }
    return REPMLP_OK;
}

/* Rounds *src to float32 and hands the result to the writer. Frees *src and clears it, on
 * success and failure alike, so callers free only what they never emitted. */
static repmlp_status emit(fuser *f, const char *rel, int ndim, const int64_t *shape, double **src) {
    const char *name = name_of(&f->out, rel);
    double *values = *src;
    *src = NULL;
    size_t count;
    rm_product(shape, ndim, &count);
    float *dst = rm_calloc(count, sizeof *dst);
    if (!dst) {
        rm_free(values);
        return rm_fail(REPMLP_ERROR_OUT_OF_HOST_MEMORY, "%s: fused tensor '%s': out of host memory",
                       f->file, name);
    }
    for (size_t i = 0; i < count; i++) {
        /* Inputs are finite, so only a magnitude beyond float32 can end up here. */
        if (!(fabs(values[i]) <= FLT_MAX)) {
            repmlp_status s = rm_fail(REPMLP_ERROR_FORMAT,
                                      "%s: fused tensor '%s': element %zu (%g) overflows float32",
                                      f->file, name, i, values[i]);
            rm_free(values);
            rm_free(dst);
            return s;
        }
        dst[i] = (float)values[i];
    }
    rm_free(values);
    return rm_st_writer_add_take(f->writer, name, RM_DTYPE_F32, ndim, shape, dst);
}

/* Global perceptron: fc1 absorbs the BN after the average pool; fc2 is copied. */
static repmlp_status fuse_gp(fuser *f, const rm_block_v1_config *c) {
    const int64_t cpp = c->in_channels * c->hp * c->wp;
    const int64_t w1_shape[2] = {c->I, cpp}, w2_shape[2] = {cpp, c->I};
    bn_owned avg = {0};
    double *w1 = NULL, *b1 = NULL, *w2 = NULL, *b2 = NULL;
    repmlp_status s = read_bn(f, "avg.bn", c->in_channels, &avg);
    if (s == REPMLP_OK) s = read_tensor(f, "fc1_fc2.fc1.weight", 2, w1_shape, &w1);
    if (s == REPMLP_OK) s = read_tensor(f, "fc1_fc2.fc1.bias", 1, &c->I, &b1);
    if (s == REPMLP_OK) s = read_tensor(f, "fc1_fc2.fc2.weight", 2, w2_shape, &w2);
    if (s == REPMLP_OK) s = read_tensor(f, "fc1_fc2.fc2.bias", 1, &cpp, &b2);
    if (s == REPMLP_OK) {
        rm_bn_params bn = bn_view(&avg, c->in_channels);
        rm_fuse_bn_into_next_fc_columns(&bn, c->hp * c->wp, c->I, w1, b1);
        s = emit(f, "fc1_fc2.fc1.weight", 2, w1_shape, &w1);
        if (s == REPMLP_OK) s = emit(f, "fc1_fc2.fc1.bias", 1, &c->I, &b1);
        if (s == REPMLP_OK) s = emit(f, "fc1_fc2.fc2.weight", 2, w2_shape, &w2);
        if (s == REPMLP_OK) s = emit(f, "fc1_fc2.fc2.bias", 1, &cpp, &b2);
    }
    bn_free(&avg);
    rm_free(w1);
    rm_free(b1);
    rm_free(w2);
    rm_free(b2);
    return s;
}

/* Local perceptron: BN into each conv, pad to kmax, sum. Fills kernel (O, C/g, kmax, kmax)
 * and bias (O), both zeroed by the caller. */
static repmlp_status fuse_convs(fuser *f, const rm_block_v1_config *c, int64_t kmax, double *kernel,
                                double *bias) {
    const int64_t O = c->out_channels, cg = c->in_channels / c->fc3_groups;
    const size_t padded = (size_t)(O * cg * kmax * kmax);
    double *pad = rm_calloc(padded, sizeof *pad), *kb = rm_calloc((size_t)O, sizeof *kb);
    repmlp_status s = REPMLP_OK;
    if (!pad || !kb) {
        s = rm_fail(REPMLP_ERROR_OUT_OF_HOST_MEMORY, "%s: out of host memory", f->file);
    }
    for (int i = 0; s == REPMLP_OK && i < c->kernel_count; i++) {
        const int64_t k = c->kernels[i], shape[4] = {O, cg, k, k};
        char rel[RELATIVE_NAME_MAX];
        double *kw = NULL;
        bn_owned bn = {0};
        snprintf(rel, sizeof rel, "repconv%lld.conv.weight", (long long)k);
        s = read_tensor(f, rel, 4, shape, &kw);
        snprintf(rel, sizeof rel, "repconv%lld.bn", (long long)k);
        if (s == REPMLP_OK) s = read_bn(f, rel, O, &bn);
        if (s == REPMLP_OK) {
            rm_bn_params p = bn_view(&bn, O);
            rm_fuse_bn_into_rows(&p, 1, cg * k * k, kw, NULL, kb);
            rm_fuse_pad_kernel(kw, O, cg, k, kmax, pad);
            for (size_t j = 0; j < padded; j++) kernel[j] += pad[j];
            for (int64_t o = 0; o < O; o++) bias[o] += kb[o];
        }
        rm_free(kw);
        bn_free(&bn);
    }
    rm_free(pad);
    rm_free(kb);
    return s;
}

/* Partition perceptron: fc3 absorbs its BN, then the fused conv as an FC matrix. */
static repmlp_status fuse_fc3(fuser *f, const rm_block_v1_config *c) {
    const int64_t O = c->out_channels, cg = c->in_channels / c->fc3_groups, hw = c->h * c->w;
    const int64_t rows = O * hw, cols = cg * hw, w_shape[4] = {rows, cols, 1, 1};
    const int64_t kmax = c->kernel_count ? c->kernels[c->kernel_count - 1] : 0;
    bn_owned bn = {0};
    double *w = NULL, *b = rm_calloc((size_t)rows, sizeof *b), *kernel = NULL, *kbias = NULL;
    repmlp_status s = REPMLP_OK;
    if (kmax) {
        kernel = rm_calloc((size_t)(O * cg * kmax * kmax), sizeof *kernel);
        kbias = rm_calloc((size_t)O, sizeof *kbias);
    }
    if (!b || (kmax && (!kernel || !kbias))) {
        s = rm_fail(REPMLP_ERROR_OUT_OF_HOST_MEMORY, "%s: out of host memory", f->file);
    }
    if (s == REPMLP_OK) s = read_tensor(f, "fc3.weight", 4, w_shape, &w);
    if (s == REPMLP_OK) s = read_bn(f, "fc3_bn", rows, &bn);
    if (s == REPMLP_OK && kmax) s = fuse_convs(f, c, kmax, kernel, kbias);
    if (s == REPMLP_OK) {
        rm_bn_params p = bn_view(&bn, rows);
        rm_fuse_bn_into_rows(&p, 1, cols, w, NULL, b);
        if (kmax) rm_fuse_conv_to_fc(kernel, kbias, O, cg, c->h, c->w, kmax, w, b);
        s = emit(f, "fc3.weight", 4, w_shape, &w);
        if (s == REPMLP_OK) s = emit(f, "fc3.bias", 1, &rows, &b);
    }
    bn_free(&bn);
    rm_free(w);
    rm_free(b);
    rm_free(kernel);
    rm_free(kbias);
    return s;
}

repmlp_status rm_fuse_block_v1(const rm_block_v1_config *cfg, rm_safetensors *train,
                               const char *prefix, rm_st_writer *out, const char *out_prefix) {
    fuser f = {.st = train, .file = rm_safetensors_path(train), .writer = out};
    repmlp_status s = names_init(&f.in, prefix, f.file);
    if (s == REPMLP_OK) s = names_init(&f.out, out_prefix, f.file);
    if (s == REPMLP_OK && cfg->has_gp) s = fuse_gp(&f, cfg);
    if (s == REPMLP_OK) s = fuse_fc3(&f, cfg);
    rm_free(f.in.buf);
    rm_free(f.out.buf);
    return s;
}

repmlp_status rm_fuse_check_all_used(const rm_safetensors *train, const char *arch) {
    const rm_st_tensor *t = rm_safetensors_first_unused(train);
    if (!t) return REPMLP_OK;
    return rm_fail(REPMLP_ERROR_FORMAT,
                   "%s: tensor '%s' is unexpected for arch %s with this config",
                   rm_safetensors_path(train), t->name, arch);
}

repmlp_status rm_fuse_block_v1_file(const rm_block_v1_config *cfg, const char *train_path,
                                    const char *out_path) {
    rm_safetensors *train = NULL;
    rm_st_writer *writer = NULL;
    char *config_json = NULL;
    repmlp_status s = rm_safetensors_open(train_path, &train);
    if (s == REPMLP_OK) s = rm_st_writer_create(&writer);
    if (s == REPMLP_OK) s = rm_fuse_block_v1(cfg, train, "", writer, "");
    if (s == REPMLP_OK) s = rm_fuse_check_all_used(train, RM_ARCH_BLOCK_V1);
    if (s == REPMLP_OK) {
        config_json = rm_block_v1_config_to_json(cfg);
        if (!config_json) {
            s = rm_fail(REPMLP_ERROR_OUT_OF_HOST_MEMORY, "%s: out of host memory", out_path);
        }
    }
    if (s == REPMLP_OK) s = rm_fused_set_metadata(writer, RM_ARCH_BLOCK_V1, config_json);
    if (s == REPMLP_OK) s = rm_st_writer_write(writer, out_path);
    rm_free(config_json);
    rm_st_writer_destroy(writer);
    rm_safetensors_close(train);
    return s;
}
