#include "ops_ref.h"

#include <math.h>

void ref_avgpool(const float *x, size_t N, size_t C, size_t H, size_t W, size_t kh, size_t kw,
                 double *y) {
    size_t oh = H / kh, ow = W / kw;
    for (size_t nc = 0; nc < N * C; nc++)
        for (size_t i = 0; i < oh; i++)
            for (size_t j = 0; j < ow; j++) {
                double sum = 0;
                for (size_t a = 0; a < kh; a++)
                    for (size_t b = 0; b < kw; b++)
                        sum += x[(nc * H + i * kh + a) * W + j * kw + b];
                y[(nc * oh + i) * ow + j] = sum / (double)(kh * kw);
            }
}

void ref_broadcast_add(const float *x, const float *v, size_t N, size_t C, size_t H, size_t W,
                       size_t h, size_t w, double *y) {
    size_t hp = H / h, wp = W / w;
    for (size_t n = 0; n < N; n++)
        for (size_t c = 0; c < C; c++)
            for (size_t ip = 0; ip < hp; ip++)
                for (size_t a = 0; a < h; a++)
                    for (size_t jp = 0; jp < wp; jp++)
                        for (size_t b = 0; b < w; b++) {
                            size_t xi = ((n * C + c) * H + ip * h + a) * W + jp * w + b;
                            y[xi] = (double)x[xi] + v[((n * C + c) * hp + ip) * wp + jp];
                        }
}

void ref_gemm(const float *X, const float *Wt, const float *bias, size_t M, size_t K, size_t NO,
              size_t groups, int relu, double *Y) {
    for (size_t m = 0; m < M; m++)
        for (size_t g = 0; g < groups; g++)
            for (size_t n = 0; n < NO; n++) {
                double acc = bias ? bias[g * NO + n] : 0.0;
                for (size_t k = 0; k < K; k++)
                    acc += (double)X[m * groups * K + g * K + k] * Wt[(g * NO + n) * K + k];
                if (relu && acc < 0) acc = 0;
                Y[m * groups * NO + g * NO + n] = acc;
            }
}

void ref_softmax_topk(const float *x, size_t rows, size_t classes, size_t k, uint32_t *cls,
                      double *prob) {
    for (size_t r = 0; r < rows; r++) {
        const float *row = x + r * classes;
        double m = -INFINITY, sum = 0;
        for (size_t c = 0; c < classes; c++)
            if (row[c] > m) m = row[c];
        for (size_t c = 0; c < classes; c++) sum += exp((double)row[c] - m);
        /* Selection by the definition: the j-th pick is the best class not picked yet. */
        for (size_t j = 0; j < k; j++) {
            size_t best = classes;
            for (size_t c = 0; c < classes; c++) {
                int taken = 0;
                for (size_t i = 0; i < j; i++) taken |= cls[r * k + i] == c;
                if (taken || isnan(row[c])) continue;
                if (best == classes || row[c] > row[best]) best = c; /* ties: lower c stays */
            }
            cls[r * k + j] = best == classes ? UINT32_MAX : (uint32_t)best;
            prob[r * k + j] = best == classes ? NAN : exp((double)row[best] - m) / sum;
        }
    }
}
