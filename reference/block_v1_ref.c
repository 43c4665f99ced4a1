#include "block_v1_ref.h"

#include "core/alloc.h"
#include "core/error.h"

#include <math.h>
#include <string.h>

#define EPS 1e-5

static double bn_apply(const ref_bn *bn, int64_t c, double v) {
    return (v - bn->running_mean[c]) / sqrt((double)bn->running_var[c] + EPS) * bn->weight[c] +
           bn->bias[c];
}

/* Step 1: global perceptron. gp[n, c*hp*wp + i*wp + j] = fc2(relu(fc1(BN?(avgpool(x))))),
 * i.e. the vector later reshaped to (N, C, hp, 1, wp, 1). avg_bn NULL: deploy (no BN). */
static repmlp_status global_perceptron(const rm_block_v1_config *c, const ref_bn *avg_bn,
                                       const float *w1, const float *b1, const float *w2,
                                       const float *b2, int64_t n, const double *x, double *gp) {
    const int64_t C = c->in_channels, H = c->H, W = c->W, h = c->h, w = c->w, hp = c->hp,
                  wp = c->wp, cpp = C * hp * wp, I = c->I;
    double *v = rm_calloc((size_t)cpp, sizeof *v), *z = rm_calloc((size_t)I, sizeof *z);
    if (!v || !z) {
        rm_free(v);
        rm_free(z);
        return rm_fail(REPMLP_ERROR_OUT_OF_HOST_MEMORY, "reference: out of host memory");
    }
    for (int64_t b = 0; b < n; b++) {
        /* avgpool(kernel (h,w), stride (h,w)) -> (C, hp, wp), then BN, flattened */
        for (int64_t ch = 0; ch < C; ch++) {
            for (int64_t i = 0; i < hp; i++) {
                for (int64_t j = 0; j < wp; j++) {
                    double sum = 0.0;
                    for (int64_t y = 0; y < h; y++) {
                        for (int64_t xx = 0; xx < w; xx++) {
                            sum += x[((b * C + ch) * H + i * h + y) * W + j * w + xx];
                        }
                    }
                    double mean = sum / (double)(h * w);
                    v[(ch * hp + i) * wp + j] = avg_bn ? bn_apply(avg_bn, ch, mean) : mean;
                }
            }
        }
        /* fc1 + relu: z = relu(v @ W1.T + b1) */
        for (int64_t q = 0; q < I; q++) {
            double acc = b1[q];
            for (int64_t k = 0; k < cpp; k++) acc += (double)w1[q * cpp + k] * v[k];
            z[q] = acc > 0.0 ? acc : 0.0;
        }
        /* fc2: gp = z @ W2.T + b2 */
        for (int64_t q = 0; q < cpp; q++) {
            double acc = b2[q];
            for (int64_t k = 0; k < I; k++) acc += (double)w2[q * I + k] * z[k];
            gp[b * cpp + q] = acc;
        }
    }
    rm_free(v);
    rm_free(z);
    return REPMLP_OK;
}

/* Steps 1-2: P[(b*hp + i)*wp + j, ch*h*w + y*w + xx] = x6[b, ch, i, y, j, xx], where
 * x6 = x.reshape(N, C, hp, h, wp, w) (+ gp broadcast over y and xx), permuted (0,2,4,1,3,5). */
static void partitions(const rm_block_v1_config *c, int64_t n, const double *x, const double *gp,
                       double *P) {
    const int64_t C = c->in_channels, H = c->H, W = c->W, h = c->h, w = c->w, hp = c->hp,
                  wp = c->wp;
    for (int64_t b = 0; b < n; b++) {
        for (int64_t ch = 0; ch < C; ch++) {
            for (int64_t i = 0; i < hp; i++) {
                for (int64_t y = 0; y < h; y++) {
                    for (int64_t j = 0; j < wp; j++) {
                        for (int64_t xx = 0; xx < w; xx++) {
                            double v = x[((b * C + ch) * H + i * h + y) * W + j * w + xx];
                            if (gp) v += gp[b * C * hp * wp + (ch * hp + i) * wp + j];
                            P[((b * hp + i) * wp + j) * C * h * w + (ch * h + y) * w + xx] = v;
                        }
                    }
                }
            }
        }
    }
}

/* Step 3: grouped FC over rows of F = P; group G maps columns [G*Chw/g, (G+1)*Chw/g) to
 * outputs [G*Ohw/g, (G+1)*Ohw/g). Then BN1d (training) or + bias (deploy). */
static void partition_perceptron(const rm_block_v1_config *c, int64_t rows, const double *F,
                                 const float *w3, const ref_bn *bn, const float *b3, double *R) {
    const int64_t hw = c->h * c->w, chw = c->in_channels * hw, ohw = c->out_channels * hw,
                  g = c->fc3_groups, in_g = chw / g, out_g = ohw / g;
    for (int64_t r = 0; r < rows; r++) {
        for (int64_t G = 0; G < g; G++) {
            for (int64_t q = G * out_g; q < (G + 1) * out_g; q++) {
                double acc = 0.0;
                for (int64_t k = 0; k < in_g; k++) {
                    acc += (double)w3[q * in_g + k] * F[r * chw + G * in_g + k];
                }
                R[r * ohw + q] = bn ? bn_apply(bn, q, acc) : acc + b3[q];
            }
        }
    }
}

/* Step 4: each partition L = P row as (C, h, w), conv2d(padding k/2, groups g) on its own,
 * zero outside the partition, then BN_k; accumulated into R as (O, h, w). */
static void local_perceptron(const rm_block_v1_config *c, int64_t rows, const double *P,
                             const float *kw, const ref_bn *bn, int64_t k, double *R) {
    const int64_t C = c->in_channels, O = c->out_channels, h = c->h, w = c->w, g = c->fc3_groups,
                  cg = C / g, og = O / g, pad = k / 2;
    for (int64_t r = 0; r < rows; r++) {
        const double *L = P + r * C * h * w;
        for (int64_t o = 0; o < O; o++) {
            const int64_t G = o / og;
            for (int64_t y = 0; y < h; y++) {
                for (int64_t xx = 0; xx < w; xx++) {
                    double acc = 0.0;
                    for (int64_t ci = 0; ci < cg; ci++) {
                        const int64_t ch = G * cg + ci;
                        for (int64_t ky = 0; ky < k; ky++) {
                            const int64_t sy = y + ky - pad;
                            if (sy < 0 || sy >= h) continue;
                            for (int64_t kx = 0; kx < k; kx++) {
                                const int64_t sx = xx + kx - pad;
                                if (sx < 0 || sx >= w) continue;
                                acc += (double)kw[((o * cg + ci) * k + ky) * k + kx] *
                                       L[(ch * h + sy) * w + sx];
                            }
                        }
                    }
                    R[r * O * h * w + (o * h + y) * w + xx] += bn_apply(bn, o, acc);
                }
            }
        }
    }
}

/* Step 5: out = R.reshape(N, hp, wp, O, h, w).permute(0,3,1,4,2,5).reshape(N, O, H, W). */
static void unpartition(const rm_block_v1_config *c, int64_t n, const double *R, double *y) {
    const int64_t O = c->out_channels, H = c->H, W = c->W, h = c->h, w = c->w, hp = c->hp,
                  wp = c->wp;
    for (int64_t b = 0; b < n; b++) {
        for (int64_t o = 0; o < O; o++) {
            for (int64_t i = 0; i < hp; i++) {
                for (int64_t yy = 0; yy < h; yy++) {
                    for (int64_t j = 0; j < wp; j++) {
                        for (int64_t xx = 0; xx < w; xx++) {
                            y[((b * O + o) * H + i * h + yy) * W + j * w + xx] =
                                R[((b * hp + i) * wp + j) * O * h * w + (o * h + yy) * w + xx];
                        }
                    }
                }
            }
        }
    }
}

typedef struct scratch {
    double *gp, *P, *R;
    int64_t rows;
} scratch;

static repmlp_status scratch_alloc(const rm_block_v1_config *c, int64_t n, scratch *s) {
    const int64_t hw = c->h * c->w;
    s->rows = n * c->hp * c->wp;
    s->gp =
        c->has_gp ? rm_calloc((size_t)(n * c->in_channels * c->hp * c->wp), sizeof(double)) : NULL;
    s->P = rm_calloc((size_t)(s->rows * c->in_channels * hw), sizeof(double));
    s->R = rm_calloc((size_t)(s->rows * c->out_channels * hw), sizeof(double));
    if ((c->has_gp && !s->gp) || !s->P || !s->R) {
        rm_free(s->gp);
        rm_free(s->P);
        rm_free(s->R);
        return rm_fail(REPMLP_ERROR_OUT_OF_HOST_MEMORY, "reference: out of host memory");
    }
    return REPMLP_OK;
}

static void scratch_free(scratch *s) {
    rm_free(s->gp);
    rm_free(s->P);
    rm_free(s->R);
}

/* x (n, C, H, W) as float64, rm_malloc'd; NULL when out of memory. */
static double *widen(const rm_block_v1_config *c, int64_t n, const float *x) {
    const size_t count = (size_t)(n * c->in_channels * c->H * c->W);
    double *xd = rm_malloc(count * sizeof *xd);
    if (xd) {
        for (size_t i = 0; i < count; i++) xd[i] = x[i];
    }
    return xd;
}

repmlp_status ref_block_v1_train_forward(const rm_block_v1_config *c, const ref_block_v1_train *t,
                                         int64_t n, const float *xf, double *y) {
    scratch s;
    double *x = widen(c, n, xf);
    if (!x) return rm_fail(REPMLP_ERROR_OUT_OF_HOST_MEMORY, "reference: out of host memory");
    repmlp_status st = scratch_alloc(c, n, &s);
    if (st != REPMLP_OK) {
        rm_free(x);
        return st;
    }
    if (c->has_gp) {
        st = global_perceptron(c, &t->avg_bn, t->fc1_weight, t->fc1_bias, t->fc2_weight,
                               t->fc2_bias, n, x, s.gp);
    }
    if (st == REPMLP_OK) {
        partitions(c, n, x, s.gp, s.P);
        partition_perceptron(c, s.rows, s.P, t->fc3_weight, &t->fc3_bn, NULL, s.R);
        for (int i = 0; i < c->kernel_count; i++) {
            local_perceptron(c, s.rows, s.P, t->conv_weight[i], &t->conv_bn[i], c->kernels[i], s.R);
        }
        unpartition(c, n, s.R, y);
    }
    scratch_free(&s);
    rm_free(x);
    return st;
}

repmlp_status ref_block_v1_deploy_forward(const rm_block_v1_config *c, const ref_block_v1_deploy *d,
                                          int64_t n, const float *xf, double *y) {
    double *x = widen(c, n, xf);
    if (!x) return rm_fail(REPMLP_ERROR_OUT_OF_HOST_MEMORY, "reference: out of host memory");
    repmlp_status st = ref_block_v1_deploy_forward_f64(c, d, n, x, y);
    rm_free(x);
    return st;
}

repmlp_status ref_block_v1_deploy_forward_f64(const rm_block_v1_config *c,
                                              const ref_block_v1_deploy *d, int64_t n,
                                              const double *x, double *y) {
    scratch s;
    repmlp_status st = scratch_alloc(c, n, &s);
    if (st != REPMLP_OK) return st;
    if (c->has_gp) {
        st = global_perceptron(c, NULL, d->fc1_weight, d->fc1_bias, d->fc2_weight, d->fc2_bias, n,
                               x, s.gp);
    }
    if (st == REPMLP_OK) {
        partitions(c, n, x, s.gp, s.P);
        partition_perceptron(c, s.rows, s.P, d->fc3_weight, NULL, d->fc3_bias, s.R);
        unpartition(c, n, s.R, y);
    }
    scratch_free(&s);
    return st;
}
