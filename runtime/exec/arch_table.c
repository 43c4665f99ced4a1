/* Architectures the runtime executes: one per RM_ARCH_LIST entry, plus RepMLP-unfused. */
#include <string.h>

#include "exec/model.h"

#define RM_ARCH_ROW_(id, name) &rm_arch_##id,
static const rm_arch *const arch_table[] = {RM_ARCH_LIST(RM_ARCH_ROW_) & rm_arch_block_v1_train};
#undef RM_ARCH_ROW_
#define ARCH_COUNT (sizeof arch_table / sizeof arch_table[0])

const rm_arch *rm_arch_find(const char *name) {
    for (size_t i = 0; i < ARCH_COUNT; i++)
        if (strcmp(arch_table[i]->name, name) == 0) return arch_table[i];
    return NULL;
}

const rm_arch *rm_arch_at(size_t i) {
    return i < ARCH_COUNT ? arch_table[i] : NULL;
}

void rm_arch_shapes(const rm_arch *arch, const void *config, repmlp_shape *input,
                    repmlp_shape *output) {
    int64_t in[3], out[3];
    int out_ndim;
    arch->model->io_shape(config, in, &out_ndim, out);
    *input = (repmlp_shape){4, {1, in[0], in[1], in[2]}};
    if (out_ndim == 3)
        *output = (repmlp_shape){4, {1, out[0], out[1], out[2]}};
    else
        *output = (repmlp_shape){2, {1, out[0]}};
}
