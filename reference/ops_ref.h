/* Plain C references of the core ops, accumulating in double. They follow the op
 * definitions literally (no index maps), so they check the shaders' addressing too. */
#ifndef RM_OPS_REF_H
#define RM_OPS_REF_H

#include <stddef.h>
#include <stdint.h>

void ref_avgpool(const float *x, size_t N, size_t C, size_t H, size_t W, size_t kh, size_t kw,
                 double *y);
void ref_broadcast_add(const float *x, const float *v, size_t N, size_t C, size_t H, size_t W,
                       size_t h, size_t w, double *y);
/* X (M, groups*K) row-major, Wt (groups*NO, K), bias (groups*NO) or NULL, Y (M, groups*NO). */
void ref_gemm(const float *X, const float *Wt, const float *bias, size_t M, size_t K, size_t NO,
              size_t groups, int relu, double *Y);

/* Per row of x (rows, classes): the k most probable classes by softmax, best first (ties: the
 * lower class first; NaN logits never picked), with their probabilities. */
void ref_softmax_topk(const float *x, size_t rows, size_t classes, size_t k, uint32_t *cls,
                      double *prob);

#endif
