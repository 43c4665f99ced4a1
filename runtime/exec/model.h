/* Private: a loaded model and the architecture table that turns its config into graphs. */
#ifndef RM_MODEL_H
#define RM_MODEL_H

#include <cjson/cJSON.h>

#include "repmlp/model.h"
#include "core/buffer.h"
#include "graph/graph.h"
#include "model/arch_registry.h"

typedef struct rm_weight {
    char *name;
    int ndim;
    int64_t shape[4];
    uint64_t count;
    /* A GEMM or conv weight is stored packed (rm_gemm_pack) as a (groups*NO, K) matrix with
     * its bias (tensor pack_bias when has_pack_bias) inside the block; pack_groups is 0 for
     * the others, stored as they are. */
    uint32_t pack_groups, pack_no, pack_k, pack_run; /* pack_run: the addend run */
    bool has_pack_bias;
    int pack_bias;
    /* A BatchNorm's gamma holds [gamma | beta | mean | var] (tensors bn_parts). */
    bool bn_block;
    int bn_parts[3];
    /* Stored inside tensor `owner`'s block (a packed bias, a BatchNorm part): no own storage. */
    bool inside;
    int owner;
    uint64_t device_count; /* floats in its weight buffer */
    bool ignored;          /* not loaded (num_batches_tracked of a training-time file) */
    bool half;             /* packed as fp16 (REPMLP_CONTEXT_FP16_WEIGHTS) */
    /* Read with other tensors through one binding (a window, e.g. the fused global
     * perceptron's four): window_with - 1 is the group's first tensor, 0 none. A group is
     * placed together in one buffer. */
    int window_with;
    uint32_t buffer; /* which of the model's weight buffers holds it */
    uint64_t offset; /* bytes in that buffer */
} rm_weight;

struct rm_builder;

/* One entry per architecture that the runtime can execute: a row of the model layer's
 * registry (config, shapes) and the graph builder. exec/arch_table.c lists them, one per
 * RM_ARCH_LIST entry (rm_arch_<id>) plus RepMLP-unfused. */
typedef struct rm_arch {
    const char *name;           /* RM_ARCH_*; model->name except for RepMLP-unfused */
    const rm_model_arch *model; /* its config and shapes */
    /* Builds the graph for `batch` into b->graph, taking weights with rm_builder_weight. */
    repmlp_status (*build)(struct rm_builder *b, uint32_t batch);
} rm_arch;

#define RM_ARCH_DECLARE_(id, name) extern const rm_arch rm_arch_##id;
RM_ARCH_LIST(RM_ARCH_DECLARE_)
#undef RM_ARCH_DECLARE_
extern const rm_arch rm_arch_block_v1_train;

/* NULL when unknown. */
const rm_arch *rm_arch_find(const char *name);
#ifdef REPMLP_TEST_HOOKS
/* The runtime's rows (RM_ARCH_LIST order, then RepMLP-unfused); NULL past the end. For the
 * tests that walk the table (test hook: core/test_hooks.h). */
const rm_arch *rm_arch_at(size_t i);
#endif

struct repmlp_model {
    repmlp_context *ctx;
    const rm_arch *arch;
    void *config;
    char *path;
    rm_weight *weights;
    size_t weight_count;
    /* The weights in as few buffers as the device's allocation limit allows, each tensor wholly
     * in one (so a model larger than maxMemoryAllocationSize still loads). */
    rm_buffer *weight_buffers;
    uint64_t *weight_buffer_bytes;
    uint32_t weight_buffer_count;
    uint64_t weight_bytes; /* all of them */
    bool any_float;        /* tensors may be F16/BF16/F64 (converted); fused files hold F32 only */
    char *preprocess;      /* __metadata__ "preprocess" (JSON text) or NULL; model/preprocess.c */
};

/* Loads a safetensors file without fused metadata as architecture `arch` with `config` (any
 * float dtype, converted to F32): e.g. a training-time file as "RepMLP-unfused" for
 * benchmarks. */
repmlp_status rm_model_load_as(repmlp_context *ctx, const char *path, const char *arch,
                               const cJSON *config, repmlp_model **out);

#ifdef REPMLP_TEST_HOOKS
/* Loads a fused file as repmlp_model_load does, minus the device: metadata, config, tensors,
 * then builds and memory-plans the graph for `batch`. For the fuzzers (test hook:
 * core/test_hooks.h). */
repmlp_status rm_model_check_file(const char *path, uint32_t batch);
#endif

/* Builds the model's graph for `batch` into g (initialised here; freed on failure) and
 * computes value lifetimes. `used` (weight_count flags, or NULL) marks the weights taken. */
repmlp_status rm_model_build(const repmlp_model *model, uint32_t batch, bool *used, rm_graph *g);

/* State of one graph build. Errors are sticky: the first one is kept in `status` and later
 * calls return -1, so a builder can chain calls and check once. */
typedef struct rm_builder {
    const repmlp_model *model;
    rm_graph *graph;
    repmlp_status status;
    bool *used; /* non-NULL at load time: marks the weights the graph takes */
} rm_builder;

/* The value id of weight `name`, after checking its shape; -1 (and b->status set, with a
 * message naming the file and tensor) if it is missing or mis-shaped. */
int rm_builder_weight(rm_builder *b, const char *name, int ndim, const int64_t *shape);

#endif
