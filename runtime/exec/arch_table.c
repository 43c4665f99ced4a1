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

#ifdef REPMLP_TEST_HOOKS
const rm_arch *rm_arch_at(size_t i) {
    return i < ARCH_COUNT ? arch_table[i] : NULL;
}
#endif
