/* repmlp-q8-accuracy FUSED INPUT EXPECTED [TMPDIR [FORMAT,...]]: how far a fused model's output
 * moves from the float64 expected output when its GEMM/conv weights (every tensor named "*.weight"
 * of 2 or more dimensions) are stored as fp32 (as fused), fp16, 8-bit in blocks of 32 along K with
 * fp16 or fp32 scales, 8-bit in blocks of 64, and 8-bit with one fp32 scale per output column
 * (per row of the PyTorch weight). Every other tensor (biases, BatchNorm terms) stays fp32.
 * The model runs in float64 (reference/net_ref) on the weights each format gives back, so the
 * numbers are the format's own error, not a device's. Prints one line per format:
 * "<format> <max relative error>" (the largest |difference| over the largest |expected|); a
 * comma-separated list of format names runs only those (a full-size preset takes minutes per
 * format). */
#include <math.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compare.h"
#include "core/alloc.h"
#include "io/safetensors.h"
#include "model/fused_format.h"
#include "model/weights_q8.h"
#include "net_ref.h"

typedef enum format { F32, F16, Q8_B32_F16, Q8_B32_F32, Q8_B64_F16, Q8_COLUMN } format;
static const char *const format_names[] = {"fp32",           "fp16",           "q8-block32-f16",
                                           "q8-block32-f32", "q8-block64-f16", "q8-column-f32"};

static bool is_linear_weight(const rm_st_tensor *t) {
    size_t n = strlen(t->name);
    return t->ndim >= 2 && n > 7 && strcmp(t->name + n - 7, ".weight") == 0;
}

/* x rounded as format f stores it (rows = shape[0], K = the rest). */
static void round_weights(format f, const rm_st_tensor *t, float *x) {
    uint64_t rows = (uint64_t)t->shape[0], K = t->count / rows;
    if (f == F32) return;
    if (f == F16) {
        for (size_t i = 0; i < t->count; i++) x[i] = rm_q8_f16_to_f32(rm_q8_f32_to_f16(x[i]));
        return;
    }
    uint32_t block = f == Q8_COLUMN ? (uint32_t)K : f == Q8_B64_F16 ? 64 : 32;
    bool f16 = f == Q8_B32_F16 || f == Q8_B64_F16;
    uint64_t blocks = rm_q8_blocks(K, block);
    double *d = malloc(t->count * sizeof *d);
    int8_t *q = malloc(t->count);
    float *s = malloc(rows * blocks * sizeof *s);
    for (size_t i = 0; i < t->count; i++) d[i] = x[i];
    if (!rm_q8_quantize(d, rows, K, block, f16, q, s)) {
        fprintf(stderr, "%s: a scale beyond fp16\n", t->name);
        exit(1);
    }
    for (uint64_t r = 0; r < rows; r++)
        for (uint64_t k = 0; k < K; k++)
            x[r * K + k] = (float)q[r * K + k] * s[r * blocks + k / block];
    free(d);
    free(q);
    free(s);
}

static void check(repmlp_status s) {
    if (s != REPMLP_OK) {
        fprintf(stderr, "%s\n", repmlp_last_error());
        exit(1);
    }
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: repmlp-q8-accuracy FUSED INPUT EXPECTED [TMPDIR [FORMAT,...]]\n");
        return 2;
    }
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s/q8-accuracy-%d.safetensors", argc > 4 ? argv[4] : "/tmp",
             (int)getpid());
    rm_safetensors *fused, *in, *ex;
    check(rm_safetensors_open(argv[1], &fused));
    check(rm_safetensors_open(argv[2], &in));
    check(rm_safetensors_open(argv[3], &ex));
    const rm_st_tensor *xt = rm_safetensors_find(in, "input"),
                       *yt = rm_safetensors_find(ex, "output");
    if (!xt || !yt || xt->ndim != 4) {
        fprintf(stderr, "input (4 dims) or output tensor missing\n");
        return 1;
    }
    float *x = malloc(xt->count * sizeof *x);
    double *want = malloc(yt->count * sizeof *want);
    rm_st_tensor_to_f32(xt, x);
    rm_st_tensor_to_f64(yt, want);
    const char *arch, *config;
    check(rm_fused_read_metadata(fused, &arch, &config));
    for (format f = F32; f <= Q8_COLUMN; f++) {
        if (argc > 5 && !strstr(argv[5], format_names[f])) continue;
        rm_st_writer *w;
        check(rm_st_writer_create(&w));
        for (size_t i = 0; i < rm_safetensors_count(fused); i++) {
            const rm_st_tensor *t = rm_safetensors_tensor_at(fused, i);
            float *v = rm_malloc(t->count * sizeof *v);
            rm_st_tensor_to_f32(t, v);
            if (is_linear_weight(t)) round_weights(f, t, v);
            check(rm_st_writer_add_take(w, t->name, RM_DTYPE_F32, t->ndim, t->shape, v));
        }
        check(rm_fused_set_metadata(w, arch, config));
        check(rm_st_writer_write(w, tmp));
        rm_st_writer_destroy(w);
        double *y = NULL;
        int out_ndim;
        int64_t out_shape[4];
        check(ref_fused_forward(tmp, xt->shape, x, &y, &out_ndim, out_shape));
        ref_comparison c = ref_compare_f64(y, want, yt->count);
        printf("%s %.3g\n", format_names[f], c.rel);
        fflush(stdout);
        rm_free(y);
    }
    remove(tmp);
    rm_safetensors_close(fused);
    rm_safetensors_close(in);
    rm_safetensors_close(ex);
    free(x);
    free(want);
    return 0;
}
