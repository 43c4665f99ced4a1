/* repmlp-bench-kernels: the grouped GEMM kernel alone, below the public API (it links the
 * library's internals, as the tests do; docs/ARCHITECTURE.md "Tools").
 *
 *   repmlp-bench-kernels --gemm M N K [--groups G] [--tiles LIST] [--variant V] [--repeat R]
 *                        [--device SEL] [--json]
 *   repmlp-bench-kernels --conv N C H W O KS [...the same options]
 *       R dispatches in one submission, best of 5, as GFLOP/s (the practical peak through
 *       Vulkan on this device). --tiles 0,1,4,8 measures each row tile (0 = the runtime's
 *       choice) alternately in the same run, so they can be compared on a noisy machine;
 *       --variant storage|texel forces the operand path; --kernels NAME,... measures those
 *       GEMM kernel rows instead (shader names of rm_gemm_kernel_variants, e.g.
 *       gemm_m1,gemm_sgemv_m1), forced, alternately. The limits in effect are printed
 *       first (REPMLP_DEVICE_PROFILE applies). --conv times a KS x KS convolution (stride 1,
 *       same padding, G groups) of N x C x H x W to O channels the same way (--kernels then
 *       names conv rows); its GEMM is M = N*H*W, N = O/G, K = C/G*KS*KS.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "repmlp.h"
#include "core/buffer.h"
#include "core/platform.h"
#include "ops/ops.h"
#include "print_limits.h"

typedef struct options {
    const char *device;
    long gemm[3];
    long conv[6]; /* --conv N C H W O KS */
    long groups, repeat;
    int json;
    uint32_t tiles[4];
    int tile_count;
    rm_gemm_variant variant;
    const rm_gemm_kernel_variant *kernels[16]; /* --kernels: forced rows, measured instead */
    int kernel_count;
} options;

static int fail_status(repmlp_status st) {
    fprintf(stderr, "repmlp-bench-kernels: %s (%s)\n", repmlp_last_error(), repmlp_status_name(st));
    return 1;
}

#define TRY(call)                                                                                  \
    do {                                                                                           \
        repmlp_status st_ = (call);                                                                \
        if (st_ != REPMLP_OK) return fail_status(st_);                                             \
    } while (0)

static void usage(FILE *f) {
    fprintf(f, "usage: repmlp-bench-kernels --gemm M N K | --conv N C H W O KS [--groups G] "
               "[--tiles 0,1,4,8] "
               "[--variant storage|texel] [--kernels NAME,...] [--repeat R] [--device SEL] "
               "[--json]\n");
}

static long parse_long(const char *flag, const char *s) {
    char *end;
    long v = strtol(s, &end, 10);
    if (*end || v < 1 || v > 1L << 30) {
        fprintf(stderr, "repmlp-bench-kernels: %s: bad value '%s'\n", flag, s);
        exit(2);
    }
    return v;
}

static void parse_tiles(const char *s, options *o) {
    o->tile_count = 0;
    for (const char *c = s; *c; c++) {
        if (*c == ',') continue;
        if (!strchr("0148", *c) || (c[1] && c[1] != ',') || o->tile_count == 4) {
            fprintf(stderr, "repmlp-bench-kernels: --tiles: bad list '%s' (of 0, 1, 4, 8)\n", s);
            exit(2);
        }
        o->tiles[o->tile_count++] = (uint32_t)(*c - '0');
    }
    if (!o->tile_count) {
        fprintf(stderr, "repmlp-bench-kernels: --tiles: empty list\n");
        exit(2);
    }
}

static void parse_kernels(const char *s, options *o, rm_gemm_kernel kernel) {
    o->kernel_count = 0;
    for (const char *c = s; *c;) {
        size_t n = strcspn(c, ",");
        const rm_gemm_kernel_variant *found = NULL;
        for (uint32_t i = 0; i < rm_gemm_kernel_variant_count && !found; i++) {
            const char *name = rm_shader(rm_gemm_kernel_variants[i].shader)->name;
            if (rm_gemm_kernel_variants[i].kernel == kernel && strlen(name) == n &&
                strncmp(name, c, n) == 0)
                found = &rm_gemm_kernel_variants[i];
        }
        if (!found || o->kernel_count == 16) {
            fprintf(stderr,
                    "repmlp-bench-kernels: --kernels: '%.*s' is not a %s kernel (or over 16)\n",
                    (int)n, c, kernel == RM_GEMM_KERNEL_GEMM ? "gemm" : "conv");
            exit(2);
        }
        o->kernels[o->kernel_count++] = found;
        c += n + (c[n] == ',');
    }
}

static void parse(int argc, char **argv, options *o) {
    memset(o, 0, sizeof *o);
    o->groups = 1;
    o->repeat = 20;
    o->tile_count = 1;
    const char *kernels = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool has_value = i + 1 < argc;
        if (strcmp(a, "--gemm") == 0 && i + 3 < argc) {
            for (int k = 0; k < 3; k++) o->gemm[k] = parse_long(a, argv[++i]);
        } else if (strcmp(a, "--conv") == 0 && i + 6 < argc) {
            for (int k = 0; k < 6; k++) o->conv[k] = parse_long(a, argv[++i]);
        } else if (strcmp(a, "--groups") == 0 && has_value) {
            o->groups = parse_long(a, argv[++i]);
        } else if (strcmp(a, "--tiles") == 0 && has_value) {
            parse_tiles(argv[++i], o);
        } else if (strcmp(a, "--kernels") == 0 && has_value) {
            kernels = argv[++i];
        } else if (strcmp(a, "--variant") == 0 && has_value) {
            const char *v = argv[++i];
            o->variant = strcmp(v, "storage") == 0 ? RM_GEMM_STORAGE
                         : strcmp(v, "texel") == 0 ? RM_GEMM_TEXEL
                                                   : RM_GEMM_AUTO;
            if (o->variant == RM_GEMM_AUTO) {
                fprintf(stderr, "repmlp-bench-kernels: --variant: '%s' is not storage or texel\n",
                        v);
                exit(2);
            }
        } else if (strcmp(a, "--repeat") == 0 && has_value) {
            o->repeat = parse_long(a, argv[++i]);
        } else if (strcmp(a, "--device") == 0 && has_value) {
            o->device = argv[++i];
        } else if (strcmp(a, "--json") == 0) {
            o->json = 1;
        } else {
            usage(stderr);
            exit(2);
        }
    }
    if (!o->gemm[0] == !o->conv[0] ||
        (o->conv[0] && (o->conv[1] % o->groups || o->conv[4] % o->groups))) {
        usage(stderr);
        exit(2);
    }
    if (kernels) parse_kernels(kernels, o, o->conv[0] ? RM_GEMM_KERNEL_CONV : RM_GEMM_KERNEL_GEMM);
}

/* The convolution of --conv: stride 1, same padding, its output as large as its input. */
static rm_conv_params conv_params(const options *o) {
    const long *c = o->conv;
    uint32_t ks = (uint32_t)c[5];
    return (rm_conv_params){.N = (uint32_t)c[0],
                            .C = (uint32_t)c[1],
                            .H = (uint32_t)c[2],
                            .W = (uint32_t)c[3],
                            .O = (uint32_t)c[4],
                            .kh = ks,
                            .kw = ks,
                            .sh = 1,
                            .sw = 1,
                            .ph = ks / 2,
                            .pw = ks / 2,
                            .groups = (uint32_t)o->groups,
                            .ep = {.has_bias = true}};
}

static repmlp_status prepare(repmlp_context *ctx, const options *o, int t, rm_dispatch *d) {
    const rm_gemm_kernel_variant *force = o->kernel_count ? o->kernels[t] : NULL;
    uint32_t tile_m = o->kernel_count ? 0 : o->tiles[t];
    if (o->conv[0]) {
        rm_conv_params p = conv_params(o);
        p.variant = o->variant;
        p.force = force;
        p.tile_m = tile_m;
        return rm_conv_prepare(ctx, &p, d);
    }
    rm_gemm_params p = rm_gemm_row_major((uint32_t)o->gemm[0], (uint32_t)o->gemm[2],
                                         (uint32_t)o->gemm[1], (uint32_t)o->groups);
    p.has_bias = true;
    p.variant = o->variant;
    p.force = force;
    p.tile_m = tile_m;
    return rm_gemm_prepare(ctx, &p, d);
}

static int bench_gemm(repmlp_context *ctx, const options *o, const char *device) {
    uint32_t M = (uint32_t)o->gemm[0], N = (uint32_t)o->gemm[1], K = (uint32_t)o->gemm[2];
    uint32_t g = (uint32_t)o->groups;
    size_t nx = (size_t)M * K * g, ny = (size_t)M * N * g;
    const char *what = "gemm";
    if (o->conv[0]) { /* the same problem as a GEMM of M pixels, im2col'd K and N = O / g */
        rm_conv_params c = conv_params(o);
        /* Every element index within 32 bits (each factor is at most 2^30). */
        double in = (double)c.N * c.C * c.H * c.W, out = (double)c.N * c.O * c.H * c.W;
        if (in > UINT32_MAX || out > UINT32_MAX || (double)c.C * c.kh * c.kw > UINT32_MAX) {
            fprintf(stderr, "repmlp-bench-kernels: --conv: more than 2^32 elements\n");
            return 1;
        }
        M = c.N * c.H * c.W;
        N = c.O / g;
        K = c.C / g * c.kh * c.kw;
        nx = (size_t)c.N * c.C * c.H * c.W;
        ny = (size_t)M * c.O;
        what = "conv";
    }
    size_t nw = (size_t)rm_gemm_packed_count(g, N, K, 0, false);
    if (!nw) {
        fprintf(stderr, "repmlp-bench-kernels: the weight is too large\n");
        return 1;
    }
    /* Values do not change the timing; the weight buffer has the packed layout's size. */
    float *host = calloc(nx > nw ? nx : nw, sizeof(float));
    for (size_t i = 0; i < (nx > nw ? nx : nw); i++) host[i] = (float)(i % 7) * 0.125f;
    rm_buffer bx, bw, by;
    TRY(rm_buffer_create(ctx, nx * 4, RM_BUFFER_ACTIVATIONS, &bx));
    TRY(rm_buffer_create(ctx, nw * 4, RM_BUFFER_ACTIVATIONS, &bw));
    TRY(rm_buffer_create(ctx, ny * 4, RM_BUFFER_ACTIVATIONS, &by));
    TRY(rm_buffer_upload(ctx, &bx, 0, host, nx * 4));
    TRY(rm_buffer_upload(ctx, &bw, 0, host, nw * 4));
    free(host);
    /* Operands X, W (bias inside), -, Y; V, S, R unused (any buffer). */
    rm_binding x = {bx.buffer, 0, bx.size},
               ops[RM_GEMM_OPERANDS] = {
                   x, {bw.buffer, 0, bw.size}, x, {by.buffer, 0, by.size}, x, x, x};
    VkDescriptorPool pool;
    /* Candidates: the forced kernels, else the row tiles. */
    int count = o->kernel_count ? o->kernel_count : o->tile_count;
    TRY(rm_descriptor_pool_create(ctx, (uint32_t)count * RM_MAX_PARTS, &pool));
    rm_dispatch d[16];
    for (int t = 0; t < count; t++) {
        TRY(prepare(ctx, o, t, &d[t]));
        rm_binding b[RM_MAX_BINDINGS];
        TRY(rm_gemm_core_bindings(ctx, &d[t], what, ops, b));
        TRY(rm_dispatch_bind(ctx, pool, &d[t], b));
    }
    double best[16];
    for (int t = 0; t < 16; t++) best[t] = 1e30;
    for (int trial = 0; trial < 5; trial++)
        for (int t = 0; t < count; t++) {
            VkCommandBuffer cmd;
            TRY(rm_oneoff_begin(ctx, &cmd));
            for (long r = 0; r < o->repeat; r++) {
                if (r) rm_barrier_compute(ctx, cmd);
                rm_dispatch_record(ctx, cmd, &d[t], r ? &d[t] : NULL);
            }
            double t0 = rm_now_ms();
            TRY(rm_oneoff_submit(ctx, cmd));
            double ms = (rm_now_ms() - t0) / (double)o->repeat;
            if (ms < best[t]) best[t] = ms;
        }
    for (int t = 0; t < count; t++) {
        double gflops = 2.0 * M * N * K * g / (best[t] * 1e6);
        char tile[16] = "auto";
        if (o->kernel_count)
            snprintf(tile, sizeof tile, "forced");
        else if (o->tiles[t])
            snprintf(tile, sizeof tile, "%u", o->tiles[t]);
        if (o->json)
            printf("{\"device\": \"%s\", \"%s\": [%u, %u, %u], \"groups\": %u, "
                   "\"tile\": \"%s\", \"kernel\": \"%s\", \"ms\": %.4f, \"gflops\": %.3f}\n",
                   device, what, M, N, K, g, tile, rm_shader(d[t].pipeline->shader)->name, best[t],
                   gflops);
        else
            printf("%s M=%u N=%u K=%u groups=%u tile %s (%s): %.3f ms per dispatch, %.2f "
                   "GFLOP/s\n",
                   what, M, N, K, g, tile, rm_shader(d[t].pipeline->shader)->name, best[t], gflops);
        rm_dispatch_unbind(ctx, &d[t]);
    }
    rm_descriptor_pool_destroy(ctx, pool);
    rm_buffer_destroy(ctx, &bx);
    rm_buffer_destroy(ctx, &bw);
    rm_buffer_destroy(ctx, &by);
    return 0;
}

int main(int argc, char **argv) {
    options o;
    parse(argc, argv, &o);
    repmlp_context_desc desc = {.size = sizeof(repmlp_context_desc), .device = o.device};
    repmlp_context *ctx;
    TRY(repmlp_context_create(&desc, &ctx));
    repmlp_device_info info;
    repmlp_context_device(ctx, &info);
    /* The limits in effect (stdout stays one JSON object per line with --json). */
    if (!o.json) printf("device: %s\n", info.name);
    rm_print_limits(o.json ? stderr : stdout, ctx, "");
    int rc = bench_gemm(ctx, &o, info.name);
    repmlp_context_destroy(ctx);
    return rc;
}
