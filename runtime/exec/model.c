/* Loading a fused model file: metadata, config, tensors, one weight buffer. */
#include "exec/model.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "io/json.h"
#include "io/safetensors.h"
#include "graph/memplan.h"
#include "model/fused_format.h"
#include "model/weights_q8.h"

static uint64_t align_up(uint64_t x, uint64_t a) {
    return (x + a - 1) / a * a;
}

int rm_builder_weight(rm_builder *b, const char *name, int ndim, const int64_t *shape) {
    if (b->status != REPMLP_OK) return -1;
    const repmlp_model *model = b->model;
    for (size_t i = 0; i < model->weight_count; i++) {
        const rm_weight *w = &model->weights[i];
        if (w->ignored || strcmp(w->name, name) != 0) continue;
        bool same = w->ndim == ndim;
        for (int d = 0; same && d < ndim; d++) same = w->shape[d] == shape[d];
        if (!same) {
            char want[96], got[96];
            rm_st_format_shape(ndim, shape, want, sizeof want);
            rm_st_format_shape(w->ndim, w->shape, got, sizeof got);
            b->status = rm_fail(REPMLP_ERROR_FORMAT, "%s: tensor '%s': expected shape %s, got %s",
                                model->path, name, want, got);
            return -1;
        }
        if (b->used) b->used[i] = true;
        int id = rm_graph_value(b->graph, RM_VALUE_WEIGHT, w->device_count, w->offset);
        if (id >= 0) b->graph->values[id].weight = (int)i;
        return id;
    }
    b->status = rm_fail(REPMLP_ERROR_FORMAT, "%s: tensor '%s' is missing", model->path, name);
    return -1;
}

/* The F16 scales of 8-bit weight t, "<name>_scale" (NULL: none); *name gets the name. */
static const rm_st_tensor *q8_scales(const rm_safetensors *st, const rm_st_tensor *t, char *name,
                                     size_t size) {
    snprintf(name, size, "%s%s", t->name, RM_Q8_SCALE_SUFFIX);
    return rm_safetensors_find(st, name);
}

/* An I8 tensor t must be a GEMM/conv weight (2 to 4 dims) with its scales: F16 of shape
 * (rows, blocks of RM_Q8_BLOCK along K), K the product of the other dims (FUSED_FORMAT.md). */
static repmlp_status check_q8(const repmlp_model *m, const rm_safetensors *st,
                              const rm_st_tensor *t) {
    char name[1024], want[96], got[96];
    const rm_st_tensor *sc = q8_scales(st, t, name, sizeof name);
    if (t->ndim < 2 || t->count == 0)
        return rm_fail(REPMLP_ERROR_FORMAT,
                       "%s: tensor '%s': an I8 (8-bit) weight needs 2 to 4 dims and elements",
                       m->path, t->name);
    if (!sc)
        return rm_fail(REPMLP_ERROR_FORMAT,
                       "%s: tensor '%s' is I8 (8-bit) but its scales '%s' are missing", m->path,
                       t->name, name);
    if (sc->dtype != RM_DTYPE_F16)
        return rm_fail(REPMLP_ERROR_FORMAT, "%s: tensor '%s': dtype %s, 8-bit scales are F16",
                       m->path, name, rm_dtype_name(sc->dtype));
    const int64_t shape[2] = {t->shape[0],
                              (int64_t)rm_q8_blocks(t->count / (uint64_t)t->shape[0], RM_Q8_BLOCK)};
    if (sc->ndim != 2 || sc->shape[0] != shape[0] || sc->shape[1] != shape[1])
        return rm_fail(REPMLP_ERROR_FORMAT,
                       "%s: tensor '%s': expected shape %s (rows, blocks of %d), got %s", m->path,
                       name, rm_st_format_shape(2, shape, want, sizeof want), RM_Q8_BLOCK,
                       rm_st_format_shape(sc->ndim, sc->shape, got, sizeof got));
    return REPMLP_OK;
}

/* True for "<name>_scale" of an I8 tensor <name>: read with it, no tensor of its own. */
static bool is_q8_scales(const rm_safetensors *st, const rm_st_tensor *t) {
    size_t len = strlen(t->name), suffix = strlen(RM_Q8_SCALE_SUFFIX);
    if (len <= suffix || strcmp(t->name + len - suffix, RM_Q8_SCALE_SUFFIX) != 0) return false;
    char base[1024];
    if (len - suffix >= sizeof base) return false;
    memcpy(base, t->name, len - suffix);
    base[len - suffix] = '\0';
    const rm_st_tensor *w = rm_safetensors_find(st, base);
    return w && w->dtype == RM_DTYPE_I8;
}

/* The tensor table: names, shapes, counts (stored as they are until check_tensors says
 * which ones GEMMs read). */
static repmlp_status read_table(repmlp_model *m, rm_safetensors *st) {
    size_t n = rm_safetensors_count(st);
    m->weights = rm_calloc(n, sizeof *m->weights);
    if (!m->weights) return rm_fail(REPMLP_ERROR_OUT_OF_HOST_MEMORY, "out of host memory");
    for (size_t i = 0; i < n; i++) {
        const rm_st_tensor *t = rm_safetensors_tensor_at(st, i);
        rm_weight *w = &m->weights[i];
        m->weight_count = i + 1;
        w->name = rm_strdup(t->name);
        if (!w->name) return rm_fail(REPMLP_ERROR_OUT_OF_HOST_MEMORY, "out of host memory");
        size_t len = strlen(t->name), suffix = strlen(".num_batches_tracked");
        if (m->any_float && len > suffix &&
            strcmp(t->name + len - suffix, ".num_batches_tracked") == 0) {
            w->ignored = true; /* training bookkeeping; eval-mode BatchNorm never reads it */
            continue;
        }
        if (!m->any_float && is_q8_scales(st, t)) {
            w->ignored = true; /* read with its weight (check_q8) */
            continue;
        }
        if (t->dtype == RM_DTYPE_I8 && !m->any_float) {
            repmlp_status s = check_q8(m, st, t);
            if (s != REPMLP_OK) return s;
        } else if (t->dtype != RM_DTYPE_F32 && !m->any_float) {
            return rm_fail(REPMLP_ERROR_FORMAT,
                           "%s: tensor '%s': dtype %s, fused files hold F32 (and I8 weights)",
                           m->path, t->name, rm_dtype_name(t->dtype));
        }
        if (t->ndim < 1 || t->ndim > 4 || t->count == 0)
            return rm_fail(REPMLP_ERROR_FORMAT, "%s: tensor '%s': %d dims / %zu elements", m->path,
                           t->name, t->ndim, t->count);
        w->ndim = t->ndim;
        memcpy(w->shape, t->shape, (size_t)t->ndim * sizeof *w->shape);
        w->count = w->device_count = t->count;
    }
    if (n == 0) return rm_fail(REPMLP_ERROR_FORMAT, "%s: the file holds no tensors", m->path);
    return REPMLP_OK;
}

/* Records that tensor `part` is stored inside tensor `owner`'s block. */
static repmlp_status mark_inside(const repmlp_model *m, int part, int owner) {
    rm_weight *w = &m->weights[part];
    if ((w->inside && w->owner != owner) || w->pack_groups || w->bn_block)
        return rm_fail(REPMLP_ERROR_FORMAT, "%s: tensor '%s' is read in two different ways",
                       m->path, w->name);
    w->inside = true;
    w->owner = owner;
    w->device_count = 0;
    return REPMLP_OK;
}

/* Records that tensor wi is the (groups*NO, K) weight of a GEMM-core node, with bias tensor bi
 * (-1: none) packed into its blocks. */
static repmlp_status mark_packed(const repmlp_model *m, int wi, int bi, uint32_t groups,
                                 uint32_t NO, uint32_t K, uint32_t run) {
    rm_weight *w = &m->weights[wi];
    if (w->inside || w->bn_block ||
        (w->pack_groups &&
         (w->pack_groups != groups || w->pack_no != NO || w->pack_k != K || w->pack_run != run ||
          w->has_pack_bias != (bi >= 0) || (bi >= 0 && w->pack_bias != bi))))
        return rm_fail(REPMLP_ERROR_FORMAT, "%s: tensor '%s' is read as two different GEMM weights",
                       m->path, w->name);
    bool half = m->ctx && m->ctx->caps.fp16_weights;
    uint64_t packed = rm_gemm_packed_count(groups, NO, K, run, half);
    if (packed == 0 || (uint64_t)groups * NO * K != w->count)
        return rm_fail(REPMLP_ERROR_TOO_LARGE, "%s: tensor '%s' cannot be packed as %u x (%u, %u)",
                       m->path, w->name, groups, NO, K);
    if (bi >= 0 && m->weights[bi].count != (uint64_t)groups * NO)
        return rm_fail(REPMLP_ERROR_FORMAT, "%s: tensor '%s' is not a bias of %u values", m->path,
                       m->weights[bi].name, groups * NO);
    w->pack_groups = groups;
    w->pack_no = NO;
    w->pack_k = K;
    w->pack_run = run;
    w->has_pack_bias = bi >= 0;
    w->pack_bias = bi;
    /* fp16: two halves per float of the buffer (blocks are multiples of 256 bytes). */
    w->half = half;
    w->device_count = half ? packed / 2 : packed;
    return bi >= 0 ? mark_inside(m, bi, wi) : REPMLP_OK;
}

/* The model tensor that value `id` of g is, or -1. */
static int tensor_of(const rm_graph *g, int id) {
    return id >= 0 && g->values[id].kind == RM_VALUE_WEIGHT ? g->values[id].weight : -1;
}

/* The model tensor a GEMM-core node (gemm, conv) reads as its weight, or -1 for other nodes. */
static int core_weight(const rm_graph *g, const rm_node *n) {
    bool core = n->kind == RM_NODE_GEMM || n->kind == RM_NODE_CONV;
    return core ? tensor_of(g, n->args[RM_GEMM_W]) : -1;
}

/* A BatchNorm node's four tensors go into one block behind gamma (its binding 1). */
static repmlp_status mark_batchnorm(repmlp_model *m, const rm_graph *g, const rm_node *n) {
    int t[4];
    for (int i = 0; i < 4; i++) t[i] = tensor_of(g, n->args[1 + i]);
    uint32_t C = n->params.batchnorm.C;
    for (int i = 0; i < 4; i++)
        if (t[i] < 0 || m->weights[t[i]].count != C)
            return rm_fail(REPMLP_ERROR_FORMAT, "%s: node %s reads no BatchNorm tensors", m->path,
                           n->label);
    rm_weight *gamma = &m->weights[t[0]];
    if (gamma->inside || gamma->pack_groups ||
        (gamma->bn_block && memcmp(gamma->bn_parts, t + 1, sizeof gamma->bn_parts) != 0))
        return rm_fail(REPMLP_ERROR_FORMAT, "%s: tensor '%s' is read in two different ways",
                       m->path, gamma->name);
    gamma->bn_block = true;
    memcpy(gamma->bn_parts, t + 1, sizeof gamma->bn_parts);
    gamma->device_count = 4ull * C;
    for (int i = 1; i < 4; i++) {
        repmlp_status st = mark_inside(m, t[i], t[0]);
        if (st != REPMLP_OK) return st;
    }
    return REPMLP_OK;
}

/* Marks the weights that GEMM-core nodes of graph g read as packed (with their biases), and
 * the BatchNorm tensors as blocks. */
static repmlp_status mark_gemm_weights(repmlp_model *m, const rm_graph *g) {
    for (int i = 0; i < g->node_count; i++) {
        const rm_node *n = &g->nodes[i];
        if (n->kind == RM_NODE_BATCHNORM) {
            repmlp_status st = mark_batchnorm(m, g, n);
            if (st != REPMLP_OK) return st;
        }
        if (n->kind == RM_NODE_GLOBAL_PERCEPTRON) { /* W1, b1, W2, b2 through one window */
            int first = tensor_of(g, n->args[1]);
            for (int k = 1; k <= 4; k++) {
                int t = tensor_of(g, n->args[k]);
                if (t < 0 || m->weights[t].inside || m->weights[t].pack_groups ||
                    m->weights[t].bn_block)
                    return rm_fail(REPMLP_ERROR_FORMAT,
                                   "%s: node %s reads a tensor in two different ways", m->path,
                                   n->label);
                m->weights[t].window_with = first + 1;
            }
        }
        if (n->kind != RM_NODE_GEMM && n->kind != RM_NODE_CONV) continue;
        int wi = core_weight(g, n), bi = tensor_of(g, n->args[RM_GEMM_BIAS]);
        if (wi < 0)
            return rm_fail(REPMLP_ERROR_FORMAT, "%s: node %s reads no tensor as its weight",
                           m->path, n->label);
        repmlp_status st;
        if (n->kind == RM_NODE_GEMM) {
            const rm_gemm_params *p = &n->params.gemm;
            st = mark_packed(m, wi, p->ep.has_bias || p->has_bias ? bi : -1, p->groups, p->NO, p->K,
                             p->has_addend ? p->addend_run : 0);
        } else {
            const rm_conv_params *p = &n->params.conv;
            st = mark_packed(m, wi, p->ep.has_bias ? bi : -1, p->groups, p->O / p->groups,
                             p->C / p->groups * p->kh * p->kw, 0);
        }
        if (st != REPMLP_OK) return st;
    }
    return REPMLP_OK;
}

/* Refuses a tensor with a NaN or Inf: it would run and give wrong (even finite) results. */
static repmlp_status check_finite(const repmlp_model *m, const rm_weight *w, const float *x) {
    for (uint64_t i = 0; i < w->count; i++)
        if (!isfinite(x[i]))
            return rm_fail(REPMLP_ERROR_FORMAT,
                           "%s: tensor '%s' holds a non-finite value (%g) at element %llu", m->path,
                           w->name, (double)x[i], (unsigned long long)i);
    return REPMLP_OK;
}

/* Tensor i as F32 into dst (8-bit weights dequantized, their blocks checked), checked to be
 * finite. */
static repmlp_status read_f32(const repmlp_model *m, rm_safetensors *st, int i, float *dst) {
    const rm_st_tensor *t = rm_safetensors_tensor_at(st, (size_t)i);
    if (t->dtype == RM_DTYPE_I8) { /* check_q8 passed: its scales exist, F16, of the shape */
        char name[1024];
        const rm_st_tensor *sc = q8_scales(st, t, name, sizeof name);
        uint64_t rows = (uint64_t)t->shape[0];
        return rm_q8_dequantize(t->data, sc->data, rows, t->count / rows, RM_Q8_BLOCK, m->path,
                                t->name, dst);
    }
    rm_st_tensor_to_f32(t, dst);
    return check_finite(m, &m->weights[i], dst);
}

/* Tensor w's device form at dst: packed GEMM blocks, a BatchNorm block, or as it is. */
static repmlp_status fill_tensor(const repmlp_model *m, rm_safetensors *st, int i, float *dst,
                                 float *scratch) {
    const rm_weight *w = &m->weights[i];
    repmlp_status s = REPMLP_OK;
    if (w->bn_block) {
        s = read_f32(m, st, i, dst);
        for (int k = 0; s == REPMLP_OK && k < 3; k++)
            s = read_f32(m, st, w->bn_parts[k], dst + (uint64_t)(k + 1) * w->count);
        return s;
    }
    if (!w->pack_groups) return read_f32(m, st, i, dst);
    float *bias = w->has_pack_bias ? scratch + w->count : NULL;
    s = read_f32(m, st, i, scratch);
    if (s == REPMLP_OK && bias) s = read_f32(m, st, w->pack_bias, bias);
    if (s != REPMLP_OK) return s;
    if (!w->half) {
        rm_gemm_pack(scratch, bias, w->pack_groups, w->pack_no, w->pack_k, w->pack_run, dst);
        return REPMLP_OK;
    }
    float *block = scratch + w->count + (uint64_t)w->pack_groups * w->pack_no;
    if (!rm_gemm_pack_f16(scratch, bias, w->pack_groups, w->pack_no, w->pack_k, w->pack_run, block,
                          (uint16_t *)dst))
        return rm_fail(
            REPMLP_ERROR_UNSUPPORTED,
            "%s: tensor '%s' or its bias holds a value beyond fp16's range (65504): load "
            "it without REPMLP_CONTEXT_FP16_WEIGHTS",
            m->path, w->name);
    return REPMLP_OK;
}

/* Where the next tensor goes: buffer index and bytes used in it. */
typedef struct rm_placement {
    uint32_t buffer;
    uint64_t used;
} rm_placement;

/* Places tensor i (if it has device storage) at the next aligned offset, in the next buffer
 * when the allocation limit would be passed; *largest: the biggest packing scratch. */
static repmlp_status place(repmlp_model *m, int i, uint64_t limit, uint64_t alignment,
                           const char *profile, rm_placement *at, uint64_t *largest) {
    rm_weight *w = &m->weights[i];
    if (w->ignored || w->inside) return REPMLP_OK;
    if (w->device_count > ((uint64_t)1 << 60) / sizeof(float))
        return rm_fail(REPMLP_ERROR_TOO_LARGE, "%s: weights too large", m->path);
    uint64_t bytes = w->device_count * sizeof(float);
    if (limit && bytes > limit)
        return rm_fail(REPMLP_ERROR_TOO_LARGE,
                       "%s: tensor '%s' takes %llu bytes on the device; the device allocates "
                       "at most %llu (maxMemoryAllocationSize, profile %s)",
                       m->path, w->name, (unsigned long long)bytes, (unsigned long long)limit,
                       profile);
    if (limit && at->used && at->used + bytes > limit) { /* the next buffer */
        m->weight_buffer_bytes[at->buffer++] = at->used;
        at->used = 0;
    }
    w->buffer = at->buffer;
    w->offset = at->used;
    at->used = align_up(at->used + bytes, alignment); /* both below 2^61: no wrap */
    if (at->used > ((uint64_t)1 << 61))
        return rm_fail(REPMLP_ERROR_TOO_LARGE, "%s: weights too large", m->path);
    /* scratch: the tensor and its bias as F32, and for fp16 one block's F32 rows */
    uint64_t need =
        w->count + (uint64_t)w->pack_groups * w->pack_no +
        (w->half ? rm_gemm_block_rows(w->pack_k, w->pack_run, false) * RM_GEMM_PANEL : 0);
    if (w->pack_groups && need > *largest) *largest = need;
    return REPMLP_OK;
}

/* Places every tensor with device storage at aligned offsets in as few buffers as the
 * allocation limit allows (each tensor wholly in one), and with host non-NULL fills one host
 * block holding the buffers one after another: converted to F32 (and checked to be finite),
 * GEMM weights packed with their biases, BatchNorm tensors in blocks. With host NULL: only the
 * layout and weight_bytes. */
static repmlp_status read_tensors(repmlp_model *m, rm_safetensors *st, uint64_t alignment,
                                  float **host) {
    uint64_t limit = m->ctx ? m->ctx->caps.max_allocation_size : 0;
    const char *profile = m->ctx ? m->ctx->caps.profile : "none";
    m->weight_buffer_bytes = rm_calloc(m->weight_count, sizeof *m->weight_buffer_bytes);
    if (!m->weight_buffer_bytes)
        return rm_fail(REPMLP_ERROR_OUT_OF_HOST_MEMORY, "%s: out of host memory", m->path);
    uint64_t total = 0, largest = 0;
    rm_placement next = {0, 0};
    /* Window groups first, each into one buffer; then every other tensor. */
    for (size_t i = 0; i < m->weight_count; i++) {
        if (m->weights[i].window_with != (int)i + 1) continue;
        uint64_t group = 0;
        for (size_t j = 0; j < m->weight_count; j++)
            if (m->weights[j].window_with == (int)i + 1)
                group = align_up(group + m->weights[j].device_count * sizeof(float), alignment);
        if (limit && next.used && next.used + group > limit) {
            m->weight_buffer_bytes[next.buffer++] = next.used;
            next.used = 0;
        }
        for (size_t j = 0; j < m->weight_count; j++) {
            if (m->weights[j].window_with != (int)i + 1) continue;
            repmlp_status s = place(m, (int)j, limit, alignment, profile, &next, &largest);
            if (s != REPMLP_OK) return s;
        }
    }
    for (size_t i = 0; i < m->weight_count; i++) {
        if (m->weights[i].window_with) continue;
        repmlp_status s = place(m, (int)i, limit, alignment, profile, &next, &largest);
        if (s != REPMLP_OK) return s;
    }
    uint32_t buffer = next.buffer;
    uint64_t used = next.used;
    m->weight_buffer_bytes[buffer] = used;
    m->weight_buffer_count = buffer + 1;
    for (uint32_t b = 0; b < m->weight_buffer_count; b++) {
        if (m->weight_buffer_bytes[b] > ((uint64_t)1 << 61) - total)
            return rm_fail(REPMLP_ERROR_TOO_LARGE, "%s: weights too large", m->path);
        total += m->weight_buffer_bytes[b];
    }
    size_t bytes = (size_t)total;
    if ((uint64_t)bytes != total || largest > SIZE_MAX / sizeof(float))
        return rm_fail(REPMLP_ERROR_TOO_LARGE, "%s: weights too large", m->path);
    m->weight_bytes = total;
    if (!host) return REPMLP_OK; /* the layout alone (repmlp_model_memory_needed) */
    *host = rm_calloc(1, bytes);
    float *scratch = largest ? rm_malloc((size_t)largest * sizeof(float)) : NULL;
    if (!*host || (largest && !scratch)) {
        rm_free(scratch);
        return rm_fail(REPMLP_ERROR_OUT_OF_HOST_MEMORY, "%s: out of host memory", m->path);
    }
    repmlp_status s = REPMLP_OK;
    for (size_t i = 0; s == REPMLP_OK && i < m->weight_count; i++) {
        const rm_weight *w = &m->weights[i];
        if (w->ignored || w->inside) continue;
        uint64_t at = w->offset;
        for (uint32_t b = 0; b < w->buffer; b++) at += m->weight_buffer_bytes[b];
        s = fill_tensor(m, st, (int)i, *host + at / sizeof(float), scratch);
    }
    rm_free(scratch);
    return s;
}

repmlp_status rm_model_build(const repmlp_model *m, uint32_t batch, bool *used, rm_graph *g) {
    rm_graph_init(g);
    rm_builder b = {m, g, REPMLP_OK, used};
    repmlp_status st = m->arch->build(&b, batch);
    /* Kernels read fp16 weights with their own variants. */
    for (int i = 0; st == REPMLP_OK && i < g->node_count; i++) {
        rm_node *n = &g->nodes[i];
        int wi = core_weight(g, n);
        if (wi < 0 || !m->weights[wi].half) continue;
        if (n->kind == RM_NODE_GEMM) n->params.gemm.w16 = true;
        if (n->kind == RM_NODE_CONV) n->params.conv.w16 = true;
    }
    if (st == REPMLP_OK) st = rm_graph_finish(g);
    if (st != REPMLP_OK) rm_graph_free(g);
    return st;
}

/* Builds a batch-1 graph once so that missing, mis-shaped and unexpected tensors are reported
 * at load time rather than at the first session, and to learn which tensors GEMMs read. */
static repmlp_status check_tensors(repmlp_model *m) {
    bool *used = rm_calloc(m->weight_count, sizeof *used);
    if (!used) return rm_fail(REPMLP_ERROR_OUT_OF_HOST_MEMORY, "out of host memory");
    rm_graph g;
    repmlp_status st = rm_model_build(m, 1, used, &g);
    if (st == REPMLP_OK) {
        st = mark_gemm_weights(m, &g);
        rm_graph_free(&g);
    }
    for (size_t i = 0; st == REPMLP_OK && i < m->weight_count; i++)
        if (!used[i] && !m->weights[i].ignored)
            st = rm_fail(REPMLP_ERROR_FORMAT, "%s: tensor '%s' is unexpected for arch %s", m->path,
                         m->weights[i].name, m->arch->name);
    rm_free(used);
    return st;
}

/* Everything that needs no device: the config of `arch_name` (from `where`), the tensor
 * table and the check that the architecture takes exactly these tensors. *host receives the
 * packed weights. */
static repmlp_status parse_as(repmlp_model *m, rm_safetensors *st, uint64_t alignment, float **host,
                              const char *arch_name, const cJSON *config, const char *arch_where,
                              const char *config_where) {
    m->arch = rm_arch_find(arch_name);
    if (!m->arch)
        return rm_fail(REPMLP_ERROR_UNSUPPORTED, "%s: '%s' cannot be run by this version",
                       arch_where, arch_name);
    repmlp_status s = rm_model_arch_parse(m->arch->model, config, config_where, &m->config);
    if (s != REPMLP_OK) return s;
    s = read_table(m, st);
    if (s == REPMLP_OK) s = check_tensors(m);
    if (s == REPMLP_OK) s = read_tensors(m, st, alignment, host);
    return s;
}

/* The same for a fused file: arch and config come from its __metadata__. */
static repmlp_status parse(repmlp_model *m, rm_safetensors *st, uint64_t alignment, float **host) {
    const char *arch_name, *config_text;
    repmlp_status s = rm_fused_read_metadata(st, &arch_name, &config_text);
    if (s != REPMLP_OK) return s;
    char arch_where[512], config_where[512];
    snprintf(arch_where, sizeof arch_where, "%s: __metadata__ key 'arch'", m->path);
    snprintf(config_where, sizeof config_where, "%s: __metadata__ key 'config'", m->path);
    cJSON *config = NULL;
    s = rm_json_parse(config_text, strlen(config_text), config_where, &config);
    if (s == REPMLP_OK)
        s = parse_as(m, st, alignment, host, arch_name, config, arch_where, config_where);
    cJSON_Delete(config);
    return s;
}

/* The file a model is read from: `path`, or (data non-NULL) `size` bytes named `path`. */
typedef struct model_source {
    const char *path;
    const void *data;
    size_t size;
} model_source;

/* Loads `src` as arch/config when arch is non-NULL, else as a fused file. With plan_bytes
 * non-NULL nothing is loaded: *plan_bytes gets the device memory the weights would take. */
static repmlp_status open_model(repmlp_context *ctx, model_source src, const char *arch,
                                const cJSON *config, repmlp_model **out, uint64_t *plan_bytes) {
    const char *path = src.path;
    if (!ctx || !path || (!out && !plan_bytes))
        return rm_fail(REPMLP_ERROR_INVALID_ARGUMENT, "repmlp_model_load: NULL argument");
    if (out) *out = NULL;
    repmlp_status s = rm_check_alive(ctx);
    if (s != REPMLP_OK) return s;
    repmlp_model *m = rm_calloc(1, sizeof *m);
    if (!m) return rm_fail(REPMLP_ERROR_OUT_OF_HOST_MEMORY, "out of host memory");
    m->ctx = ctx;
    m->path = rm_strdup(path);
    m->any_float = arch != NULL;
    if (!m->path) {
        rm_free(m);
        return rm_fail(REPMLP_ERROR_OUT_OF_HOST_MEMORY, "out of host memory");
    }
    rm_safetensors *st = NULL;
    s = src.data ? rm_safetensors_open_memory(src.data, src.size, path, &st)
                 : rm_safetensors_open(path, &st);
    uint64_t alignment = rm_caps_binding_alignment(&ctx->caps);
    /* A compile-only context keeps the tensor table and layout, never the weights. */
    bool compile_only = (ctx->flags & REPMLP_CONTEXT_COMPILE_ONLY) != 0;
    float *host = NULL, **fill = plan_bytes || compile_only ? NULL : &host;
    if (s == REPMLP_OK && arch) {
        char where[512];
        snprintf(where, sizeof where, "%s: config", path);
        s = parse_as(m, st, alignment, fill, arch, config, "arch", where);
    } else if (s == REPMLP_OK) {
        s = parse(m, st, alignment, fill);
    }
    if (plan_bytes) {
        if (s == REPMLP_OK) *plan_bytes = m->weight_bytes;
        rm_safetensors_close(st);
        repmlp_model_destroy(m);
        return s;
    }
    const char *pre = s == REPMLP_OK ? rm_safetensors_metadata(st, "preprocess") : NULL;
    if (pre && !(m->preprocess = rm_strdup(pre)))
        s = rm_fail(REPMLP_ERROR_OUT_OF_HOST_MEMORY, "out of host memory");
    if (s == REPMLP_OK && !compile_only) {
        m->weight_buffers = rm_calloc(m->weight_buffer_count, sizeof *m->weight_buffers);
        if (!m->weight_buffers) s = rm_fail(REPMLP_ERROR_OUT_OF_HOST_MEMORY, "out of host memory");
    }
    uint64_t at = 0;
    for (uint32_t b = 0; s == REPMLP_OK && !compile_only && b < m->weight_buffer_count; b++) {
        uint64_t bytes = m->weight_buffer_bytes[b];
        s = rm_buffer_create(ctx, bytes, RM_BUFFER_WEIGHTS, &m->weight_buffers[b]);
        if (s != REPMLP_OK) s = rm_fail_prefix(s, "%s: weights", path);
        if (s == REPMLP_OK)
            s = rm_buffer_upload(ctx, &m->weight_buffers[b], 0, (const char *)host + at, bytes);
        at += bytes;
    }
    rm_free(host);
    rm_safetensors_close(st);
    if (s != REPMLP_OK) {
        repmlp_model_destroy(m);
        return s;
    }
    *out = m;
    return REPMLP_OK;
}

repmlp_status repmlp_model_load(repmlp_context *ctx, const char *path, repmlp_model **out) {
    return open_model(ctx, (model_source){path, NULL, 0}, NULL, NULL, out, NULL);
}

repmlp_status repmlp_model_load_memory(repmlp_context *ctx, const void *data, size_t size,
                                       repmlp_model **out) {
    if (out) *out = NULL;
    if (!data && size)
        return rm_fail(REPMLP_ERROR_INVALID_ARGUMENT, "repmlp_model_load_memory: NULL argument");
    /* An empty buffer is still read from memory (and refused as too short). */
    static const unsigned char empty[1];
    return open_model(ctx, (model_source){"<memory>", data ? data : empty, size}, NULL, NULL, out,
                      NULL);
}

repmlp_status repmlp_model_memory_needed(repmlp_context *ctx, const char *path, uint64_t *bytes) {
    if (!bytes)
        return rm_fail(REPMLP_ERROR_INVALID_ARGUMENT, "repmlp_model_memory_needed: NULL argument");
    return open_model(ctx, (model_source){path, NULL, 0}, NULL, NULL, NULL, bytes);
}

repmlp_status rm_model_load_as(repmlp_context *ctx, const char *path, const char *arch,
                               const cJSON *config, repmlp_model **out) {
    if (!arch || !config)
        return rm_fail(REPMLP_ERROR_INVALID_ARGUMENT, "rm_model_load_as: NULL argument");
    return open_model(ctx, (model_source){path, NULL, 0}, arch, config, out, NULL);
}

void repmlp_model_destroy(repmlp_model *m) {
    if (!m) return;
    for (uint32_t b = 0; m->weight_buffers && b < m->weight_buffer_count; b++)
        rm_buffer_destroy(m->ctx, &m->weight_buffers[b]);
    rm_free(m->weight_buffers);
    rm_free(m->weight_buffer_bytes);
    for (size_t i = 0; i < m->weight_count; i++) rm_free(m->weights[i].name);
    rm_free(m->weights);
    rm_free(m->config);
    rm_free(m->preprocess);
    rm_free(m->path);
    rm_free(m);
}

const char *repmlp_model_arch(const repmlp_model *m) {
    return m ? m->arch->name : "";
}

repmlp_status repmlp_model_input_shape(const repmlp_model *m, repmlp_shape *out) {
    if (!m || !out) return rm_fail(REPMLP_ERROR_INVALID_ARGUMENT, "input_shape: NULL argument");
    repmlp_shape unused;
    rm_model_arch_shapes(m->arch->model, m->config, out, &unused);
    return REPMLP_OK;
}

repmlp_status repmlp_model_output_shape(const repmlp_model *m, repmlp_shape *out) {
    if (!m || !out) return rm_fail(REPMLP_ERROR_INVALID_ARGUMENT, "output_shape: NULL argument");
    repmlp_shape unused;
    rm_model_arch_shapes(m->arch->model, m->config, &unused, out);
    return REPMLP_OK;
}

uint64_t repmlp_model_weight_bytes(const repmlp_model *m) {
    return m ? m->weight_bytes : 0;
}

#ifdef REPMLP_TEST_HOOKS
repmlp_status rm_model_check_file(const char *path, uint32_t batch) {
    repmlp_model *m = rm_calloc(1, sizeof *m);
    if (!m) return rm_fail(REPMLP_ERROR_OUT_OF_HOST_MEMORY, "out of host memory");
    m->path = rm_strdup(path);
    rm_safetensors *st = NULL;
    float *host = NULL;
    repmlp_status s = m->path ? rm_safetensors_open(path, &st)
                              : rm_fail(REPMLP_ERROR_OUT_OF_HOST_MEMORY, "out of host memory");
    if (s == REPMLP_OK) s = parse(m, st, 256, &host);
    rm_safetensors_close(st);
    rm_free(host);
    if (s == REPMLP_OK) {
        rm_graph g;
        uint64_t arena = 0;
        s = rm_model_build(m, batch, NULL, &g);
        if (s == REPMLP_OK) {
            s = rm_memplan(&g, 256, &arena);
            rm_graph_free(&g);
        }
    }
    repmlp_model_destroy(m);
    return s;
}
#endif
