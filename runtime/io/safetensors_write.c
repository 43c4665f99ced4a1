/* safetensors writer: collects tensors and metadata, then writes the file atomically. */
#include "io/safetensors.h"

#include "core/alloc.h"
#include "core/error.h"
#include "io/file_map.h"
#include "io/json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WRITER "safetensors writer"

typedef struct writer_tensor {
    char *name;
    rm_dtype dtype;
    int ndim;
    int64_t shape[RM_ST_MAX_DIMS];
    size_t nbytes;
    void *data; /* owned */
} writer_tensor;

typedef struct meta_entry {
    char *key, *value;
} meta_entry;

struct rm_st_writer {
    writer_tensor *tensors;
    size_t count, cap;
    meta_entry *meta;
    size_t meta_count, meta_cap;
};

repmlp_status rm_st_writer_create(rm_st_writer **out) {
    *out = rm_calloc(1, sizeof **out);
    if (!*out) return rm_fail(REPMLP_ERROR_OUT_OF_HOST_MEMORY, WRITER ": out of host memory");
    return REPMLP_OK;
}

void rm_st_writer_destroy(rm_st_writer *w) {
    if (!w) return;
    for (size_t i = 0; i < w->count; i++) {
        rm_free(w->tensors[i].name);
        rm_free(w->tensors[i].data);
    }
    for (size_t i = 0; i < w->meta_count; i++) {
        rm_free(w->meta[i].key);
        rm_free(w->meta[i].value);
    }
    rm_free(w->tensors);
    rm_free(w->meta);
    rm_free(w);
}

/* Makes room for one more element in an array of `elem` bytes; false when out of memory. */
static bool grow(void **items, size_t *cap, size_t count, size_t elem) {
    if (count < *cap) return true;
    size_t new_cap = *cap ? *cap * 2 : 16, bytes;
    if (!rm_mul_size(new_cap, elem, &bytes)) return false;
    void *p = rm_realloc(*items, bytes);
    if (!p) return false;
    *items = p;
    *cap = new_cap;
    return true;
}

repmlp_status rm_st_writer_set_metadata(rm_st_writer *w, const char *key, const char *value) {
    char *v = rm_strdup(value);
    if (!v) goto oom;
    for (size_t i = 0; i < w->meta_count; i++) {
        if (strcmp(w->meta[i].key, key) == 0) {
            rm_free(w->meta[i].value);
            w->meta[i].value = v;
            return REPMLP_OK;
        }
    }
    char *k = rm_strdup(key);
    if (!k || !grow((void **)&w->meta, &w->meta_cap, w->meta_count, sizeof *w->meta)) {
        rm_free(k);
        rm_free(v);
        goto oom;
    }
    w->meta[w->meta_count].key = k;
    w->meta[w->meta_count].value = v;
    w->meta_count++;
    return REPMLP_OK;
oom:
    return rm_fail(REPMLP_ERROR_OUT_OF_HOST_MEMORY,
                   WRITER ": metadata key '%s': out of host memory", key);
}

/* Validates the description and appends an entry whose data pointer the caller fills. */
static repmlp_status add_entry(rm_st_writer *w, const char *name, rm_dtype dtype, int ndim,
                               const int64_t *shape, writer_tensor **entry) {
    if (name[0] == '\0' || strcmp(name, "__metadata__") == 0) {
        return rm_fail(REPMLP_ERROR_INVALID_ARGUMENT, WRITER ": tensor name '%s' is reserved",
                       name);
    }
    if ((unsigned)dtype >= RM_DTYPE_COUNT) {
        return rm_fail(REPMLP_ERROR_INVALID_ARGUMENT, WRITER ": tensor '%s': invalid dtype %d",
                       name, (int)dtype);
    }
    if (ndim < 0 || ndim > RM_ST_MAX_DIMS) {
        return rm_fail(REPMLP_ERROR_INVALID_ARGUMENT, WRITER ": tensor '%s': %d dimensions", name,
                       ndim);
    }
    size_t count, nbytes;
    if (!rm_product(shape, ndim, &count) || !rm_mul_size(count, rm_dtype_size(dtype), &nbytes)) {
        return rm_fail(REPMLP_ERROR_INVALID_ARGUMENT,
                       WRITER ": tensor '%s': negative or too large shape", name);
    }
    for (size_t i = 0; i < w->count; i++) {
        if (strcmp(w->tensors[i].name, name) == 0) {
            return rm_fail(REPMLP_ERROR_INVALID_ARGUMENT, WRITER ": tensor '%s' added twice", name);
        }
    }
    if (!grow((void **)&w->tensors, &w->cap, w->count, sizeof *w->tensors)) goto oom;
    writer_tensor *t = &w->tensors[w->count];
    memset(t, 0, sizeof *t);
    t->name = rm_strdup(name);
    if (!t->name) goto oom;
    t->dtype = dtype;
    t->ndim = ndim;
    if (ndim > 0) memcpy(t->shape, shape, (size_t)ndim * sizeof *shape);
    t->nbytes = nbytes;
    *entry = t;
    return REPMLP_OK;
oom:
    return rm_fail(REPMLP_ERROR_OUT_OF_HOST_MEMORY, WRITER ": tensor '%s': out of host memory",
                   name);
}

repmlp_status rm_st_writer_add(rm_st_writer *w, const char *name, rm_dtype dtype, int ndim,
                               const int64_t *shape, const void *data) {
    writer_tensor *t = NULL;
    repmlp_status status = add_entry(w, name, dtype, ndim, shape, &t);
    if (status != REPMLP_OK) return status;
    t->data = rm_malloc(t->nbytes);
    if (!t->data) {
        rm_free(t->name);
        return rm_fail(REPMLP_ERROR_OUT_OF_HOST_MEMORY, WRITER ": tensor '%s': out of host memory",
                       name);
    }
    if (t->nbytes) memcpy(t->data, data, t->nbytes);
    w->count++;
    return REPMLP_OK;
}

repmlp_status rm_st_writer_add_f32(rm_st_writer *w, const char *name, int ndim,
                                   const int64_t *shape, const float *data) {
    return rm_st_writer_add(w, name, RM_DTYPE_F32, ndim, shape, data);
}

repmlp_status rm_st_writer_add_take(rm_st_writer *w, const char *name, rm_dtype dtype, int ndim,
                                    const int64_t *shape, void *data) {
    writer_tensor *t = NULL;
    repmlp_status status = add_entry(w, name, dtype, ndim, shape, &t);
    if (status != REPMLP_OK) {
        rm_free(data);
        return status;
    }
    t->data = data;
    w->count++;
    return REPMLP_OK;
}

/* Data order: stable by decreasing element size, so every tensor starts aligned to its own
 * element size with no gaps (readers such as the reference Python library reject gaps). */
static _Thread_local const writer_tensor *sort_base;

static int compare_layout(const void *a, const void *b) {
    size_t ia = *(const size_t *)a, ib = *(const size_t *)b;
    size_t sa = rm_dtype_size(sort_base[ia].dtype), sb = rm_dtype_size(sort_base[ib].dtype);
    if (sa != sb) return sa > sb ? -1 : 1;
    return ia < ib ? -1 : ia > ib;
}

static bool host_is_little_endian(void) {
    const uint16_t probe = 1;
    unsigned char first;
    memcpy(&first, &probe, 1);
    return first == 1;
}

/* Where the bytes go: an open file, or (fp NULL) a buffer large enough for all of them. */
typedef struct sink {
    FILE *fp;
    unsigned char *buf;
    size_t pos;
} sink;

static bool sink_write(sink *s, const void *p, size_t n) {
    if (s->fp) return fwrite(p, 1, n, s->fp) == n;
    if (n) memcpy(s->buf + s->pos, p, n);
    s->pos += n;
    return true;
}

/* Writes elements as little-endian whatever the host order is. */
static bool write_le(sink *out, const writer_tensor *t) {
    if (host_is_little_endian()) return sink_write(out, t->data, t->nbytes);
    size_t esize = rm_dtype_size(t->dtype);
    const unsigned char *src = t->data;
    unsigned char chunk[4096];
    size_t done = 0;
    while (done < t->nbytes) {
        size_t n = t->nbytes - done < sizeof chunk ? t->nbytes - done : sizeof chunk;
        for (size_t i = 0; i < n; i += esize) {
            for (size_t j = 0; j < esize; j++) chunk[i + j] = src[done + i + esize - 1 - j];
        }
        if (!sink_write(out, chunk, n)) return false;
        done += n;
    }
    return true;
}

static void build_header(const rm_st_writer *w, const size_t *order, rm_json_buf *b) {
    rm_json_buf_raw(b, "{");
    bool first = true;
    if (w->meta_count) {
        rm_json_buf_raw(b, "\"__metadata__\":{");
        for (size_t i = 0; i < w->meta_count; i++) {
            if (i) rm_json_buf_raw(b, ",");
            rm_json_buf_string(b, w->meta[i].key);
            rm_json_buf_raw(b, ":");
            rm_json_buf_string(b, w->meta[i].value);
        }
        rm_json_buf_raw(b, "}");
        first = false;
    }
    size_t offset = 0;
    for (size_t k = 0; k < w->count; k++) {
        const writer_tensor *t = &w->tensors[order[k]];
        if (!first) rm_json_buf_raw(b, ",");
        first = false;
        rm_json_buf_string(b, t->name);
        rm_json_buf_raw(b, ":{\"dtype\":");
        rm_json_buf_string(b, rm_dtype_name(t->dtype));
        rm_json_buf_raw(b, ",\"shape\":[");
        for (int d = 0; d < t->ndim; d++) {
            if (d) rm_json_buf_raw(b, ",");
            rm_json_buf_int(b, t->shape[d]);
        }
        rm_json_buf_raw(b, "],\"data_offsets\":[");
        rm_json_buf_int(b, (int64_t)offset);
        rm_json_buf_raw(b, ",");
        rm_json_buf_int(b, (int64_t)(offset + t->nbytes));
        rm_json_buf_raw(b, "]}");
        offset += t->nbytes;
    }
    rm_json_buf_raw(b, "}");
    /* Spaces up to a multiple of 8 after the 8-byte length: the data starts aligned. */
    while (!b->failed && b->len % 8 != 0) rm_json_buf_raw(b, " ");
}

/* The layout order, the header and the data size shared by both writers; *order is
 * rm_malloc'd and *header filled (free both) on success. */
static repmlp_status prepare(const rm_st_writer *w, const char *path, size_t **order,
                             rm_json_buf *header, size_t *data_size) {
    /* The offsets are written as JSON integers, which readers take exactly up to 2^53. */
    size_t total = 0;
    for (size_t i = 0; i < w->count; i++) {
        if (!rm_add_size(total, w->tensors[i].nbytes, &total) || total > ((size_t)1 << 53)) {
            return rm_fail(REPMLP_ERROR_TOO_LARGE, "%s: tensor '%s': total data too large", path,
                           w->tensors[i].name);
        }
    }
    *order = rm_calloc(w->count, sizeof **order);
    if (!*order) return rm_fail(REPMLP_ERROR_OUT_OF_HOST_MEMORY, "%s: out of host memory", path);
    for (size_t i = 0; i < w->count; i++) (*order)[i] = i;
    sort_base = w->tensors;
    qsort(*order, w->count, sizeof **order, compare_layout);

    *header = (rm_json_buf){0};
    build_header(w, *order, header);
    if (header->failed) {
        rm_json_buf_free(header);
        rm_free(*order);
        *order = NULL;
        return rm_fail(REPMLP_ERROR_OUT_OF_HOST_MEMORY, "%s: out of host memory", path);
    }
    *data_size = total;
    return REPMLP_OK;
}

/* Length, header and tensors into out; the name of the tensor that failed, or "" for the
 * header, or NULL when everything was written. */
static const char *emit(const rm_st_writer *w, const size_t *order, const rm_json_buf *header,
                        sink *out) {
    unsigned char len_bytes[8];
    uint64_t n = header->len;
    for (int i = 0; i < 8; i++) len_bytes[i] = (unsigned char)(n >> (8 * i));
    if (!sink_write(out, len_bytes, 8) || !sink_write(out, header->text, header->len)) return "";
    for (size_t k = 0; k < w->count; k++)
        if (!write_le(out, &w->tensors[order[k]])) return w->tensors[order[k]].name;
    return NULL;
}

repmlp_status rm_st_writer_write(const rm_st_writer *w, const char *path) {
    size_t *order, data_size;
    rm_json_buf header;
    repmlp_status status = prepare(w, path, &order, &header, &data_size);
    if (status != REPMLP_OK) return status;
    rm_file_out out;
    status = rm_file_out_begin(path, &out);
    if (status == REPMLP_OK) {
        sink s = {out.fp, NULL, 0};
        const char *failed = emit(w, order, &header, &s);
        if (failed) {
            status = *failed
                         ? rm_fail(REPMLP_ERROR_IO, "%s: tensor '%s': cannot write", out.tmp_path,
                                   failed)
                         : rm_fail(REPMLP_ERROR_IO, "%s: cannot write the header", out.tmp_path);
            rm_file_out_abort(&out);
        } else {
            status = rm_file_out_commit(&out);
        }
    }
    rm_json_buf_free(&header);
    rm_free(order);
    return status;
}

repmlp_status rm_st_writer_write_memory(const rm_st_writer *w, const char *name, void **data,
                                        size_t *size) {
    *data = NULL;
    *size = 0;
    size_t *order, data_size, total;
    rm_json_buf header;
    repmlp_status status = prepare(w, name, &order, &header, &data_size);
    if (status != REPMLP_OK) return status;
    unsigned char *buf = NULL;
    if (!rm_add_size(8 + header.len, data_size, &total) || !(buf = rm_malloc(total))) {
        status = rm_fail(REPMLP_ERROR_OUT_OF_HOST_MEMORY, "%s: out of host memory", name);
    } else {
        sink s = {NULL, buf, 0};
        emit(w, order, &header, &s); /* a buffer write cannot fail */
        *data = buf;
        *size = total;
    }
    rm_json_buf_free(&header);
    rm_free(order);
    return status;
}
