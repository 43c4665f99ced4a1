/* repmlp_model_load_unfused: a training-time checkpoint run as it is, through the runtime-only
 * architectures (RepMLP-unfused, exec/arch_block_v1_train.c). */
#include <stdio.h>
#include <string.h>

#include "core/error.h"
#include "exec/model.h"
#include "io/json.h"

/* The fused architecture each unfused one stands for. */
static const struct {
    const char *arch, *unfused;
} unfused_archs[] = {{RM_ARCH_BLOCK_V1, RM_ARCH_BLOCK_V1_TRAIN}};

repmlp_status repmlp_model_load_unfused(repmlp_context *ctx, const char *arch, const char *path,
                                        const char *config_json, repmlp_model **out) {
    if (out) *out = NULL;
    if (!ctx || !arch || !path || !config_json || !out)
        return rm_fail(REPMLP_ERROR_INVALID_ARGUMENT, "repmlp_model_load_unfused: NULL argument");
    const char *unfused = NULL;
    for (size_t i = 0; i < sizeof unfused_archs / sizeof unfused_archs[0]; i++)
        if (strcmp(unfused_archs[i].arch, arch) == 0) unfused = unfused_archs[i].unfused;
    if (!unfused)
        return rm_fail(REPMLP_ERROR_UNSUPPORTED, "%s: arch '%s' cannot run unfused (only %s)", path,
                       arch, RM_ARCH_BLOCK_V1);
    char where[1100];
    snprintf(where, sizeof where, "%s: config", path);
    cJSON *config = NULL;
    repmlp_status s = rm_json_parse(config_json, strlen(config_json), where, &config);
    if (s == REPMLP_OK) s = rm_model_load_as(ctx, path, unfused, config, out);
    cJSON_Delete(config);
    return s;
}
