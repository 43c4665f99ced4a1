/* Private: the shared set-up of one-invocation-per-element shaders. */
#ifndef RM_ELEMENTWISE_H
#define RM_ELEMENTWISE_H

#include "core/dispatch.h"

/* Gets the shader's pipeline with a 64-wide workgroup, a grid covering `total` invocations
 * and the given push constants. */
repmlp_status rm_elementwise_prepare(repmlp_context *ctx, rm_shader_id shader, uint64_t total,
                                     const void *push, uint32_t push_size, rm_dispatch *out);
/* The same with the shader's own specialization constants 3.. (`extra`, `extra_count`). */
repmlp_status rm_elementwise_prepare_spec(repmlp_context *ctx, rm_shader_id shader, uint64_t total,
                                          const uint32_t *extra, uint32_t extra_count,
                                          const void *push, uint32_t push_size, rm_dispatch *out);

#endif
