/* Loading a fused model file: metadata, config, tensors, one weight buffer. */
#include "exec/model.h"

#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "io/json.h"
#include "io/safetensors.h"
#include "graph/memplan.h"
#include "model/fused_format.h"

static uint64_t align_up(uint64_t x, uint64_t a) {
    return (x + a - 1) / a * a;
}

int rm_builder_weight(rm_builder *b, const char *name, int ndim, const int64_t *shape) {
    if (b->status != REPMLP_OK) return -1;
    const repmlp_model *model = b->model;
    for (size_t i = 0; i < model->weight_count; i++) {
        const rm_weight *w = &model->weights[i];
        if (strcmp(w->name, name) != 0) continue;
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
        return rm_graph_value(b->graph, RM_VALUE_WEIGHT, w->count, w->offset);
    }
    b->status = rm_fail(REPMLP_ERROR_FORMAT, "%s: tensor '%s' is missing", model->path, name);
    return -1;
}

/* Reads every tensor into one host staging block at aligned offsets, recording the table. */
static repmlp_status read_tensors(repmlp_model *m, rm_safetensors *st, uint64_t alignment,
                                  float **host) {
    size_t n = rm_safetensors_count(st);
    m->weights = rm_calloc(n, sizeof *m->weights);
    if (!m->weights) return rm_fail(REPMLP_ERROR_OUT_OF_HOST_MEMORY, "out of host memory");
    uint64_t total = 0;
    for (size_t i = 0; i < n; i++) {
        const rm_st_tensor *t = rm_safetensors_tensor_at(st, i);
        rm_weight *w = &m->weights[i];
        m->weight_count = i + 1;
        w->name = rm_strdup(t->name);
        if (!w->name) return rm_fail(REPMLP_ERROR_OUT_OF_HOST_MEMORY, "out of host memory");
        if (t->dtype != RM_DTYPE_F32)
            return rm_fail(REPMLP_ERROR_FORMAT, "%s: tensor '%s': dtype %s, fused files hold F32",
                           m->path, t->name, rm_dtype_name(t->dtype));
        if (t->ndim < 1 || t->ndim > 4 || t->count == 0)
            return rm_fail(REPMLP_ERROR_FORMAT, "%s: tensor '%s': %d dims / %zu elements", m->path,
                           t->name, t->ndim, t->count);
        w->ndim = t->ndim;
        memcpy(w->shape, t->shape, (size_t)t->ndim * sizeof *w->shape);
        w->count = t->count;
        w->offset = total;
        total = align_up(total + t->count * sizeof(float), alignment);
    }
    if (total == 0) return rm_fail(REPMLP_ERROR_FORMAT, "%s: the file holds no tensors", m->path);
    size_t bytes = (size_t)total;
    if ((uint64_t)bytes != total)
        return rm_fail(REPMLP_ERROR_TOO_LARGE, "%s: weights too large", m->path);
    *host = rm_calloc(1, bytes);
    if (!*host) return rm_fail(REPMLP_ERROR_OUT_OF_HOST_MEMORY, "%s: out of host memory", m->path);
    for (size_t i = 0; i < n; i++)
        rm_st_tensor_to_f32(rm_safetensors_tensor_at(st, i),
                            *host + m->weights[i].offset / sizeof(float));
    m->weight_bytes = total;
    return REPMLP_OK;
}

repmlp_status rm_model_build(const repmlp_model *m, uint32_t batch, bool *used, rm_graph *g) {
    rm_graph_init(g);
    rm_builder b = {m, g, REPMLP_OK, used};
    repmlp_status st = m->arch->build(&b, batch);
    if (st == REPMLP_OK) st = rm_graph_finish(g);
    if (st != REPMLP_OK) rm_graph_free(g);
    return st;
}

/* Builds a batch-1 graph once so that missing, mis-shaped and unexpected tensors are reported
 * at load time rather than at the first session. */
static repmlp_status check_tensors(repmlp_model *m) {
    bool *used = rm_calloc(m->weight_count, sizeof *used);
    if (!used) return rm_fail(REPMLP_ERROR_OUT_OF_HOST_MEMORY, "out of host memory");
    rm_graph g;
    repmlp_status st = rm_model_build(m, 1, used, &g);
    if (st == REPMLP_OK) rm_graph_free(&g);
    for (size_t i = 0; st == REPMLP_OK && i < m->weight_count; i++)
        if (!used[i])
            st = rm_fail(REPMLP_ERROR_FORMAT, "%s: tensor '%s' is unexpected for arch %s", m->path,
                         m->weights[i].name, m->arch->name);
    rm_free(used);
    return st;
}

/* Everything that needs no device: metadata, config, the tensor table and the check that the
 * architecture takes exactly these tensors. *host receives the packed weights. */
static repmlp_status parse(repmlp_model *m, rm_safetensors *st, uint64_t alignment, float **host) {
    const char *arch_name, *config_text;
    repmlp_status s = rm_fused_read_metadata(st, &arch_name, &config_text);
    if (s != REPMLP_OK) return s;
    m->arch = rm_arch_find(arch_name);
    if (!m->arch)
        return rm_fail(REPMLP_ERROR_UNSUPPORTED,
                       "%s: __metadata__ key 'arch': '%s' cannot be run by this version", m->path,
                       arch_name);
    char where[512];
    snprintf(where, sizeof where, "%s: __metadata__ key 'config'", m->path);
    cJSON *json = NULL;
    s = rm_json_parse(config_text, strlen(config_text), where, &json);
    if (s != REPMLP_OK) return s;
    s = m->arch->parse_config(json, where, &m->config);
    cJSON_Delete(json);
    if (s != REPMLP_OK) return s;
    s = read_tensors(m, st, alignment, host);
    if (s == REPMLP_OK) s = check_tensors(m);
    return s;
}

static repmlp_status load(repmlp_model *m, rm_safetensors *st) {
    uint64_t alignment = m->ctx->caps.min_storage_buffer_offset_alignment;
    if (alignment < 16) alignment = 16;
    float *host = NULL;
    repmlp_status s = parse(m, st, alignment, &host);
    if (s == REPMLP_OK)
        s = rm_buffer_create(m->ctx, m->weight_bytes, RM_BUFFER_DEVICE, &m->weight_buffer);
    if (s == REPMLP_OK) s = rm_buffer_upload(m->ctx, &m->weight_buffer, 0, host, m->weight_bytes);
    rm_free(host);
    return s;
}

repmlp_status repmlp_model_load(repmlp_context *ctx, const char *path, repmlp_model **out) {
    if (!ctx || !path || !out)
        return rm_fail(REPMLP_ERROR_INVALID_ARGUMENT, "repmlp_model_load: NULL argument");
    *out = NULL;
    repmlp_status s = rm_check_alive(ctx);
    if (s != REPMLP_OK) return s;
    repmlp_model *m = rm_calloc(1, sizeof *m);
    if (!m) return rm_fail(REPMLP_ERROR_OUT_OF_HOST_MEMORY, "out of host memory");
    m->ctx = ctx;
    m->path = rm_strdup(path);
    if (!m->path) {
        rm_free(m);
        return rm_fail(REPMLP_ERROR_OUT_OF_HOST_MEMORY, "out of host memory");
    }
    rm_safetensors *st = NULL;
    s = rm_safetensors_open(path, &st);
    if (s == REPMLP_OK) s = load(m, st);
    rm_safetensors_close(st);
    if (s != REPMLP_OK) {
        repmlp_model_destroy(m);
        return s;
    }
    *out = m;
    return REPMLP_OK;
}

void repmlp_model_destroy(repmlp_model *m) {
    if (!m) return;
    rm_buffer_destroy(m->ctx, &m->weight_buffer);
    for (size_t i = 0; i < m->weight_count; i++) rm_free(m->weights[i].name);
    rm_free(m->weights);
    rm_free(m->config);
    rm_free(m->path);
    rm_free(m);
}

const char *repmlp_model_arch(const repmlp_model *m) {
    return m ? m->arch->name : "";
}

repmlp_status repmlp_model_input_shape(const repmlp_model *m, repmlp_shape *out) {
    if (!m || !out) return rm_fail(REPMLP_ERROR_INVALID_ARGUMENT, "input_shape: NULL argument");
    repmlp_shape unused;
    m->arch->shapes(m->config, out, &unused);
    return REPMLP_OK;
}

repmlp_status repmlp_model_output_shape(const repmlp_model *m, repmlp_shape *out) {
    if (!m || !out) return rm_fail(REPMLP_ERROR_INVALID_ARGUMENT, "output_shape: NULL argument");
    repmlp_shape unused;
    m->arch->shapes(m->config, &unused, out);
    return REPMLP_OK;
}

uint64_t repmlp_model_weight_bytes(const repmlp_model *m) {
    return m ? m->weight_bytes : 0;
}

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
