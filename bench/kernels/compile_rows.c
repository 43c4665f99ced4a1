/* repmlp-compile-rows: every row of shaders/shader_list.h compiled on a compile-only context,
 * specialized for one realistic shape each (GEMM-core rows forced on a T224-sized GEMM or
 * 3x3 convolution), with the driver's statistics (internal: reaches below the API).
 *
 *   repmlp-compile-rows [--device SEL] [--json] [--row NAME]...
 *
 * One line per row: the row, its workgroup and lanes, registers, spills, scratch, shared memory,
 * occupancy, the hottest loop's mix and the compiler's latency estimates (--row: only the rows
 * named, e.g. to read one's disassembly with the driver's own dump); "skip: why" where the device
 * cannot take the row (a feature it lacks). Exits 1 when a row it can take fails to compile, or
 * when a row has no shape here (a new row must get one). */
#include <stdio.h>
#include <string.h>

#include "repmlp.h"
#include "core/context.h"
#include "core/error.h"
#include "core/pipeline_stats.h"
#include "ops/ops.h"

/* The shapes: T224 stage 2's FFN GEMM (14 x 14 tokens, 256 -> 1024 channels) and a 3x3
 * convolution of 64 channels on 56 x 56. */
#define GEMM_M 196
#define GEMM_K 256
#define GEMM_N 1024

static repmlp_status prepare_gemm_row(repmlp_context *ctx, const rm_gemm_kernel_variant *v,
                                      rm_dispatch *d) {
    bool w16 = v->weights == RM_GEMM_WEIGHTS_F16;
    if (v->kernel == RM_GEMM_KERNEL_GEMM) {
        rm_gemm_params p = rm_gemm_row_major(GEMM_M, GEMM_K, GEMM_N, 1);
        p.has_bias = true;
        p.force = v;
        p.w16 = w16;
        return rm_gemm_prepare(ctx, &p, d);
    }
    rm_conv_params p = {.N = 1,
                        .C = 64,
                        .H = 56,
                        .W = 56,
                        .O = 64,
                        .kh = 3,
                        .kw = 3,
                        .sh = 1,
                        .sw = 1,
                        .ph = 1,
                        .pw = 1,
                        .groups = 1,
                        .force = v,
                        .w16 = w16};
    p.ep.has_bias = true;
    p.ep.act = RM_ACT_RELU;
    return rm_conv_prepare(ctx, &p, d);
}

/* The other rows, one shape each; a row without one fails with a message saying so. */
static repmlp_status prepare_row(repmlp_context *ctx, rm_shader_id id, rm_dispatch *d) {
    for (uint32_t i = 0; i < rm_gemm_kernel_variant_count; i++)
        if (rm_gemm_kernel_variants[i].shader == id)
            return prepare_gemm_row(ctx, &rm_gemm_kernel_variants[i], d);
    switch (id) {
        case RM_SHADER_AVGPOOL: {
            rm_avgpool_params p = {1, 512, 7, 7, 7, 7};
            return rm_avgpool_prepare(ctx, &p, d);
        }
        case RM_SHADER_BROADCAST_ADD: {
            rm_broadcast_add_params p = {1, 64, 56, 56, 7, 7};
            return rm_broadcast_add_prepare(ctx, &p, d);
        }
        case RM_SHADER_MAXPOOL: {
            rm_maxpool_params p = {1, 64, 112, 112, 3, 2, 1};
            return rm_maxpool_prepare(ctx, &p, d);
        }
        case RM_SHADER_AFFINE: {
            rm_affine_params p = {1, 64, 56 * 56};
            return rm_affine_prepare(ctx, &p, d);
        }
        case RM_SHADER_GATHER: { /* (C, HW) -> (HW, C), a permute */
            rm_gather_params p = {.rows = 56 * 56,
                                  .cols = 64,
                                  .x_rows = rm_map_stride(1),
                                  .x_cols = rm_map_stride(56 * 56)};
            return rm_gather_prepare(ctx, &p, d);
        }
        case RM_SHADER_BATCHNORM: {
            rm_batchnorm_params p = {1, 256, 56 * 56, true};
            return rm_batchnorm_prepare(ctx, &p, d);
        }
        case RM_SHADER_SOFTMAX_TOPK: {
            rm_softmax_topk_params p = {32, 1000, 5};
            return rm_softmax_topk_prepare(ctx, &p, d);
        }
        case RM_SHADER_GLOBAL_PERCEPTRON: {
            rm_global_perceptron_params p = {1, 64, 56, 56, 14, 14, 512, RM_ACT_NONE};
            return rm_global_perceptron_prepare(ctx, &p, d);
        }
        case RM_SHADER_PREPROCESS_IMAGE: {
            rm_preprocess_image_params p = {
                .pre =
                    {480, 640, 224, 224, 3, 0, 1, {0.485, 0.456, 0.406}, {0.229, 0.224, 0.225}, 1},
                .format = VK_FORMAT_R8G8B8A8_UNORM,
                .width = 640,
                .height = 480};
            return rm_preprocess_image_prepare(ctx, &p, d);
        }
        default:
            return rm_fail(REPMLP_ERROR_INVALID_ARGUMENT,
                           "no shape for this row in bench/kernels/compile_rows.c");
    }
}

static void print_stats(const char *name, const repmlp_compile_stats *c, bool json) {
    const int64_t v[] = {c->vector_registers,
                         c->scalar_registers,
                         c->spilled_vector_registers,
                         c->spilled_scalar_registers,
                         c->scratch_bytes,
                         c->shared_bytes,
                         c->subgroups_per_simd,
                         c->instructions,
                         c->loop_instructions,
                         c->loop_fma,
                         c->loop_loads,
                         c->loop_vector_alu,
                         c->latency,
                         c->inverse_throughput};
    static const char *const keys[] = {"vgprs",
                                       "sgprs",
                                       "spilled_vgprs",
                                       "spilled_sgprs",
                                       "scratch_bytes",
                                       "lds_bytes",
                                       "subgroups_per_simd",
                                       "instructions",
                                       "loop_instructions",
                                       "loop_fma",
                                       "loop_loads",
                                       "loop_vector_alu",
                                       "latency",
                                       "inverse_throughput"};
    if (json) {
        printf("{\"row\": \"%s\", \"status\": \"ok\", \"workgroup\": [%u, %u, %u], "
               "\"subgroup_size\": %u, \"lanes_active\": %u, \"lanes\": %u",
               name, c->workgroup[0], c->workgroup[1], c->workgroup[2], c->subgroup_size,
               c->lanes_active, c->lanes);
        for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
            if (v[i] == REPMLP_NOT_REPORTED)
                printf(", \"%s\": null", keys[i]);
            else
                printf(", \"%s\": %lld", keys[i], (long long)v[i]);
        printf("}\n");
        return;
    }
    printf("%-24s wg %ux%ux%u lanes %u/%u", name, c->workgroup[0], c->workgroup[1], c->workgroup[2],
           c->lanes_active, c->lanes);
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
        if (v[i] == REPMLP_NOT_REPORTED)
            printf(" %s n/r", keys[i]);
        else
            printf(" %s %lld", keys[i], (long long)v[i]);
    printf("\n");
}

static void print_other(const char *name, const char *status, const char *why, bool json) {
    if (!json) {
        printf("%-24s %s: %s\n", name, status, why);
        return;
    }
    printf("{\"row\": \"%s\", \"status\": \"%s\", \"why\": \"", name, status);
    for (const char *s = why; *s; s++) {
        if (*s == '"' || *s == '\\') putchar('\\');
        if ((unsigned char)*s >= 0x20) putchar(*s);
    }
    printf("\"}\n");
}

int main(int argc, char **argv) {
    const char *device = NULL;
    bool json = false;
    const char *only[16];
    int only_count = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--device") == 0 && i + 1 < argc) {
            device = argv[++i];
        } else if (strcmp(argv[i], "--row") == 0 && i + 1 < argc && only_count < 16) {
            only[only_count++] = argv[++i];
        } else if (strcmp(argv[i], "--json") == 0) {
            json = true;
        } else {
            fprintf(stderr, "usage: repmlp-compile-rows [--device SEL] [--json] [--row NAME]...\n");
            return 2;
        }
    }
    repmlp_context_desc desc = {.size = sizeof(repmlp_context_desc),
                                .device = device,
                                .flags =
                                    REPMLP_CONTEXT_COMPILE_ONLY | REPMLP_CONTEXT_COMPILE_STATS};
    repmlp_context *ctx;
    repmlp_status st = repmlp_context_create(&desc, &ctx);
    if (st != REPMLP_OK) {
        fprintf(stderr, "repmlp-compile-rows: %s\n", repmlp_last_error());
        return 1;
    }
    if (!json) printf("device: %s\n", ctx->info.name);
    int failed = 0;
    for (int id = 0; id < RM_SHADER_COUNT; id++) {
        const char *name = rm_shader((rm_shader_id)id)->name;
        bool wanted = only_count == 0;
        for (int o = 0; o < only_count; o++) wanted = wanted || strcmp(only[o], name) == 0;
        if (!wanted) continue;
        rm_dispatch d;
        memset(&d, 0, sizeof d);
        st = prepare_row(ctx, (rm_shader_id)id, &d);
        if (st == REPMLP_OK) {
            repmlp_compile_stats c;
            if (d.pipeline->stats)
                c = *d.pipeline->stats;
            else
                rm_pipeline_stats_clear(&c);
            uint32_t width = c.subgroup_size ? c.subgroup_size : ctx->caps.plan_subgroup_size;
            rm_pipeline_stats_lanes(d.pipeline->spec, width, &c);
            print_stats(name, &c, json);
        } else if (st == REPMLP_ERROR_UNSUPPORTED) {
            print_other(name, "skip", repmlp_last_error(), json); /* the device lacks it */
        } else {
            print_other(name, "FAIL", repmlp_last_error(), json);
            failed = 1;
        }
    }
    repmlp_context_destroy(ctx);
    return failed;
}
