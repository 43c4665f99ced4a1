/* Private test hooks: settings that only the tests change, compiled in only with
 * -DREPMLP_TEST_HOOKS=ON (test builds; never in the installed libraries, whose contexts have no
 * such fields and read every hook as 0). Tests set them on the context they made, before use. */
#ifndef RM_TEST_HOOKS_H
#define RM_TEST_HOOKS_H

#include <stdbool.h>
#include <stdint.h>

typedef struct rm_test_hooks {
    /* > 0 cuts every GEMM-core weight of several panel blocks into about this many parts, as if
     * it outgrew maxStorageBufferRange, so the split runs on small models. */
    uint32_t weight_split_parts;
    /* true runs every global perceptron as the unfused ops, whatever its size. */
    bool unfuse_perceptrons;
} rm_test_hooks;

#ifdef REPMLP_TEST_HOOKS
#define rm_test_hooks_enabled() true
/* The hook `name` of a context (struct repmlp_context's test_hooks). */
#define rm_test_hook(ctx, name) ((ctx)->test_hooks.name)
#else
#define rm_test_hooks_enabled() false
#define rm_test_hook(ctx, name) ((void)(ctx), (rm_test_hooks){0}.name)
#endif

#endif
