/* repmlp-vk: loading fused models and running them.
 *
 * A model (repmlp_model) is a fused weight file uploaded to a context's device; it is
 * immutable after loading and may be shared by several sessions, also across threads.
 * A session (repmlp_session) is a model prepared for one batch size: its activation memory
 * is planned once and its command buffer recorded once, so a run allocates, compiles and
 * updates nothing. A session is used by one thread at a time.
 *
 * Typical use:
 *     repmlp_model *m;   repmlp_model_load(ctx, "fused.safetensors", &m);
 *     repmlp_session *s; repmlp_session_create(m, batch, &s);   (fp32 arithmetic; see
 *                        repmlp_session_create_desc for the choice of fp16 arithmetic)
 *     repmlp_session_run(s, input, input_count, output, output_count);
 *     repmlp_session_destroy(s); repmlp_model_destroy(m); */
#ifndef REPMLP_MODEL_H
#define REPMLP_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "repmlp/context.h"
#include "repmlp/export.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct repmlp_model repmlp_model;

/* The architectures' names, as repmlp_model_arch returns them, repmlp_fuse_desc.arch and
 * repmlp-fuse --arch take them and a fused file's __metadata__ "arch" holds them
 * (docs/MODELS.md). */
#define REPMLP_ARCH_BLOCK_V1 "RepMLP"      /* the RepMLP block, version 1 */
#define REPMLP_ARCH_BLOCK_V2 "RepMLPBlock" /* the RepMLPNet block, version 2 */
#define REPMLP_ARCH_RESNET "RepMLPResNet"  /* the RepMLP-ResNet network */
#define REPMLP_ARCH_REPMLPNET "RepMLPNet"  /* the RepMLPNet network */
typedef struct repmlp_session repmlp_session;

#define REPMLP_MAX_DIMS 4
/* A tensor shape; dims[0] is the batch. */
typedef struct repmlp_shape {
    uint32_t ndim;
    int64_t dims[REPMLP_MAX_DIMS];
} repmlp_shape;

/* Loads a fused model file (written by repmlp-fuse) onto ctx: validates the file and its
 * config, checks every tensor's name and shape, and uploads the weights. Errors name the
 * file and the tensor or config key at fault. */
REPMLP_API repmlp_status repmlp_model_load(repmlp_context *ctx, const char *path,
                                           repmlp_model **out);

/* The same from a fused file's `size` bytes at `data` (e.g. repmlp_fuse_memory's result or an
 * embedded asset). The bytes are only read during the call: the caller may free them as soon
 * as it returns. Messages call the model "<memory>". Malformed bytes are REPMLP_ERROR_FORMAT
 * (or REPMLP_ERROR_TOO_LARGE for an oversized header), as from a file. */
REPMLP_API repmlp_status repmlp_model_load_memory(repmlp_context *ctx, const void *data,
                                                  size_t size, repmlp_model **out);

/* The preprocessing a training script recorded for the model's images (a fused file's
 * __metadata__ "preprocess", stored by repmlp-fuse --metadata preprocess=@P.json): an 8-bit
 * pixel value p becomes value_lo + p/255 (value_hi - value_lo); a picture that is not
 * source_h x source_w is first area-averaged to that size (each output pixel the mean of the
 * source area it covers); then (v - mean[c]) / std[c]; then, with bilinear, resized to the
 * model's input_h x input_w as PyTorch's interpolate (align_corners=False) does. 1-channel
 * models take a picture's luminance (stb_image's integer weights 77, 150, 29 / 256). */
typedef struct repmlp_preprocess {
    uint32_t source_h, source_w, input_h, input_w, channels;
    double value_lo, value_hi, mean[3], std[3];
    int bilinear;
} repmlp_preprocess;
/* REPMLP_ERROR_FORMAT, naming the file and key, when the file has none or it does not fit the
 * model. */
REPMLP_API repmlp_status repmlp_model_preprocess(const repmlp_model *model, repmlp_preprocess *out);
/* The same from a JSON text of that form (e.g. a training script's preprocess.json). */
REPMLP_API repmlp_status repmlp_model_preprocess_json(const repmlp_model *model, const char *json,
                                                      repmlp_preprocess *out);
/* The preprocessing on the host, in float64: `pixels` holds width x height pixels of
 * p->channels interleaved 8-bit values (gray, or RGB; 1-channel models take a picture's
 * luminance, computed by the caller as (77 R + 150 G + 29 B) >> 8); `out` receives the model's
 * input for the picture, channels x input_h x input_w floats. repmlp-run --image runs this;
 * repmlp_session_bind_image does the same on the device. */
REPMLP_API repmlp_status repmlp_preprocess_pixels(const repmlp_preprocess *p,
                                                  const unsigned char *pixels, uint32_t width,
                                                  uint32_t height, float *out);

/* What a fused file says about its model, read without a device (nor a context): its metadata
 * and config, checked as repmlp_model_load checks them; the tensors are not read. */
typedef struct repmlp_model_info {
    char arch[32];       /* the architecture, as repmlp_model_arch */
    repmlp_shape input;  /* as repmlp_model_input_shape: (1, C, H, W) */
    repmlp_shape output; /* as repmlp_model_output_shape: (1, C, H, W) or (1, classes) */
    uint32_t classes;    /* output[1] for a classifier (output (1, classes)); 0 otherwise */
    /* 1 when the file holds a valid "preprocess" entry (then in `preprocess`, checked against
     * the input shape as repmlp_model_preprocess does); 0 when it holds none. */
    int has_preprocess;
    repmlp_preprocess preprocess;
} repmlp_model_info;
/* Errors as repmlp_model_load's for the same file: REPMLP_ERROR_IO, REPMLP_ERROR_FORMAT (not
 * a fused file, a bad "preprocess" entry), REPMLP_ERROR_CONFIG, REPMLP_ERROR_UNSUPPORTED (an
 * architecture this version does not know). */
REPMLP_API repmlp_status repmlp_model_info_read(const char *path, repmlp_model_info *out);
/* The same from a fused file's bytes (only read during the call). */
REPMLP_API repmlp_status repmlp_model_info_read_memory(const void *data, size_t size,
                                                       repmlp_model_info *out);

/* Loads a *training-time* checkpoint (safetensors, the names of docs/MODELS.md, any float
 * dtype) of architecture `arch` with its constructor parameters `config_json`, to run it
 * unfused: every BatchNorm, conv branch and permute as its own op. For measuring what fusion
 * buys (repmlp-bench --unfused); results match the fused model's. Only the RepMLP version-1
 * block (REPMLP_ARCH_BLOCK_V1) runs unfused; another arch is REPMLP_ERROR_UNSUPPORTED. Other errors
 * as repmlp_model_load's; config_json that is not JSON is REPMLP_ERROR_FORMAT, a bad config
 * REPMLP_ERROR_CONFIG, both naming "<path>: config". */
REPMLP_API repmlp_status repmlp_model_load_unfused(repmlp_context *ctx, const char *arch,
                                                   const char *path, const char *config_json,
                                                   repmlp_model **out);

/* The device memory (bytes) repmlp_model_load(ctx, path) would take for the weights, without
 * loading anything to the device: the file is read and checked as a load does. */
REPMLP_API repmlp_status repmlp_model_memory_needed(repmlp_context *ctx, const char *path,
                                                    uint64_t *bytes);

/* Frees the model's device memory. All its sessions must be destroyed first. NULL is fine. */
REPMLP_API void repmlp_model_destroy(repmlp_model *model);

/* The architecture name recorded in the file (REPMLP_ARCH_*). */
REPMLP_API const char *repmlp_model_arch(const repmlp_model *model);

/* Shapes for a batch of one (dims[0] == 1): input (1, C, H, W), output per architecture. */
REPMLP_API repmlp_status repmlp_model_input_shape(const repmlp_model *model, repmlp_shape *out);
REPMLP_API repmlp_status repmlp_model_output_shape(const repmlp_model *model, repmlp_shape *out);

/* Bytes of device memory holding the weights. */
REPMLP_API uint64_t repmlp_model_weight_bytes(const repmlp_model *model);

/* Prepares the model for `batch` images (>= 1): plans activation memory, allocates it and
 * the input and output buffers, builds pipelines and records the command buffer. A batch
 * whose buffers cannot fit the device is refused here with a message, before allocating. */
REPMLP_API repmlp_status repmlp_session_create(repmlp_model *model, uint32_t batch,
                                               repmlp_session **out);

/* The arithmetic a session's GEMMs and convolutions may use. */
typedef enum repmlp_precision {
    /* fp32 products and sums (what repmlp_session_create gives): kernels that multiply in fp16
     * are never run, whatever the tuner measures or tuning data says. */
    REPMLP_PRECISION_FP32 = 0,
    /* Also kernels that multiply in fp16 and sum in fp32 (shaderFloat16, cooperative
     * matrices), where kernel tuning (REPMLP_CONTEXT_TUNE, or tuning data measured for such
     * sessions) finds them faster. Values beyond fp16's range (65504) become infinities in
     * them, so the session measures its error at creation on the caller's check input (see
     * repmlp_session_desc) and reports it (repmlp_session_precision_info). */
    REPMLP_PRECISION_FP16_ARITHMETIC = 1,
} repmlp_precision;

/* How to prepare a session (repmlp_session_create_desc). Zero-initialize, then set size. */
typedef struct repmlp_session_desc {
    uint32_t size;              /* sizeof(repmlp_session_desc): the struct may grow */
    uint32_t batch;             /* images per run, >= 1 */
    repmlp_precision precision; /* REPMLP_PRECISION_FP32 (0) unless chosen */
    /* With REPMLP_PRECISION_FP16_ARITHMETIC (required there, ignored otherwise): a batch of
     * the model's own, representative input (batch * per-image input size floats, as
     * repmlp_session_run takes). When the session runs any fp16-arithmetic kernel, creation
     * runs it on this input, and a session of fp32 arithmetic on the same input (created and
     * destroyed for the purpose: twice the activation memory meanwhile), and records the
     * difference. Data in the range the application feeds the model is what makes the number
     * mean something: random data in [-1, 1) does not overflow fp16 where real activations do. */
    const float *check_input;
    size_t check_input_count;
} repmlp_session_desc;

/* repmlp_session_create with a description: the same session for { size, batch } (fp32
 * arithmetic), or one that may run fp16-arithmetic kernels. A size smaller than the first
 * version's, an unknown precision, or with fp16 arithmetic a missing check input or one of
 * another size is REPMLP_ERROR_INVALID_ARGUMENT. */
REPMLP_API repmlp_status repmlp_session_create_desc(repmlp_model *model,
                                                    const repmlp_session_desc *desc,
                                                    repmlp_session **out);

/* The session's precision and, for REPMLP_PRECISION_FP16_ARITHMETIC, what it cost on the check
 * input: the largest |output - fp32 output| and that relative to the largest |fp32 output|
 * (infinite where an output is not finite and the fp32 one is). Both 0 when no op runs an
 * fp16-arithmetic kernel (fp16_ops 0: the tuner found none faster, or none could run). */
typedef struct repmlp_precision_info {
    repmlp_precision precision;
    uint32_t fp16_ops; /* GEMM/conv ops running a kernel that multiplies in fp16 */
    double max_abs_error, max_rel_error;
} repmlp_precision_info;
REPMLP_API repmlp_status repmlp_session_precision_info(const repmlp_session *session,
                                                       repmlp_precision_info *out);

/* Waits for the session's work and frees it. NULL is fine. */
REPMLP_API void repmlp_session_destroy(repmlp_session *session);

/* The device memory (bytes) repmlp_session_create(model, batch) would take: input, output,
 * the planned activations and, on devices whose memory is not host-visible, staging copies. */
REPMLP_API repmlp_status repmlp_session_memory_needed(repmlp_model *model, uint32_t batch,
                                                      uint64_t *bytes);

REPMLP_API uint32_t repmlp_session_batch(const repmlp_session *session);
/* Bytes of the planned activation arena (peak activation memory, excluding input/output). */
REPMLP_API uint64_t repmlp_session_activation_bytes(const repmlp_session *session);

/* Runs one batch: copies input (input_count floats, exactly batch * per-image input size) to
 * the device, runs, and copies the result to output (output_count floats, exact too). */
REPMLP_API repmlp_status repmlp_session_run(repmlp_session *session, const float *input,
                                            size_t input_count, float *output, size_t output_count);

/* The same in three steps, for callers that keep data on the device between runs: write the
 * session's input tensor, execute on whatever it holds, read its output tensor. */
REPMLP_API repmlp_status repmlp_session_write_input(repmlp_session *session, const float *input,
                                                    size_t input_count);
REPMLP_API repmlp_status repmlp_session_execute(repmlp_session *session);
REPMLP_API repmlp_status repmlp_session_read_output(repmlp_session *session, float *output,
                                                    size_t output_count);

/* For runs submitted with repmlp_session_submit (repmlp/vulkan.h): poll returns REPMLP_OK when
 * the last one is done (or none is in flight) and REPMLP_NOT_READY while it runs; wait blocks
 * up to timeout_ns (REPMLP_ERROR_TIMEOUT after that). poll also frees what retired recordings
 * held once their completions signalled (repmlp/vulkan.h, "Frames in flight"). */
REPMLP_API repmlp_status repmlp_session_poll(repmlp_session *session);
REPMLP_API repmlp_status repmlp_session_wait(repmlp_session *session, uint64_t timeout_ns);

/* ---- Kernel tuning (REPMLP_CONTEXT_TUNE, repmlp/context.h) ---- */

/* How a GEMM/conv op's kernel was chosen. */
typedef enum repmlp_tuning_source {
    REPMLP_TUNING_BUILTIN = 0,  /* not tuned: the built-in choice (budget spent, or a failure) */
    REPMLP_TUNING_MEASURED = 1, /* measured while this session was created */
    REPMLP_TUNING_KNOWN = 2,    /* the context knew the shape (loaded or measured before) */
} repmlp_tuning_source;

/* What became of one candidate kernel. */
typedef enum repmlp_tuning_outcome {
    REPMLP_CANDIDATE_TIMED = 0, /* ms is the median of its timed runs */
    /* Its first timed run took 1.5x the best median or more: ms is that run, not timed further */
    REPMLP_CANDIDATE_SLOW = 1,
    REPMLP_CANDIDATE_DOES_NOT_FIT = 2, /* beyond the device's limits for this op */
    /* Output off the built-in kernel's, NaN, or no pipeline: on the context's deny list (logged) */
    REPMLP_CANDIDATE_DENIED = 3,
    /* Not run: its form (algorithm, operand path, weight type, row tile) took 1.5x the best time
     * or more on 3 shapes measured earlier in this session, and never came within 1.25x */
    REPMLP_CANDIDATE_PRUNED = 4,
    /* Timed 5% faster than the built-in kernel, but the fastest such candidate was not when the
     * two were timed again alternately: the built-in kernel stays; ms is its first median */
    REPMLP_CANDIDATE_UNCONFIRMED = 5,
} repmlp_tuning_outcome;

#define REPMLP_TUNING_MAX_CANDIDATES 32

typedef struct repmlp_tuning_candidate {
    const char *kernel; /* the kernel variant, e.g. "gemm_texel_m8" (static storage) */
    double ms;          /* one run, device timestamps where the queue has them; < 0: none */
    uint32_t outcome;   /* repmlp_tuning_outcome */
} repmlp_tuning_candidate;

/* One GEMM or convolution of a session. Strings live as long as the session. */
typedef struct repmlp_tuning_node {
    uint32_t node;     /* its position in the session's op order */
    const char *label; /* e.g. "stages.1.0.repmlp_block.fc3" */
    const char *op;    /* "gemm" or "conv" (a 1x1 conv runs GEMM kernels) */
    uint32_t M, K, N, groups;
    uint32_t fp16_weights;
    const char *builtin;      /* the kernel the built-in heuristic picks */
    const char *winner;       /* the kernel the session runs */
    uint32_t source;          /* repmlp_tuning_source */
    uint32_t timestamps;      /* 1: times are device timestamps; 0: host time around a submission */
    uint32_t candidate_count; /* 0 unless source is REPMLP_TUNING_MEASURED */
    repmlp_tuning_candidate candidates[REPMLP_TUNING_MAX_CANDIDATES];
} repmlp_tuning_node;

/* Reports, per GEMM/conv op of the session, how its kernel was chosen: the candidates, their
 * times and the winner. On input *count is the capacity of nodes (nodes may be NULL with
 * *count 0 to query the number); on output it is the number of such ops (0 when the session
 * was created without tuning: no REPMLP_CONTEXT_TUNE and no loaded tuning data). If the
 * capacity was too small the first entries are filled and REPMLP_ERROR_TOO_LARGE is returned. */
REPMLP_API repmlp_status repmlp_session_tuning_info(const repmlp_session *session,
                                                    repmlp_tuning_node *nodes, uint32_t *count);

/* ---- Classifier results on the device ---- */

/* One of an image's most probable classes. */
typedef struct repmlp_class_score {
    uint32_t class_index; /* UINT32_MAX when the output row held only NaN */
    float probability;    /* softmax of the output row at class_index */
} repmlp_class_score;

/* Makes every later run of a classifier's session (output (N, classes)) also compute, on the
 * device, each image's softmax and its k most probable classes, best first (ties: the lower
 * class index first), so an application reads N * k pairs instead of the whole output; also in
 * recordings (repmlp_session_record). 1 <= k <= min(classes, 32); k = 0 turns it off. Records
 * the session's command buffer again (once, not per run); the top-k buffers of earlier
 * recordings into the application's command buffers live until their submissions completed
 * (repmlp/vulkan.h, "Frames in flight"). */
REPMLP_API repmlp_status repmlp_session_set_topk(repmlp_session *session, uint32_t k);
/* The pairs of the last run: count = batch * k, image-major. */
REPMLP_API repmlp_status repmlp_session_read_topk(repmlp_session *session, repmlp_class_score *out,
                                                  size_t count);

#ifdef __cplusplus
}
#endif

#endif
