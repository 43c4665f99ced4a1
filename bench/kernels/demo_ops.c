/* repmlp-demo: runs the three core shaders once on the default Vulkan device (or --device SEL)
 * and prints the device, each shader's max error against the C reference, and the time. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compare.h"
#include "repmlp/context.h"
#include "core/buffer.h"
#include "core/platform.h"
#include "ops/ops.h"
#include "ops_ref.h"

static void fill(float *x, size_t n, unsigned seed) {
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1664525u + 1013904223u;
        x[i] = (float)(seed >> 8) / 16777216.0f * 2.0f - 1.0f;
    }
}

static double rel_error(const float *got, const double *want, size_t n) {
    return ref_compare_f32(got, want, n).rel; /* +Inf on any NaN/Inf */
}

#define CHECK(call)                                                                                \
    do {                                                                                           \
        repmlp_status st_ = (call);                                                                \
        if (st_ != REPMLP_OK) {                                                                    \
            fprintf(stderr, "repmlp-demo: %s: %s\n", repmlp_status_name(st_),                      \
                    repmlp_last_error());                                                          \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)

/* Runs one dispatch on freshly bound buffers and returns the wall time of the submit. */
static double run(repmlp_context *ctx, rm_dispatch *d, const rm_binding *bindings) {
    VkDescriptorPool pool;
    CHECK(rm_descriptor_pool_create(ctx, 1, &pool));
    CHECK(rm_dispatch_bind(ctx, pool, d, bindings));
    VkCommandBuffer cmd;
    CHECK(rm_oneoff_begin(ctx, &cmd));
    rm_dispatch_record(ctx, cmd, d, NULL);
    rm_barrier_to_host(ctx, cmd);
    double t0 = rm_now_ms();
    CHECK(rm_oneoff_submit(ctx, cmd));
    double t = rm_now_ms() - t0;
    rm_dispatch_unbind(ctx, d);
    rm_descriptor_pool_destroy(ctx, pool);
    return t;
}

static rm_buffer upload(repmlp_context *ctx, const float *x, size_t n) {
    rm_buffer b;
    CHECK(rm_buffer_create(ctx, n * 4, RM_BUFFER_ACTIVATIONS, &b));
    CHECK(rm_buffer_upload(ctx, &b, 0, x, n * 4));
    return b;
}

static rm_binding bind(const rm_buffer *b) {
    rm_binding r = {b->buffer, 0, b->size};
    return r;
}

int main(int argc, char **argv) {
    const char *device = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--device") == 0 && i + 1 < argc)
            device = argv[++i];
        else {
            fprintf(stderr, "usage: repmlp-demo [--device SEL]\n");
            return 2;
        }
    }
    repmlp_context_desc desc = {.size = sizeof(repmlp_context_desc), .device = device};
    repmlp_context *ctx;
    CHECK(repmlp_context_create(&desc, &ctx));
    repmlp_device_info info;
    CHECK(repmlp_context_device(ctx, &info));
    printf("device: %s\n", info.name);

    /* The shapes of a RepMLP-Res50 stage-3 block: C=64, 14x14 map, 7x7 partitions, g=8. */
    const uint32_t N = 2, C = 64, H = 14, W = 14, h = 7, w = 7, g = 8;
    size_t nx = (size_t)N * C * H * W, nv = (size_t)N * C * (H / h) * (W / w);
    float *x = malloc(nx * 4), *out = malloc(nx * 4), *v = malloc(nv * 4);
    double *want = malloc(nx * 8);
    fill(x, nx, 1);
    fill(v, nv, 2);
    int failed = 0;

    rm_buffer bx = upload(ctx, x, nx), bp = upload(ctx, v, nv);
    rm_dispatch d;
    rm_avgpool_params pool = {N, C, H, W, h, w};
    CHECK(rm_avgpool_prepare(ctx, &pool, &d));
    rm_binding b2[2] = {bind(&bx), bind(&bp)};
    double ms = run(ctx, &d, b2);
    CHECK(rm_buffer_download(ctx, &bp, 0, out, nv * 4));
    ref_avgpool(x, N, C, H, W, h, w, want);
    double err = rel_error(out, want, nv);
    failed |= err > 1e-5;
    printf("avgpool        %ux%ux%ux%u /%ux%u : max rel error %.2e, %.3f ms\n", N, C, H, W, h, w,
           err, ms);

    CHECK(rm_buffer_upload(ctx, &bp, 0, v, nv * 4));
    rm_broadcast_add_params add = {N, C, H, W, h, w};
    CHECK(rm_broadcast_add_prepare(ctx, &add, &d));
    ms = run(ctx, &d, b2);
    CHECK(rm_buffer_download(ctx, &bx, 0, out, nx * 4));
    ref_broadcast_add(x, v, N, C, H, W, h, w, want);
    err = rel_error(out, want, nx);
    failed |= err > 1e-5;
    printf("broadcast_add  %ux%ux%ux%u +%ux%u : max rel error %.2e, %.3f ms\n", N, C, H, W, H / h,
           W / w, err, ms);

    const uint32_t M = N * (H / h) * (W / w), K = C * h * w / g, NO = C * h * w / g;
    size_t nw = (size_t)g * NO * K, nout = (size_t)M * g * NO;
    float *wt = malloc(nw * 4), *bias = malloc((size_t)g * NO * 4), *y = malloc(nout * 4);
    double *ywant = malloc(nout * 8);
    fill(wt, nw, 3);
    fill(bias, (size_t)g * NO, 4);
    float *packed = malloc(rm_gemm_packed_count(g, NO, K, 0, false) * 4);
    rm_gemm_pack(wt, bias, g, NO, K, 0, packed); /* the bias lives in the weight block */
    rm_buffer bw = upload(ctx, packed, rm_gemm_packed_count(g, NO, K, 0, false));
    free(packed);
    rm_buffer bxg = upload(ctx, x, (size_t)M * g * K), by;
    CHECK(rm_buffer_create(ctx, nout * 4, RM_BUFFER_ACTIVATIONS, &by));
    rm_gemm_params gp = rm_gemm_row_major(M, K, NO, g);
    gp.has_bias = true;
    CHECK(rm_gemm_prepare(ctx, &gp, &d));
    rm_binding ops[RM_GEMM_OPERANDS] = {bind(&bxg), bind(&bw),  bind(&bxg), bind(&by),
                                        bind(&bxg), bind(&bxg), bind(&bxg)};
    rm_binding b4[RM_MAX_BINDINGS];
    CHECK(rm_gemm_core_bindings(ctx, &d, "gemm", ops, b4));
    ms = run(ctx, &d, b4);
    CHECK(rm_buffer_download(ctx, &by, 0, y, nout * 4));
    ref_gemm(x, wt, bias, M, K, NO, g, 0, ywant);
    err = rel_error(y, ywant, nout);
    failed |= err > 1e-5;
    printf("gemm           M=%u K=%u N=%u g=%u : max rel error %.2e, %.3f ms (%.2f GFLOP/s)\n", M,
           K, NO, g, err, ms, 2.0 * M * K * NO * g / (ms * 1e6));

    rm_buffer_destroy(ctx, &bx);
    rm_buffer_destroy(ctx, &bp);
    rm_buffer_destroy(ctx, &bw);
    rm_buffer_destroy(ctx, &bxg);
    rm_buffer_destroy(ctx, &by);
    repmlp_context_destroy(ctx);
    free(x);
    free(out);
    free(v);
    free(want);
    free(wt);
    free(bias);
    free(y);
    free(ywant);
    printf("result: %s\n", failed ? "FAIL (error above 1e-5)" : "PASS (all errors below 1e-5)");
    return failed;
}
