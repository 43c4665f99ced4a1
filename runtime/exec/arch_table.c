/* Architectures the runtime executes: one entry each. */
#include <string.h>

#include "exec/model.h"

extern const rm_arch rm_arch_block_v1, rm_arch_block_v2, rm_arch_resnet, rm_arch_repmlpnet,
    rm_arch_block_v1_train;

static const rm_arch *const arch_table[] = {
    &rm_arch_block_v1,  &rm_arch_block_v2,       &rm_arch_resnet,
    &rm_arch_repmlpnet, &rm_arch_block_v1_train,
};

const rm_arch *rm_arch_find(const char *name) {
    for (size_t i = 0; i < sizeof arch_table / sizeof arch_table[0]; i++)
        if (strcmp(arch_table[i]->name, name) == 0) return arch_table[i];
    return NULL;
}
