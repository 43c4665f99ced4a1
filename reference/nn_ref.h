/* Plain C references of the network layers, double in and double out, written from the
 * definitions in docs/MODELS.md §0 (cross-correlation, floor output sizes, zero padding for
 * convs, -inf padding for max-pool). They are the oracle for the shader tests and the building
 * blocks of the whole-network references. */
#ifndef RM_NN_REF_H
#define RM_NN_REF_H

#include <stddef.h>

typedef enum ref_act { REF_ACT_NONE = 0, REF_ACT_RELU, REF_ACT_GELU, REF_ACT_SIGMOID } ref_act;

/* floor((in + 2*pad - k) / stride) + 1 */
size_t ref_out_size(size_t in, size_t k, size_t stride, size_t pad);

/* y (N, O, OH, OW) = act(conv2d(x (N, C, H, W), w (O, C/groups, kh, kw)) + b), b may be NULL. */
void ref_conv2d(const double *x, size_t N, size_t C, size_t H, size_t W, const double *w,
                const double *b, size_t O, size_t kh, size_t kw, size_t stride, size_t pad,
                size_t groups, ref_act act, double *y);

/* The same with a rectangular kernel, stride and padding per axis. */
void ref_conv2d_rect(const double *x, size_t N, size_t C, size_t H, size_t W, const double *w,
                     const double *b, size_t O, size_t kh, size_t kw, size_t sh, size_t sw,
                     size_t ph, size_t pw, size_t groups, ref_act act, double *y);

/* k x k max-pool with stride and padding that never wins. */
void ref_maxpool(const double *x, size_t N, size_t C, size_t H, size_t W, size_t k, size_t stride,
                 size_t pad, double *y);

/* y (N, C) = mean over H, W. */
void ref_global_avgpool(const double *x, size_t N, size_t C, size_t H, size_t W, double *y);

/* y (N, O) = act(x (N, K) @ w (O, K)^T + b), b may be NULL. */
void ref_linear(const double *x, size_t N, size_t K, const double *w, const double *b, size_t O,
                ref_act act, double *y);

/* In place: x = act(x). GELU is the exact erf form. */
void ref_activate(double *x, size_t n, ref_act act);

/* In place over (N, C, HW): x = x * scale[c] + shift[c]. */
void ref_affine(double *x, size_t N, size_t C, size_t HW, const double *scale, const double *shift);

#endif
