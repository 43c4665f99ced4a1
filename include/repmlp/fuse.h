/** @file
 * repmlp-vk: fusing a training-time checkpoint into the deploy model the runtime loads
 * (what repmlp-fuse does, for applications that fuse themselves). The model semantics and the
 * fusion rules are in docs/MODELS.md; the fused file's layout in docs/FUSED_FORMAT.md. */
#ifndef REPMLP_FUSE_H
#define REPMLP_FUSE_H

#include <stddef.h>
#include <stdint.h>

#include "repmlp/export.h"
#include "repmlp/model.h"
#include "repmlp/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/** The number of architectures the fuser takes. */
REPMLP_API size_t repmlp_fuse_arch_count(void);
/** Name of architecture i (NULL past the end); *description (if non-NULL) gets a line about
 * it. */
REPMLP_API const char *repmlp_fuse_arch_name(size_t i, const char **description);
/** The number of named presets (each implies its architecture). */
REPMLP_API size_t repmlp_fuse_preset_count(void);
/** Name of preset i (NULL past the end); *arch (if non-NULL) gets its architecture. */
REPMLP_API const char *repmlp_fuse_preset_name(size_t i, const char **arch);

/** How repmlp_fuse_desc.weights stores the GEMM/conv weights (every other tensor is F32). */
typedef enum repmlp_fuse_weights {
    REPMLP_FUSE_WEIGHTS_F32 = 0, /**< F32, as fused (the default) */
    /** 8-bit, symmetric, blocks of 32 along K with an fp16 scale each (docs/FUSED_FORMAT.md):
     * about 0.27x the file size; the loader dequantizes to the fp32/fp16 weight path. */
    REPMLP_FUSE_WEIGHTS_Q8 = 1
} repmlp_fuse_weights;

/** What to fuse (repmlp_fuse_file, repmlp_fuse_memory, repmlp_fuse_to_model). Start from
 * REPMLP_FUSE_DESC_INIT. */
typedef struct repmlp_fuse_desc {
    /** sizeof(repmlp_fuse_desc) in the application's header, as repmlp_context_desc.size. */
    uint32_t size;
    const char *arch;   /**< REPMLP_ARCH_* (repmlp/model.h); NULL with a preset */
    const char *preset; /**< NULL, or a preset name: its config, which config_json overrides */
    /** NULL, or a JSON object of the architecture's constructor parameters
     * (docs/MODELS.md). */
    const char *config_json;
    /** Names config_json's source in messages (e.g. a file name; NULL: "config"). */
    const char *config_where;
    /** Extra __metadata__ string entries of the fused file (e.g. "preprocess", read back with
     * repmlp_model_preprocessing); the fused format's own keys are refused. */
    const char *const *metadata_keys;
    const char *const *metadata_values; /**< metadata_count values for metadata_keys */
    size_t metadata_count;              /**< entries of metadata_keys and metadata_values */
    /** How GEMM/conv weights are stored (REPMLP_FUSE_WEIGHTS_F32, the default, when the
     * caller's struct predates the field). */
    repmlp_fuse_weights weights;
} repmlp_fuse_desc;

/** A repmlp_fuse_desc with its size set and nothing chosen yet. */
#define REPMLP_FUSE_DESC_INIT REPMLP_SIZED_INIT(repmlp_fuse_desc)

/** Fuses the training-time state_dict in `train_path` (safetensors, the names of
 * docs/MODELS.md) into `fused_path`, written atomically: on any error nothing is left there,
 * and repmlp_last_error() names the file and the tensor or config key at fault. A bad arch or
 * preset name, or a preset of another arch, is REPMLP_ERROR_INVALID_ARGUMENT. */
REPMLP_API repmlp_status repmlp_fuse_file(const repmlp_fuse_desc *desc, const char *train_path,
                                          const char *fused_path);

/** The same from memory to memory: `train_size` bytes at `train_data` (a training-time
 * safetensors file's contents, only read during the call; messages call it "<memory>") become
 * a fused file's bytes in *fused_data (free with repmlp_free) and *fused_size, byte for byte
 * what repmlp_fuse_file writes. On failure *fused_data is NULL and *fused_size 0. */
REPMLP_API repmlp_status repmlp_fuse_memory(const repmlp_fuse_desc *desc, const void *train_data,
                                            size_t train_size, void **fused_data,
                                            size_t *fused_size);

/** Fuses `train_size` bytes at `train_data` as repmlp_fuse_memory does and loads the result
 * onto ctx as repmlp_model_load_memory does, without a file in between. *model is NULL on
 * failure. */
REPMLP_API repmlp_status repmlp_fuse_to_model(repmlp_context *ctx, const repmlp_fuse_desc *desc,
                                              const void *train_data, size_t train_size,
                                              repmlp_model **model);

#ifdef __cplusplus
}
#endif

#endif
