/** @file
 * repmlp-vk: loading fused models, and what a fused file says about its model.
 *
 * A model (repmlp_model) is a fused weight file uploaded to a context's device; it is
 * immutable after loading and may be shared by several sessions (repmlp/session.h), also
 * across threads.
 *
 * Typical use:
 *     repmlp_model *m;   repmlp_model_load(ctx, "fused.safetensors", &m);
 *     repmlp_session *s; repmlp_session_create(m, batch, &s);
 *     repmlp_session_run(s, input, input_count, output, output_count);
 *     repmlp_session_destroy(s); repmlp_model_destroy(m); */
#ifndef REPMLP_MODEL_H
#define REPMLP_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "repmlp/context.h"
#include "repmlp/export.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A fused model loaded onto a context's device (opaque). */
typedef struct repmlp_model repmlp_model;

/* The architectures' names, as repmlp_model_arch returns them, repmlp_fuse_desc.arch and
 * repmlp-fuse --arch take them and a fused file's __metadata__ "arch" holds them
 * (docs/MODELS.md). */
#define REPMLP_ARCH_BLOCK_V1 "RepMLP"      /**< the RepMLP block, version 1 */
#define REPMLP_ARCH_BLOCK_V2 "RepMLPBlock" /**< the RepMLPNet block, version 2 */
#define REPMLP_ARCH_RESNET "RepMLPResNet"  /**< the RepMLP-ResNet network */
#define REPMLP_ARCH_REPMLPNET "RepMLPNet"  /**< the RepMLPNet network */

/** The most dimensions of a repmlp_shape. */
#define REPMLP_MAX_DIMS 4
/** A tensor shape; dims[0] is the batch. */
typedef struct repmlp_shape {
    uint32_t ndim;                 /**< dimensions used */
    int64_t dims[REPMLP_MAX_DIMS]; /**< ndim sizes, outermost first */
} repmlp_shape;

/** Loads a fused model file (written by repmlp-fuse) onto ctx: validates the file and its
 * config, checks every tensor's name and shape, and uploads the weights. Errors name the
 * file and the tensor or config key at fault. */
REPMLP_API repmlp_status repmlp_model_load(repmlp_context *ctx, const char *path,
                                           repmlp_model **out);

/** The same from a fused file's `size` bytes at `data` (e.g. repmlp_fuse_memory's result or an
 * embedded asset). The bytes are only read during the call: the caller may free them as soon
 * as it returns. Messages call the model "<memory>". Malformed bytes are REPMLP_ERROR_FORMAT
 * (or REPMLP_ERROR_TOO_LARGE for an oversized header), as from a file. */
REPMLP_API repmlp_status repmlp_model_load_memory(repmlp_context *ctx, const void *data,
                                                  size_t size, repmlp_model **out);

/** The preprocessing a training script recorded for the model's images (a fused file's
 * __metadata__ "preprocess", stored by `repmlp-fuse --metadata preprocess=@P.json`): an 8-bit
 * pixel value p becomes value_lo + p/255 (value_hi - value_lo); a picture that is not
 * source_h x source_w is first area-averaged to that size (each output pixel the mean of the
 * source area it covers); then (v - mean[c]) / std[c]; then, with bilinear, resized to the
 * model's input_h x input_w as PyTorch's interpolate (align_corners=False) does. 1-channel
 * models take a picture's luminance (stb_image's integer weights 77, 150, 29 / 256). */
typedef struct repmlp_preprocessing {
    uint32_t source_h; /**< the size pictures are area-averaged to: height */
    uint32_t source_w; /**< and width */
    uint32_t input_h;  /**< the model's input height */
    uint32_t input_w;  /**< and width */
    uint32_t channels; /**< 1 (luminance) or 3 (RGB) */
    double value_lo;   /**< what pixel value 0 becomes */
    double value_hi;   /**< what pixel value 255 becomes */
    double mean[3];    /**< subtracted per channel */
    double std[3];     /**< then divided by, per channel */
    bool bilinear;     /**< resize source_h x source_w to input_h x input_w bilinearly */
} repmlp_preprocessing;

/** The model's preprocessing (its fused file's "preprocess" entry).
 * @return REPMLP_ERROR_FORMAT, naming the file and key, when the file has none or it does not
 *         fit the model. */
REPMLP_API repmlp_status repmlp_model_preprocessing(const repmlp_model *model,
                                                    repmlp_preprocessing *out);
/** Parses preprocessing from a JSON text of that form (e.g. a training script's
 * preprocess.json) and checks it against the model's input, as repmlp_model_preprocessing
 * does. */
REPMLP_API repmlp_status repmlp_model_parse_preprocessing(const repmlp_model *model,
                                                          const char *json,
                                                          repmlp_preprocessing *out);
/** Applies the preprocessing on the host, in float64: `pixels` holds width x height pixels of
 * p->channels interleaved 8-bit values (gray, or RGB; 1-channel models take a picture's
 * luminance, computed by the caller as (77 R + 150 G + 29 B) >> 8); `out` receives the model's
 * input for the picture, channels x input_h x input_w floats. repmlp-run --image runs this;
 * repmlp_session_bind_image does the same on the device. */
REPMLP_API repmlp_status repmlp_preprocessing_apply(const repmlp_preprocessing *p,
                                                    const unsigned char *pixels, uint32_t width,
                                                    uint32_t height, float *out);

/** What a fused file says about its model, read without a device (nor a context): its
 * metadata and config, checked as repmlp_model_load checks them; the tensors are not read. */
typedef struct repmlp_model_info {
    char arch[32];       /**< the architecture, as repmlp_model_arch */
    repmlp_shape input;  /**< as repmlp_model_input_shape: (1, C, H, W) */
    repmlp_shape output; /**< as repmlp_model_output_shape: (1, C, H, W) or (1, classes) */
    uint32_t classes;    /**< output[1] for a classifier (output (1, classes)); 0 otherwise */
    /** The file holds a valid "preprocess" entry (then in `preprocessing`, checked against
     * the input shape as repmlp_model_preprocessing does); false when it holds none. */
    bool has_preprocessing;
    repmlp_preprocessing preprocessing; /**< valid with has_preprocessing */
} repmlp_model_info;

/** Reads a fused file's repmlp_model_info.
 * @return errors as repmlp_model_load's for the same file: REPMLP_ERROR_IO,
 *         REPMLP_ERROR_FORMAT (not a fused file, a bad "preprocess" entry),
 *         REPMLP_ERROR_CONFIG, REPMLP_ERROR_UNSUPPORTED (an architecture this version does not
 *         know). */
REPMLP_API repmlp_status repmlp_model_info_read(const char *path, repmlp_model_info *out);
/** The same from a fused file's bytes (only read during the call). */
REPMLP_API repmlp_status repmlp_model_info_read_memory(const void *data, size_t size,
                                                       repmlp_model_info *out);

/** The device memory (bytes) repmlp_model_load(ctx, path) would take for the weights, without
 * loading anything to the device: the file is read and checked as a load does. */
REPMLP_API repmlp_status repmlp_model_memory_needed(repmlp_context *ctx, const char *path,
                                                    uint64_t *bytes);

/** Frees the model's device memory. All its sessions must be destroyed first. NULL is fine. */
REPMLP_API void repmlp_model_destroy(repmlp_model *model);

/** The architecture name recorded in the file (REPMLP_ARCH_*); "" for NULL. */
REPMLP_API const char *repmlp_model_arch(const repmlp_model *model);

/** The input shape for a batch of one: (1, C, H, W). */
REPMLP_API repmlp_status repmlp_model_input_shape(const repmlp_model *model, repmlp_shape *out);
/** The output shape for a batch of one, per architecture: (1, C, H, W) or (1, classes). */
REPMLP_API repmlp_status repmlp_model_output_shape(const repmlp_model *model, repmlp_shape *out);

/** Bytes of device memory holding the weights. */
REPMLP_API uint64_t repmlp_model_weight_bytes(const repmlp_model *model);

#if defined(REPMLP_EXPERIMENTAL)
/** Experimental: loads a *training-time* checkpoint (safetensors, the names of
 * docs/MODELS.md, any float dtype) of architecture `arch` with its constructor parameters
 * `config_json`, to run it unfused: every BatchNorm, conv branch and permute as its own op.
 * For measuring what fusion buys (repmlp-bench --unfused); results match the fused model's.
 * Only the RepMLP version-1 block (REPMLP_ARCH_BLOCK_V1) runs unfused; another arch is
 * REPMLP_ERROR_UNSUPPORTED. Other errors as repmlp_model_load's; config_json that is not JSON
 * is REPMLP_ERROR_FORMAT, a bad config REPMLP_ERROR_CONFIG, both naming "<path>: config". */
REPMLP_API repmlp_status repmlp_model_load_unfused(repmlp_context *ctx, const char *arch,
                                                   const char *path, const char *config_json,
                                                   repmlp_model **out);
#endif

#ifdef __cplusplus
}
#endif

#endif
