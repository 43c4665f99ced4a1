/* Private: device profiles (REPMLP_DEVICE_PROFILE) and the one place where everything the
 * library creates (pipelines and their layouts, buffers, bindings and views, dispatch grids) is
 * checked against ctx->caps before the driver sees it.
 *
 * A violation fails loudly: REPMLP_ERROR_UNSUPPORTED (REPMLP_ERROR_TOO_LARGE for sizes) with
 * one line naming the pipeline or op, the Vulkan limit, the value and the profile in effect,
 * e.g. "pipeline avgpool: binding 0 spans 134217732 bytes; the device binds at most 134217728
 * (maxStorageBufferRange, profile phone)"; test builds
 * (REPMLP_FAULT_INJECTION) also log it as an ERROR. */
#ifndef RM_LIMITS_H
#define RM_LIMITS_H

#include "core/dispatch.h"

/* A device profile: limits to plan against as if the device had no more (a testing aid). */
typedef struct rm_profile {
    const char *name;
    const char *summary; /* for the log */
    /* Upper limits are clamped to these (min), alignments raised to these (max); 0 leaves a
     * field as the device reports it. */
    rm_device_caps limits;
    bool storage_16bit, subgroup_arithmetic, timestamps; /* false: the feature is hidden */
    bool shader_float16, cooperative_matrix_nv;
    uint32_t plan_subgroup_size; /* 0: the device's subgroup size */
} rm_profile;

/* Reads REPMLP_DEVICE_PROFILE (unset or empty: *out = NULL) and REPMLP_OPERAND_PATH (unset or
 * empty: RM_OPERAND_UNDECIDED). An unknown value fails with REPMLP_ERROR_INVALID_ARGUMENT
 * naming the variable and the known values. */
repmlp_status rm_limits_read_env(const rm_profile **profile, rm_operand_path *operand_path);

/* Whether the profile (NULL: none) lets the device's 16-bit storage be used. */
bool rm_profile_allows_16bit(const rm_profile *p);

/* Clamps caps to the profile (NULL: none) and records its name; never raises a limit above
 * what the device reports, except the planning subgroup width. */
void rm_profile_apply(const rm_profile *p, rm_device_caps *caps);

/* A pipeline of this shader with this workgroup size (local_size[3]): binding counts per stage
 * and per set, push-constant bytes, workgroup size and invocations. */
repmlp_status rm_limits_check_pipeline(const repmlp_context *ctx, const rm_shader_info *info,
                                       const uint32_t *local_size);
/* The same test for the shader's layout alone, quietly: false with the reason in why. */
bool rm_limits_shader_fits(const repmlp_context *ctx, const rm_shader_info *info, char *why,
                           size_t why_size);

/* A buffer of size bytes (allocation limit; the largest device-local heap). */
repmlp_status rm_limits_check_buffer(const repmlp_context *ctx, uint64_t size);

/* Binding `index` of a dispatch of `info`: its offset alignment, and for a storage buffer its
 * range. (Texel views are cut to maxTexelBufferElements; an op checks what it reads with
 * rm_limits_check_texel_reads.) */
repmlp_status rm_limits_check_binding(const repmlp_context *ctx, const rm_shader_info *info,
                                      uint32_t index, const rm_binding *b, bool texel);

/* A kernel that reads `texels` elements through one uniform texel buffer view. */
repmlp_status rm_limits_check_texel_reads(const repmlp_context *ctx, const char *what,
                                          uint64_t texels);

/* A dispatch grid of x * y * z workgroups. */
repmlp_status rm_limits_check_groups(const repmlp_context *ctx, const char *what, uint64_t x,
                                     uint64_t y, uint64_t z);

#endif
