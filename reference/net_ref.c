#include "net_ref.h"

#include "block_v1_ref.h"
#include "core/alloc.h"
#include "core/error.h"
#include "io/json.h"
#include "model/config.h"
#include "model/fused_format.h"
#include "nn_ref.h"

#include <stdio.h>
#include <string.h>

#define NAME_MAX_LEN 256

static repmlp_status oom(void) {
    return rm_fail(REPMLP_ERROR_OUT_OF_HOST_MEMORY, "reference: out of host memory");
}

/* a + b into buf (NAME_MAX_LEN bytes); our names are far shorter, a longer one is cut and then
 * reported as a missing tensor. */
static const char *join(char *buf, const char *a, const char *b) {
    if (snprintf(buf, NAME_MAX_LEN, "%s%s", a, b) >= NAME_MAX_LEN) buf[NAME_MAX_LEN - 1] = '\0';
    return buf;
}

/* A zeroed float64 buffer of `count` elements, or NULL. */
static double *dbuf(int64_t count) {
    return rm_calloc((size_t)(count > 0 ? count : 1), sizeof(double));
}

/* ---- weights: each layer's tensors, read on use and freed after ---- */

#define MAX_HELD 8
typedef struct held {
    double *t[MAX_HELD];
    int count;
} held;

static void held_free(held *h) {
    for (int i = 0; i < h->count; i++) rm_free(h->t[i]);
    h->count = 0;
}

/* "<prefix><rel>" from the fused file, of exactly this shape, kept in h. */
static repmlp_status get(rm_safetensors *st, held *h, const char *prefix, const char *rel, int ndim,
                         const int64_t *shape, const double **out) {
    char name[NAME_MAX_LEN];
    join(name, prefix, rel);
    double *p = NULL;
    repmlp_status s = rm_safetensors_read_f64(st, name, ndim, shape, &p);
    if (s != REPMLP_OK) return s;
    h->t[h->count++] = p; /* callers hold at most MAX_HELD */
    *out = p;
    return REPMLP_OK;
}

/* A deploy conv "<prefix><rel>.conv.{weight,bias}" (out, in, k, k) applied to x. */
static repmlp_status conv(rm_safetensors *st, const char *prefix, const char *rel, const double *x,
                          int64_t n, int64_t C, int64_t H, int64_t W, int64_t O, int64_t kh,
                          int64_t kw, int64_t stride, int64_t pad, ref_act act, double *y) {
    held h = {0};
    const double *w = NULL, *b = NULL;
    char base[NAME_MAX_LEN];
    join(base, prefix, rel);
    repmlp_status s = get(st, &h, base, ".conv.weight", 4, (const int64_t[]){O, C, kh, kw}, &w);
    if (s == REPMLP_OK) s = get(st, &h, base, ".conv.bias", 1, &O, &b);
    if (s == REPMLP_OK) {
        ref_conv2d(x, (size_t)n, (size_t)C, (size_t)H, (size_t)W, w, b, (size_t)O, (size_t)kh,
                   (size_t)kw, (size_t)stride, (size_t)pad, 1, act, y);
    }
    held_free(&h);
    return s;
}

/* ================================ RepMLPBlock ================================ */

repmlp_status ref_block_v2_deploy_forward(const rm_block_v2_config *c, const ref_block_v2_deploy *d,
                                          int64_t n, int64_t H, int64_t W, const double *x,
                                          double *y) {
    const int64_t C = c->channels, S = c->sharesets, h = c->h, w = c->w, hw = h * w;
    const int64_t hp = H / h, wp = W / w, r = c->hidden;
    const int64_t rows = n * hp * wp * C / S; /* rows of P.reshape(-1, S*h*w) */
    double *v = dbuf(n * C), *z = dbuf(n * r), *g = dbuf(n * C);
    double *P = dbuf(n * C * H * W), *A = dbuf(n * C * H * W);
    repmlp_status s = REPMLP_OK;
    if (!v || !z || !g || !P || !A) s = oom();
    if (s == REPMLP_OK) {
        /* gate: g = sigmoid(fc2(relu(fc1(mean over all of H, W)))) -> (n, C) */
        ref_global_avgpool(x, (size_t)n, (size_t)C, (size_t)H, (size_t)W, v);
        ref_linear(v, (size_t)n, (size_t)C, d->gp_fc1_weight, d->gp_fc1_bias, (size_t)r,
                   REF_ACT_RELU, z);
        ref_linear(z, (size_t)n, (size_t)r, d->gp_fc2_weight, d->gp_fc2_bias, (size_t)C,
                   REF_ACT_SIGMOID, g);

        /* P = x.reshape(n, C, hp, h, wp, w).permute(0, 2, 4, 1, 3, 5), stored contiguously:
         * P[b, i, j, ch, yy, xx] = x[b, ch, i*h + yy, j*w + xx] */
        for (int64_t b = 0; b < n; b++)
            for (int64_t i = 0; i < hp; i++)
                for (int64_t j = 0; j < wp; j++)
                    for (int64_t ch = 0; ch < C; ch++)
                        for (int64_t yy = 0; yy < h; yy++)
                            for (int64_t xx = 0; xx < w; xx++) {
                                P[((((b * hp + i) * wp + j) * C + ch) * h + yy) * w + xx] =
                                    x[((b * C + ch) * H + i * h + yy) * W + j * w + xx];
                            }

        /* A = fc3(P.reshape(-1, S*h*w)): group s of each row maps its columns
         * [s*hw, (s+1)*hw) to outputs [s*hw, (s+1)*hw) with fc3.weight rows s*hw.. */
        for (int64_t row = 0; row < rows; row++)
            for (int64_t q = 0; q < S * hw; q++) {
                const int64_t grp = q / hw;
                const double *in = P + row * S * hw + grp * hw;
                double acc = d->fc3_bias[q];
                for (int64_t k = 0; k < hw; k++) acc += d->fc3_weight[q * hw + k] * in[k];
                A[row * S * hw + q] = acc;
            }

        /* out = A.reshape(-1, hp, wp, S, h, w).permute(0, 3, 1, 4, 2, 5).reshape(n, C, H, W)
         * * g: element (m, s, i, yy, j, xx) of the permuted tensor is output channel
         * m*S + s = b*C + ch, so with m = (b*C + ch) / S, s = (b*C + ch) % S it reads
         * A[m, i, j, s, yy, xx]. When C != S this is not the partition order of P: the quirk
         * docs/MODELS.md §3 says to keep. */
        for (int64_t b = 0; b < n; b++)
            for (int64_t ch = 0; ch < C; ch++) {
                const int64_t m = (b * C + ch) / S, sh = (b * C + ch) % S;
                for (int64_t i = 0; i < hp; i++)
                    for (int64_t yy = 0; yy < h; yy++)
                        for (int64_t j = 0; j < wp; j++)
                            for (int64_t xx = 0; xx < w; xx++) {
                                const double a =
                                    A[((((m * hp + i) * wp + j) * S + sh) * h + yy) * w + xx];
                                y[((b * C + ch) * H + i * h + yy) * W + j * w + xx] =
                                    a * g[b * C + ch];
                            }
            }
    }
    rm_free(v);
    rm_free(z);
    rm_free(g);
    rm_free(P);
    rm_free(A);
    return s;
}

repmlp_status ref_block_v2_fused_forward(const rm_block_v2_config *c, rm_safetensors *st,
                                         const char *prefix, int64_t n, int64_t H, int64_t W,
                                         const double *x, double *y) {
    const int64_t C = c->channels, r = c->hidden, hw = c->h * c->w, Shw = c->sharesets * hw;
    held h = {0};
    ref_block_v2_deploy d = {0};
    repmlp_status s =
        get(st, &h, prefix, "gp.fc1.weight", 4, (const int64_t[]){r, C, 1, 1}, &d.gp_fc1_weight);
    if (s == REPMLP_OK) s = get(st, &h, prefix, "gp.fc1.bias", 1, &r, &d.gp_fc1_bias);
    if (s == REPMLP_OK) {
        s = get(st, &h, prefix, "gp.fc2.weight", 4, (const int64_t[]){C, r, 1, 1},
                &d.gp_fc2_weight);
    }
    if (s == REPMLP_OK) s = get(st, &h, prefix, "gp.fc2.bias", 1, &C, &d.gp_fc2_bias);
    if (s == REPMLP_OK) {
        s = get(st, &h, prefix, "fc3.weight", 4, (const int64_t[]){Shw, hw, 1, 1}, &d.fc3_weight);
    }
    if (s == REPMLP_OK) s = get(st, &h, prefix, "fc3.bias", 1, &Shw, &d.fc3_bias);
    if (s == REPMLP_OK) s = ref_block_v2_deploy_forward(c, &d, n, H, W, x, y);
    held_free(&h);
    return s;
}

/* ================================ RepMLPNet ================================ */

/* conv_embedding: conv kernel = stride = (ph, pw), padding 0, then ReLU. ref_conv2d has one
 * stride for both axes, so a non-square patch is the stride-1 conv sampled every (ph, pw). */
static repmlp_status embed_patches(const rm_repmlpnet_config *c, rm_safetensors *st, int64_t n,
                                   int64_t H, int64_t W, const double *x, double *y) {
    const int64_t ph = c->patch_h, pw = c->patch_w, C0 = c->channels[0];
    if (ph == pw) {
        return conv(st, "", "conv_embedding", x, n, c->in_channels, H, W, C0, ph, pw, ph, 0,
                    REF_ACT_RELU, y);
    }
    const int64_t FH = H - ph + 1, FW = W - pw + 1, OH = H / ph, OW = W / pw;
    double *full = dbuf(n * C0 * FH * FW);
    if (!full) return oom();
    repmlp_status s = conv(st, "", "conv_embedding", x, n, c->in_channels, H, W, C0, ph, pw, 1, 0,
                           REF_ACT_RELU, full);
    if (s == REPMLP_OK) {
        for (int64_t bc = 0; bc < n * C0; bc++)
            for (int64_t oy = 0; oy < OH; oy++)
                for (int64_t ox = 0; ox < OW; ox++) {
                    y[(bc * OH + oy) * OW + ox] = full[(bc * FH + oy * ph) * FW + ox * pw];
                }
    }
    rm_free(full);
    return s;
}

/* One unit "stages.{s}.{u}." on x (n, C, H, W), in place:
 * y = x + repmlp_block(prebn1(x)); z = y + ffn_fc2(gelu(ffn_fc1(prebn2(y)))), where prebn1 is
 * the written affine (or already inside gp.fc1 and fc3) and prebn2 is inside ffn_fc1. */
static repmlp_status unit_forward(const rm_repmlpnet_stage *stage, rm_safetensors *st,
                                  const char *prefix, int64_t n, int64_t H, int64_t W, double *x) {
    const int64_t C = stage->block.channels, count = n * C * H * W;
    double *t = dbuf(count), *blk = dbuf(count), *wide = dbuf(4 * count);
    char sub[NAME_MAX_LEN];
    held h = {0};
    repmlp_status s = t && blk && wide ? REPMLP_OK : oom();
    if (s == REPMLP_OK) {
        memcpy(t, x, (size_t)count * sizeof *t);
        if (!stage->prebn1_folded) {
            const double *scale = NULL, *shift = NULL;
            s = get(st, &h, prefix, "prebn1.scale", 1, &C, &scale);
            if (s == REPMLP_OK) s = get(st, &h, prefix, "prebn1.shift", 1, &C, &shift);
            if (s == REPMLP_OK) ref_affine(t, (size_t)n, (size_t)C, (size_t)(H * W), scale, shift);
            held_free(&h);
        }
    }
    join(sub, prefix, "repmlp_block.");
    if (s == REPMLP_OK) s = ref_block_v2_fused_forward(&stage->block, st, sub, n, H, W, t, blk);
    if (s == REPMLP_OK) {
        for (int64_t i = 0; i < count; i++) x[i] += blk[i];
        s = conv(st, prefix, "ffn_block.ffn_fc1", x, n, C, H, W, 4 * C, 1, 1, 1, 0, REF_ACT_GELU,
                 wide);
    }
    if (s == REPMLP_OK) {
        s = conv(st, prefix, "ffn_block.ffn_fc2", wide, n, 4 * C, H, W, C, 1, 1, 1, 0, REF_ACT_NONE,
                 t);
    }
    if (s == REPMLP_OK) {
        for (int64_t i = 0; i < count; i++) x[i] += t[i];
    }
    rm_free(t);
    rm_free(blk);
    rm_free(wide);
    return s;
}

/* head(GAP(x)) with head_norm inside head. */
static repmlp_status linear_head(rm_safetensors *st, const char *name, const double *x, int64_t n,
                                 int64_t C, int64_t H, int64_t W, int64_t K, double *y) {
    held h = {0};
    const double *w = NULL, *b = NULL;
    double *pooled = dbuf(n * C);
    repmlp_status s = pooled ? REPMLP_OK : oom();
    if (s == REPMLP_OK) s = get(st, &h, name, ".weight", 2, (const int64_t[]){K, C}, &w);
    if (s == REPMLP_OK) s = get(st, &h, name, ".bias", 1, &K, &b);
    if (s == REPMLP_OK) {
        ref_global_avgpool(x, (size_t)n, (size_t)C, (size_t)H, (size_t)W, pooled);
        ref_linear(pooled, (size_t)n, (size_t)C, w, b, (size_t)K, REF_ACT_NONE, y);
    }
    held_free(&h);
    rm_free(pooled);
    return s;
}

repmlp_status ref_repmlpnet_forward(const rm_repmlpnet_config *c, rm_safetensors *st, int64_t n,
                                    int64_t H, int64_t W, const double *x, double *y) {
    repmlp_status s = rm_repmlpnet_check_input(c, H, W, rm_safetensors_path(st));
    if (s != REPMLP_OK) return s;
    int64_t mh = H / c->patch_h, mw = W / c->patch_w;
    double *cur = dbuf(n * c->channels[0] * mh * mw);
    if (!cur) return oom();
    s = embed_patches(c, st, n, H, W, x, cur);
    for (int i = 0; s == REPMLP_OK && i < c->stage_count; i++) {
        rm_repmlpnet_stage stage;
        rm_repmlpnet_stage_at(c, i, &stage);
        char prefix[NAME_MAX_LEN];
        for (int64_t u = 0; s == REPMLP_OK && u < c->num_blocks[i]; u++) {
            snprintf(prefix, sizeof prefix, "stages.%d.%lld.", i, (long long)u);
            s = unit_forward(&stage, st, prefix, n, mh, mw, cur);
        }
        if (s == REPMLP_OK && i + 1 < c->stage_count) {
            double *next = dbuf(n * c->channels[i + 1] * (mh / 2) * (mw / 2));
            snprintf(prefix, sizeof prefix, "embeds.%d", i);
            s = next ? conv(st, "", prefix, cur, n, c->channels[i], mh, mw, c->channels[i + 1], 2,
                            2, 2, 0, REF_ACT_RELU, next)
                     : oom();
            rm_free(cur);
            cur = next;
            mh /= 2;
            mw /= 2;
        }
    }
    if (s == REPMLP_OK) {
        s = linear_head(st, "head", cur, n, c->channels[c->stage_count - 1], mh, mw, c->num_class,
                        y);
    }
    rm_free(cur);
    return s;
}

/* ================================ RepMLP-ResNet ================================ */

/* A RepMLP v1 deploy block "<prefix>" (C = O = channels) at H x W, from the network config. */
static repmlp_status repmlp_v1(const rm_resnet_config *c, rm_safetensors *st, const char *prefix,
                               int64_t channels, int64_t T, int64_t n, const double *x, double *y) {
    rm_block_v1_config b = {.in_channels = channels,
                            .out_channels = channels,
                            .H = c->img_H / T,
                            .W = c->img_W / T,
                            .h = c->h,
                            .w = c->w,
                            .kernel_count = c->kernel_count,
                            .fc1_fc2_reduction = c->fc1_fc2_reduction,
                            .fc3_groups = c->fc3_groups};
    memcpy(b.kernels, c->kernels, sizeof b.kernels);
    repmlp_status s = rm_block_v1_config_validate(&b, prefix);
    const int64_t cpp = channels * b.hp * b.wp, hw = b.h * b.w;
    const int64_t rows = channels * hw, cols = channels * hw / b.fc3_groups;
    float *t[6] = {NULL};
    char name[NAME_MAX_LEN];
    if (s == REPMLP_OK && b.has_gp) {
        join(name, prefix, "fc1_fc2.fc1.weight");
        s = rm_safetensors_read_f32(st, name, 2, (const int64_t[]){b.I, cpp}, &t[0]);
        join(name, prefix, "fc1_fc2.fc1.bias");
        if (s == REPMLP_OK) s = rm_safetensors_read_f32(st, name, 1, &b.I, &t[1]);
        join(name, prefix, "fc1_fc2.fc2.weight");
        if (s == REPMLP_OK)
            s = rm_safetensors_read_f32(st, name, 2, (const int64_t[]){cpp, b.I}, &t[2]);
        join(name, prefix, "fc1_fc2.fc2.bias");
        if (s == REPMLP_OK) s = rm_safetensors_read_f32(st, name, 1, &cpp, &t[3]);
    }
    join(name, prefix, "fc3.weight");
    if (s == REPMLP_OK)
        s = rm_safetensors_read_f32(st, name, 4, (const int64_t[]){rows, cols, 1, 1}, &t[4]);
    join(name, prefix, "fc3.bias");
    if (s == REPMLP_OK) s = rm_safetensors_read_f32(st, name, 1, &rows, &t[5]);
    if (s == REPMLP_OK) {
        const ref_block_v1_deploy d = {t[0], t[1], t[2], t[3], t[4], t[5]};
        s = ref_block_v1_deploy_forward_f64(&b, &d, n, x, y);
    }
    for (int i = 0; i < 6; i++) rm_free(t[i]);
    return s;
}

/* Block stage{s}.{i} on x (n, in, H, W) -> y (n, width, OH, OW), docs/MODELS.md §2 written out
 * again (not rm_resnet_block_at) so a slip in the fuser's block table cannot hide here. */
static repmlp_status block_forward(const rm_resnet_config *c, rm_safetensors *st, int s_idx,
                                   int64_t i, int64_t n, int64_t in, int64_t H, int64_t W,
                                   const double *x, double *y) {
    const int64_t stride = s_idx > 1 && i == 0 ? 2 : 1, T = (int64_t)4 << (s_idx - 1);
    const int64_t width = c->widths[s_idx - 1];
    const int64_t OH = (int64_t)ref_out_size((size_t)H, 3, (size_t)stride, 1);
    const int64_t OW = (int64_t)ref_out_size((size_t)W, 3, (size_t)stride, 1);
    const bool base = c->block_type == RM_BLOCK_BASE || stride == 2 || (T != 8 && T != 16);
    const rm_block_kind kind = base ? RM_BLOCK_BASE : c->block_type;
    char p[NAME_MAX_LEN];
    snprintf(p, sizeof p, "stage%d.%lld.", s_idx, (long long)i);
    const int64_t mid = kind == RM_BLOCK_LIGHT ? width / 8 : width / 4;
    const int64_t rc = kind == RM_BLOCK_BOTTLENECK ? mid / c->bottleneck_r[s_idx == 2 ? 0 : 1] : 0;
    const int64_t big = n * (mid > rc ? mid : rc) * H * W; /* every inner activation fits */
    double *a = dbuf(big), *b = dbuf(big), *sc = dbuf(n * width * OH * OW);
    repmlp_status s = a && b && sc ? REPMLP_OK : oom();
    char sub[NAME_MAX_LEN];
    if (s == REPMLP_OK && kind == RM_BLOCK_BASE) {
        s = conv(st, p, "conv1", x, n, in, H, W, mid, 1, 1, 1, 0, REF_ACT_RELU, a);
        if (s == REPMLP_OK)
            s = conv(st, p, "conv2", a, n, mid, H, W, mid, 3, 3, stride, 1, REF_ACT_RELU, b);
        if (s == REPMLP_OK)
            s = conv(st, p, "conv3", b, n, mid, OH, OW, width, 1, 1, 1, 0, REF_ACT_NONE, y);
    } else if (s == REPMLP_OK && kind == RM_BLOCK_LIGHT) {
        join(sub, p, "light_repmlp.");
        s = conv(st, p, "light_conv1", x, n, in, H, W, mid, 1, 1, 1, 0, REF_ACT_RELU, a);
        if (s == REPMLP_OK) s = repmlp_v1(c, st, sub, mid, T, n, a, b);
        if (s == REPMLP_OK) {
            ref_activate(b, (size_t)(n * mid * H * W), REF_ACT_RELU);
            s = conv(st, p, "light_conv3", b, n, mid, H, W, width, 1, 1, 1, 0, REF_ACT_NONE, y);
        }
    } else if (s == REPMLP_OK) {
        join(sub, p, "btnk_repmlp.");
        s = conv(st, p, "btnk_conv1", x, n, in, H, W, mid, 1, 1, 1, 0, REF_ACT_RELU, a);
        if (s == REPMLP_OK)
            s = conv(st, p, "btnk_conv2", a, n, mid, H, W, rc, 3, 3, 1, 1, REF_ACT_RELU, b);
        if (s == REPMLP_OK) s = repmlp_v1(c, st, sub, rc, T, n, b, a);
        if (s == REPMLP_OK) {
            ref_activate(a, (size_t)(n * rc * H * W), REF_ACT_RELU);
            s = conv(st, p, "btnk_conv4", a, n, rc, H, W, mid, 3, 3, 1, 1, REF_ACT_RELU, b);
        }
        if (s == REPMLP_OK)
            s = conv(st, p, "btnk_conv5", b, n, mid, H, W, width, 1, 1, 1, 0, REF_ACT_NONE, y);
    }
    /* shortcut: base has a ConvBN when stride != 1 or in != width; light and bottleneck when
     * in != width; otherwise identity. out = relu(main + shortcut). */
    const bool conv_shortcut = in != width || (kind == RM_BLOCK_BASE && stride != 1);
    if (s == REPMLP_OK && conv_shortcut) {
        s = conv(st, p, "shortcut", x, n, in, H, W, width, 1, 1, stride, 0, REF_ACT_NONE, sc);
    } else if (s == REPMLP_OK) {
        memcpy(sc, x, (size_t)(n * width * OH * OW) * sizeof *sc);
    }
    if (s == REPMLP_OK) {
        for (int64_t k = 0; k < n * width * OH * OW; k++)
            y[k] = y[k] + sc[k] > 0 ? y[k] + sc[k] : 0;
    }
    rm_free(a);
    rm_free(b);
    rm_free(sc);
    return s;
}

repmlp_status ref_resnet_forward(const rm_resnet_config *c, rm_safetensors *st, int64_t n,
                                 const double *x, double *y) {
    /* stage0: ConvBNReLU 3 -> stem k7 s2 p3, max-pool 3x3 s2 p1 */
    const int64_t C0 = c->stem_channels;
    int64_t H = (int64_t)ref_out_size((size_t)c->img_H, 7, 2, 3);
    int64_t W = (int64_t)ref_out_size((size_t)c->img_W, 7, 2, 3);
    double *stem = dbuf(n * C0 * H * W);
    if (!stem) return oom();
    repmlp_status s =
        conv(st, "", "stage0.0", x, n, 3, c->img_H, c->img_W, C0, 7, 7, 2, 3, REF_ACT_RELU, stem);
    const int64_t PH = (int64_t)ref_out_size((size_t)H, 3, 2, 1);
    const int64_t PW = (int64_t)ref_out_size((size_t)W, 3, 2, 1);
    double *cur = s == REPMLP_OK ? dbuf(n * C0 * PH * PW) : NULL;
    if (s == REPMLP_OK && !cur) s = oom();
    if (s == REPMLP_OK)
        ref_maxpool(stem, (size_t)n, (size_t)C0, (size_t)H, (size_t)W, 3, 2, 1, cur);
    rm_free(stem);
    H = PH;
    W = PW;
    int64_t in = C0;
    for (int si = 1; s == REPMLP_OK && si <= 4; si++) {
        for (int64_t i = 0; s == REPMLP_OK && i < c->num_blocks[si - 1]; i++) {
            const int64_t stride = si > 1 && i == 0 ? 2 : 1, width = c->widths[si - 1];
            const int64_t OH = (int64_t)ref_out_size((size_t)H, 3, (size_t)stride, 1);
            const int64_t OW = (int64_t)ref_out_size((size_t)W, 3, (size_t)stride, 1);
            double *next = dbuf(n * width * OH * OW);
            s = next ? block_forward(c, st, si, i, n, in, H, W, cur, next) : oom();
            rm_free(cur);
            cur = next;
            H = OH;
            W = OW;
            in = width;
        }
    }
    /* head: global average pool, linear */
    if (s == REPMLP_OK) s = linear_head(st, "linear", cur, n, in, H, W, c->num_classes, y);
    rm_free(cur);
    return s;
}

/* ================================ any fused file ================================ */

static repmlp_status bad_input(const char *path, const int64_t *in, const char *what, int64_t C,
                               int64_t H, int64_t W) {
    return rm_fail(REPMLP_ERROR_INVALID_ARGUMENT,
                   "%s: input shape (%lld, %lld, %lld, %lld) does not fit the model: %s "
                   "(expected (N, %lld, %lld, %lld))",
                   path, (long long)in[0], (long long)in[1], (long long)in[2], (long long)in[3],
                   what, (long long)C, (long long)H, (long long)W);
}

static repmlp_status run_block_v1(rm_safetensors *st, const char *where, const char *json,
                                  const int64_t *in, const double *x, double **y, int *ndim,
                                  int64_t *out) {
    rm_block_v1_config c;
    cJSON *obj = NULL;
    repmlp_status s = rm_json_parse(json, strlen(json), where, &obj);
    if (s == REPMLP_OK) s = rm_block_v1_config_from_json(obj, where, &c);
    cJSON_Delete(obj);
    if (s != REPMLP_OK) return s;
    if (in[1] != c.in_channels || in[2] != c.H || in[3] != c.W) {
        return bad_input(rm_safetensors_path(st), in, "size", c.in_channels, c.H, c.W);
    }
    const int64_t cpp = c.in_channels * c.hp * c.wp, hw = c.h * c.w, rows = c.out_channels * hw;
    float *t[6] = {NULL};
    if (c.has_gp) {
        s = rm_safetensors_read_f32(st, "fc1_fc2.fc1.weight", 2, (const int64_t[]){c.I, cpp},
                                    &t[0]);
        if (s == REPMLP_OK) s = rm_safetensors_read_f32(st, "fc1_fc2.fc1.bias", 1, &c.I, &t[1]);
        if (s == REPMLP_OK) {
            s = rm_safetensors_read_f32(st, "fc1_fc2.fc2.weight", 2, (const int64_t[]){cpp, c.I},
                                        &t[2]);
        }
        if (s == REPMLP_OK) s = rm_safetensors_read_f32(st, "fc1_fc2.fc2.bias", 1, &cpp, &t[3]);
    }
    if (s == REPMLP_OK) {
        s = rm_safetensors_read_f32(
            st, "fc3.weight", 4, (const int64_t[]){rows, c.in_channels * hw / c.fc3_groups, 1, 1},
            &t[4]);
    }
    if (s == REPMLP_OK) s = rm_safetensors_read_f32(st, "fc3.bias", 1, &rows, &t[5]);
    out[0] = in[0];
    out[1] = c.out_channels;
    out[2] = c.H;
    out[3] = c.W;
    *ndim = 4;
    if (s == REPMLP_OK && !(*y = dbuf(in[0] * c.out_channels * c.H * c.W))) s = oom();
    if (s == REPMLP_OK) {
        const ref_block_v1_deploy d = {t[0], t[1], t[2], t[3], t[4], t[5]};
        s = ref_block_v1_deploy_forward_f64(&c, &d, in[0], x, *y);
    }
    for (int i = 0; i < 6; i++) rm_free(t[i]);
    return s;
}

/* ---- one forward per architecture, keyed by RM_ARCH_LIST ---- */

typedef repmlp_status (*ref_arch_forward)(rm_safetensors *st, const char *where, const char *json,
                                          const int64_t *in, const double *x, double **y, int *ndim,
                                          int64_t *out);

static repmlp_status ref_arch_block_v1(rm_safetensors *st, const char *where, const char *json,
                                       const int64_t *in, const double *x, double **y, int *ndim,
                                       int64_t *out) {
    return run_block_v1(st, where, json, in, x, y, ndim, out);
}

static repmlp_status ref_arch_block_v2(rm_safetensors *st, const char *where, const char *json,
                                       const int64_t *in, const double *x, double **y, int *ndim,
                                       int64_t *out) {
    rm_block_v2_config c;
    repmlp_status s = rm_block_v2_config_parse(json, where, &c);
    if (s == REPMLP_OK && (in[1] != c.channels || in[2] != c.H || in[3] != c.W))
        s = bad_input(rm_safetensors_path(st), in, "size", c.channels, c.H, c.W);
    if (s == REPMLP_OK && !(*y = dbuf(in[0] * in[1] * in[2] * in[3]))) s = oom();
    if (s == REPMLP_OK) s = ref_block_v2_fused_forward(&c, st, "", in[0], c.H, c.W, x, *y);
    *ndim = 4;
    memcpy(out, in, 4 * sizeof *out);
    return s;
}

static repmlp_status ref_arch_repmlpnet(rm_safetensors *st, const char *where, const char *json,
                                        const int64_t *in, const double *x, double **y, int *ndim,
                                        int64_t *out) {
    rm_repmlpnet_config c;
    repmlp_status s = rm_repmlpnet_config_parse(json, where, &c);
    if (s == REPMLP_OK && in[1] != c.in_channels)
        s = bad_input(rm_safetensors_path(st), in, "channels", c.in_channels, c.img_H, c.img_W);
    if (s == REPMLP_OK && !(*y = dbuf(in[0] * c.num_class))) s = oom();
    if (s == REPMLP_OK) s = ref_repmlpnet_forward(&c, st, in[0], in[2], in[3], x, *y);
    *ndim = 2;
    out[0] = in[0];
    out[1] = c.num_class;
    return s;
}

static repmlp_status ref_arch_resnet(rm_safetensors *st, const char *where, const char *json,
                                     const int64_t *in, const double *x, double **y, int *ndim,
                                     int64_t *out) {
    rm_resnet_config c;
    repmlp_status s = rm_resnet_config_parse(json, where, &c);
    if (s == REPMLP_OK && (in[1] != 3 || in[2] != c.img_H || in[3] != c.img_W))
        s = bad_input(rm_safetensors_path(st), in, "size", 3, c.img_H, c.img_W);
    if (s == REPMLP_OK && !(*y = dbuf(in[0] * c.num_classes))) s = oom();
    if (s == REPMLP_OK) s = ref_resnet_forward(&c, st, in[0], x, *y);
    *ndim = 2;
    out[0] = in[0];
    out[1] = c.num_classes;
    return s;
}

#define REF_ARCH_ROW_(id, name) {name, ref_arch_##id},
static const struct {
    const char *name;
    ref_arch_forward forward;
} ref_archs[] = {RM_ARCH_LIST(REF_ARCH_ROW_)};
#undef REF_ARCH_ROW_

repmlp_status ref_fused_forward(const char *path, const int64_t in[4], const float *xf, double **y,
                                int *out_ndim, int64_t out[4]) {
    *y = NULL;
    rm_safetensors *st = NULL;
    const char *arch = NULL, *json = NULL;
    double *x = NULL;
    char where[NAME_MAX_LEN + 64];
    repmlp_status s = rm_safetensors_open(path, &st);
    if (s == REPMLP_OK) s = rm_fused_read_metadata(st, &arch, &json);
    snprintf(where, sizeof where, "%s: __metadata__ config", path);
    if (s == REPMLP_OK && (in[0] < 1 || in[1] < 1 || in[2] < 1 || in[3] < 1)) {
        s = rm_fail(REPMLP_ERROR_INVALID_ARGUMENT, "%s: empty input", path);
    }
    const int64_t count = in[0] * in[1] * in[2] * in[3];
    if (s == REPMLP_OK && !(x = dbuf(count))) s = oom();
    if (s == REPMLP_OK) {
        for (int64_t i = 0; i < count; i++) x[i] = xf[i];
    }
    ref_arch_forward forward = NULL;
    for (size_t i = 0; s == REPMLP_OK && i < sizeof ref_archs / sizeof ref_archs[0]; i++)
        if (strcmp(arch, ref_archs[i].name) == 0) forward = ref_archs[i].forward;
    if (s == REPMLP_OK && !forward) {
        s = rm_fail(REPMLP_ERROR_FORMAT, "%s: __metadata__ key 'arch': unknown arch '%s'", path,
                    arch);
    }
    if (s == REPMLP_OK) s = forward(st, where, json, in, x, y, out_ndim, out);
    if (s == REPMLP_OK) {
        const rm_st_tensor *t = rm_safetensors_first_unused(st);
        if (t) {
            s = rm_fail(REPMLP_ERROR_FORMAT, "%s: tensor '%s' is unexpected for arch %s", path,
                        t->name, arch);
        }
    }
    if (s != REPMLP_OK) {
        rm_free(*y);
        *y = NULL;
    }
    rm_free(x);
    rm_safetensors_close(st);
    return s;
}
