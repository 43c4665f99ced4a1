/* safetensors reader and writer: round trips of every dtype, float conversions, and every
 * malformed file the reader must refuse with the right status and a message naming the file
 * (and the tensor where there is one). */
#define _POSIX_C_SOURCE 200809L
#include "host_util.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/fault.h"
#include "io/safetensors.h"

static char *dir;

static int setup(void **state) {
    (void)state;
    dir = hu_tmpdir("test_safetensors");
    return 0;
}

static int teardown(void **state) {
    (void)state;
    hu_tmpdir_remove(dir);
    return 0;
}

static rm_safetensors *open_ok(const char *path) {
    rm_safetensors *st = NULL;
    hu_expect_ok(rm_safetensors_open(path, &st));
    return st;
}

/* ---- round trips ---- */

static void round_trip_all_dtypes(void **state) {
    (void)state;
    const char *path = hu_path(dir, "all.safetensors");
    const double f64[3] = {1.0 / 3.0, -1e300, 5e-320};
    const float f32[6] = {1.5f, -2.25f, 3e38f, -0.0f, 1e-45f, 7.0f};
    const uint16_t f16[2] = {0x3c00, 0xc000};  /* 1, -2 */
    const uint16_t bf16[2] = {0x3f80, 0x4049}; /* 1, 3.140625 */
    const int64_t i64 = -7;
    const uint8_t u8[3] = {1, 2, 255};
    rm_st_writer *w;
    hu_expect_ok(rm_st_writer_create(&w));
    hu_expect_ok(rm_st_writer_set_metadata(w, "format", "pt"));
    hu_expect_ok(rm_st_writer_set_metadata(w, "odd \"key\"", "line\nbreak \\ tab\t"));
    hu_expect_ok(rm_st_writer_set_metadata(w, "format", "replaced"));
    /* Insertion order mixes element sizes on purpose: the layout must still align each. */
    hu_expect_ok(rm_st_writer_add(w, "u8", RM_DTYPE_U8, 1, (int64_t[]){3}, u8));
    hu_expect_ok(rm_st_writer_add_f32(w, "a.f32", 2, (int64_t[]){2, 3}, f32));
    hu_expect_ok(rm_st_writer_add(w, "f16", RM_DTYPE_F16, 1, (int64_t[]){2}, f16));
    hu_expect_ok(rm_st_writer_add(w, "f64", RM_DTYPE_F64, 1, (int64_t[]){3}, f64));
    hu_expect_ok(rm_st_writer_add(w, "bf16", RM_DTYPE_BF16, 1, (int64_t[]){2}, bf16));
    hu_expect_ok(rm_st_writer_add(w, "scalar", RM_DTYPE_I64, 0, NULL, &i64));
    hu_expect_ok(rm_st_writer_add(w, "empty", RM_DTYPE_F32, 2, (int64_t[]){0, 3}, NULL));
    double *owned = malloc(2 * sizeof *owned);
    assert_non_null(owned);
    owned[0] = 42.0;
    owned[1] = -42.0;
    hu_expect_ok(rm_st_writer_add_take(w, "taken", RM_DTYPE_F64, 1, (int64_t[]){2}, owned));
    size_t files_before = hu_count_files(dir);
    hu_expect_ok(rm_st_writer_write(w, path));
    rm_st_writer_destroy(w);
    assert_int_equal(hu_count_files(dir), files_before + 1); /* no temporary left */

    size_t size;
    char *raw = hu_read_file(path, &size);
    uint64_t hlen = 0;
    for (int i = 0; i < 8; i++) hlen |= (uint64_t)(unsigned char)raw[i] << (8 * i);
    assert_int_equal((8 + hlen) % 8, 0); /* data starts 8-byte aligned */
    free(raw);

    rm_safetensors *st = open_ok(path);
    assert_string_equal(rm_safetensors_path(st), path);
    assert_int_equal(rm_safetensors_count(st), 8);
    assert_string_equal(rm_safetensors_metadata(st, "format"), "replaced");
    assert_string_equal(rm_safetensors_metadata(st, "odd \"key\""), "line\nbreak \\ tab\t");
    assert_null(rm_safetensors_metadata(st, "absent"));
    assert_null(rm_safetensors_find(st, "absent"));

    const rm_st_tensor *t = rm_safetensors_find(st, "a.f32");
    assert_non_null(t);
    assert_int_equal(t->dtype, RM_DTYPE_F32);
    assert_int_equal(t->ndim, 2);
    assert_int_equal(t->shape[0], 2);
    assert_int_equal(t->shape[1], 3);
    assert_int_equal(t->count, 6);
    assert_int_equal(t->nbytes, 24);
    float got32[6];
    assert_true(rm_st_tensor_to_f32(t, got32));
    assert_memory_equal(got32, f32, sizeof f32);

    double got64[3];
    t = rm_safetensors_find(st, "f64");
    assert_true(rm_st_tensor_to_f64(t, got64));
    assert_memory_equal(got64, f64, sizeof f64);
    t = rm_safetensors_find(st, "f16");
    assert_true(rm_st_tensor_to_f64(t, got64));
    assert_true(got64[0] == 1.0 && got64[1] == -2.0);
    t = rm_safetensors_find(st, "bf16");
    assert_true(rm_st_tensor_to_f64(t, got64));
    assert_true(got64[0] == 1.0 && got64[1] == 3.140625);
    t = rm_safetensors_find(st, "taken");
    assert_true(rm_st_tensor_to_f64(t, got64));
    assert_true(got64[0] == 42.0 && got64[1] == -42.0);

    t = rm_safetensors_find(st, "scalar");
    assert_int_equal(t->ndim, 0);
    assert_int_equal(t->count, 1);
    int64_t i64_back;
    memcpy(&i64_back, t->data, sizeof i64_back);
    assert_int_equal(i64_back, -7);
    assert_false(rm_st_tensor_to_f32(t, got32)); /* not a float dtype */
    t = rm_safetensors_find(st, "u8");
    assert_memory_equal(t->data, u8, 3);
    t = rm_safetensors_find(st, "empty");
    assert_int_equal(t->count, 0);
    assert_int_equal(t->nbytes, 0);

    /* Every tensor starts aligned to its element size relative to the data start. */
    const unsigned char *base = rm_safetensors_find(st, "f64")->data;
    for (size_t i = 0; i < rm_safetensors_count(st); i++) {
        const rm_st_tensor *x = rm_safetensors_tensor_at(st, i);
        if (x->nbytes)
            assert_int_equal(
                (size_t)((const unsigned char *)x->data - base) % rm_dtype_size(x->dtype), 0);
    }
    rm_safetensors_close(st);
}

/* Writing twice replaces the file; a failed write leaves the old one untouched. */
static void writer_replaces_atomically(void **state) {
    (void)state;
    const char *path = hu_path(dir, "replace.safetensors");
    const float a = 1.0f, b = 2.0f;
    rm_st_writer *w;
    hu_expect_ok(rm_st_writer_create(&w));
    hu_expect_ok(rm_st_writer_add_f32(w, "x", 1, (int64_t[]){1}, &a));
    hu_expect_ok(rm_st_writer_write(w, path));
    rm_st_writer_destroy(w);
    hu_expect_ok(rm_st_writer_create(&w));
    hu_expect_ok(rm_st_writer_add_f32(w, "x", 1, (int64_t[]){1}, &b));
    hu_expect_ok(rm_st_writer_write(w, path));
    rm_st_writer_destroy(w);
    rm_safetensors *st = open_ok(path);
    float got;
    rm_st_tensor_to_f32(rm_safetensors_find(st, "x"), &got);
    assert_true(got == 2.0f);
    rm_safetensors_close(st);
}

static void writer_errors(void **state) {
    (void)state;
    const float x = 1.0f;
    rm_st_writer *w;
    hu_expect_ok(rm_st_writer_create(&w));
    hu_expect_ok(rm_st_writer_add_f32(w, "x", 1, (int64_t[]){1}, &x));
    HU_EXPECT_ERROR(rm_st_writer_add_f32(w, "x", 1, (int64_t[]){1}, &x),
                    REPMLP_ERROR_INVALID_ARGUMENT, "'x'", "twice");
    HU_EXPECT_ERROR(rm_st_writer_add_f32(w, "__metadata__", 1, (int64_t[]){1}, &x),
                    REPMLP_ERROR_INVALID_ARGUMENT, "'__metadata__'");
    HU_EXPECT_ERROR(rm_st_writer_add_f32(w, "neg", 1, (int64_t[]){-1}, &x),
                    REPMLP_ERROR_INVALID_ARGUMENT, "'neg'");
    HU_EXPECT_ERROR(rm_st_writer_add_f32(w, "deep", 9, (int64_t[9]){1}, &x),
                    REPMLP_ERROR_INVALID_ARGUMENT, "'deep'");
    HU_EXPECT_ERROR(rm_st_writer_add_f32(w, "huge", 2, (int64_t[]){INT64_MAX, 4}, &x),
                    REPMLP_ERROR_INVALID_ARGUMENT, "'huge'");
    size_t files_before = hu_count_files(dir);
    const char *bad = hu_path(dir, "no-such-dir/out.safetensors");
    HU_EXPECT_ERROR(rm_st_writer_write(w, bad), REPMLP_ERROR_IO, bad);
    assert_int_equal(hu_count_files(dir), files_before);
    rm_st_writer_destroy(w);
    rm_st_writer_destroy(NULL);
    rm_safetensors_close(NULL);
}

/* ---- conversions ---- */

static void f16_bf16_f64_conversions(void **state) {
    (void)state;
    const char *path = hu_path(dir, "conv.safetensors");
    const uint16_t f16[] = {0x0001, 0x03ff, 0x0400, 0x3c00, 0xc000, 0x7bff,
                            0x7c00, 0xfc00, 0x7e00, 0x8000, 0x3555};
    const double f16_want[] = {ldexp(1, -24), ldexp(1023, -24), ldexp(1, -14), 1.0, -2.0,
                               65504.0,       INFINITY,         -INFINITY,     NAN, -0.0,
                               0.333251953125};
    const uint16_t bf16[] = {0x3f80, 0x4049, 0x7f80, 0xff80, 0x7fc0, 0x0001, 0x8001};
    const double bf16_want[] = {1.0, 3.140625,       INFINITY,       -INFINITY,
                                NAN, ldexp(1, -133), -ldexp(1, -133)};
    const double f64[] = {1e300,
                          -1e300,
                          (double)FLT_MAX * (1 + ldexp(1, -25)),
                          (double)FLT_MAX * (1 + ldexp(1, -24)),
                          0.1,
                          NAN,
                          1e-50};
    const float f64_want[] = {INFINITY, -INFINITY, FLT_MAX, INFINITY, 0.1f, NAN, 0.0f};
    const size_t n16 = sizeof f16 / sizeof f16[0], nb = sizeof bf16 / sizeof bf16[0],
                 n64 = sizeof f64 / sizeof f64[0];
    rm_st_writer *w;
    hu_expect_ok(rm_st_writer_create(&w));
    hu_expect_ok(rm_st_writer_add(w, "f16", RM_DTYPE_F16, 1, (int64_t[]){(int64_t)n16}, f16));
    hu_expect_ok(rm_st_writer_add(w, "bf16", RM_DTYPE_BF16, 1, (int64_t[]){(int64_t)nb}, bf16));
    hu_expect_ok(rm_st_writer_add(w, "f64", RM_DTYPE_F64, 1, (int64_t[]){(int64_t)n64}, f64));
    hu_expect_ok(rm_st_writer_write(w, path));
    rm_st_writer_destroy(w);

    rm_safetensors *st = open_ok(path);
    double d[16];
    float f[16];
    assert_true(rm_st_tensor_to_f64(rm_safetensors_find(st, "f16"), d));
    assert_true(rm_st_tensor_to_f32(rm_safetensors_find(st, "f16"), f));
    for (size_t i = 0; i < n16; i++) {
        if (isnan(f16_want[i])) {
            assert_true(isnan(d[i]) && isnan(f[i]));
            continue;
        }
        if (d[i] != f16_want[i] || (double)f[i] != f16_want[i] ||
            signbit(d[i]) != signbit(f16_want[i])) {
            fail_msg("F16 0x%04x: got %a / %a, want %a", f16[i], d[i], (double)f[i], f16_want[i]);
        }
    }
    assert_true(rm_st_tensor_to_f64(rm_safetensors_find(st, "bf16"), d));
    assert_true(rm_st_tensor_to_f32(rm_safetensors_find(st, "bf16"), f));
    for (size_t i = 0; i < nb; i++) {
        if (isnan(bf16_want[i])) {
            assert_true(isnan(d[i]) && isnan(f[i]));
        } else if (d[i] != bf16_want[i] || (double)f[i] != bf16_want[i]) {
            fail_msg("BF16 0x%04x: got %a / %a, want %a", bf16[i], d[i], (double)f[i],
                     bf16_want[i]);
        }
    }
    assert_true(rm_st_tensor_to_f32(rm_safetensors_find(st, "f64"), f));
    for (size_t i = 0; i < n64; i++) {
        if (isnan(f64_want[i]))
            assert_true(isnan(f[i]));
        else if (f[i] != f64_want[i])
            fail_msg("F64 %a: got %a, want %a", f64[i], f[i], f64_want[i]);
    }
    rm_safetensors_close(st);
}

/* Data at an odd offset: conversions read it without misaligned loads (UBSan checks). */
static void unaligned_data(void **state) {
    (void)state;
    const char *path = hu_path(dir, "unaligned.safetensors");
    unsigned char data[1 + 8 + 4];
    const float v32 = -3.5f;
    const double v64 = 0.125;
    data[0] = 9;
    memcpy(data + 1, &v64, 8);
    memcpy(data + 9, &v32, 4);
    hu_write_st(path,
                "{\"b\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},"
                "\"d\":{\"dtype\":\"F64\",\"shape\":[],\"data_offsets\":[1,9]},"
                "\"f\":{\"dtype\":\"F32\",\"shape\":[1,1],\"data_offsets\":[9,13]}}   ",
                data, sizeof data);
    rm_safetensors *st = open_ok(path);
    float f;
    double d;
    assert_true(rm_st_tensor_to_f32(rm_safetensors_find(st, "f"), &f));
    assert_true(f == -3.5f);
    assert_true(rm_st_tensor_to_f64(rm_safetensors_find(st, "d"), &d));
    assert_true(d == 0.125);
    rm_safetensors_close(st);
}

/* ---- typed reads and consumption marks ---- */

static void read_f32_checks(void **state) {
    (void)state;
    const char *path = hu_path(dir, "read.safetensors");
    const float x[6] = {1, 2, 3, 4, 5, 6};
    const int32_t ints[2] = {1, 2};
    const uint16_t half[2] = {0x3c00, 0x4000};
    rm_st_writer *w;
    hu_expect_ok(rm_st_writer_create(&w));
    hu_expect_ok(rm_st_writer_add_f32(w, "m", 2, (int64_t[]){3, 2}, x));
    hu_expect_ok(rm_st_writer_add(w, "i", RM_DTYPE_I32, 1, (int64_t[]){2}, ints));
    hu_expect_ok(rm_st_writer_add(w, "h", RM_DTYPE_F16, 1, (int64_t[]){2}, half));
    hu_expect_ok(rm_st_writer_write(w, path));
    rm_st_writer_destroy(w);

    rm_safetensors *st = open_ok(path);
    float *out = NULL;
    double *out64 = NULL;
    assert_string_equal(rm_safetensors_first_unused(st)->name, "m");
    HU_EXPECT_ERROR(rm_safetensors_read_f32(st, "m", 2, (int64_t[]){2, 3}, &out),
                    REPMLP_ERROR_FORMAT, path, "tensor 'm': expected shape (2, 3), got (3, 2)");
    assert_null(out);
    HU_EXPECT_ERROR(rm_safetensors_read_f32(st, "m", 1, (int64_t[]){6}, &out), REPMLP_ERROR_FORMAT,
                    "expected shape (6), got (3, 2)");
    HU_EXPECT_ERROR(rm_safetensors_read_f32(st, "nope", 1, (int64_t[]){6}, &out),
                    REPMLP_ERROR_FORMAT, path, "tensor 'nope' is missing");
    HU_EXPECT_ERROR(rm_safetensors_read_f64(st, "i", 1, (int64_t[]){2}, &out64),
                    REPMLP_ERROR_FORMAT, path, "tensor 'i'", "I32");
    assert_string_equal(rm_safetensors_first_unused(st)->name, "m"); /* failures mark nothing */
    hu_expect_ok(rm_safetensors_read_f32(st, "m", 2, (int64_t[]){3, 2}, &out));
    assert_memory_equal(out, x, sizeof x);
    rm_free(out);
    hu_expect_ok(rm_safetensors_read_f64(st, "h", 1, (int64_t[]){2}, &out64));
    assert_true(out64[0] == 1.0 && out64[1] == 2.0);
    rm_free(out64);
    assert_string_equal(rm_safetensors_first_unused(st)->name, "i");
    rm_safetensors_mark_used(st, rm_safetensors_find(st, "i"));
    assert_null(rm_safetensors_first_unused(st));
    rm_safetensors_close(st);
}

/* ---- malformed files ---- */

typedef struct bad_case {
    const char *file;
    const char *header; /* NULL: `raw` holds the whole file */
    const char *raw;
    size_t raw_len;
    size_t data_len; /* zero bytes of data after the header */
    repmlp_status status;
    const char *needle1, *needle2;
} bad_case;

#define T(name, extra) "\"" name "\":{" extra "}"
#define F32_4 "\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]"

static const bad_case bad_cases[] = {
    {"empty", NULL, "", 0, 0, REPMLP_ERROR_FORMAT, "too short", NULL},
    {"truncated_length", NULL, "\x10\0\0\0\0", 5, 0, REPMLP_ERROR_FORMAT, "too short", NULL},
    {"past_eof", NULL, "\xe8\x03\0\0\0\0\0\0{}", 10, 0, REPMLP_ERROR_FORMAT, "header length 1000",
     "past the end"},
    {"over_cap", NULL, "\0\0\0\x10\0\0\0\0{}", 10, 0, REPMLP_ERROR_TOO_LARGE, "header length",
     "limit"},
    {"invalid_json", "{\"a\":", NULL, 0, 0, REPMLP_ERROR_FORMAT, "invalid JSON", NULL},
    {"trailing_garbage", "{} x", NULL, 0, 0, REPMLP_ERROR_FORMAT, "invalid JSON", NULL},
    {"embedded_nul", NULL, "\x04\0\0\0\0\0\0\0{}\0 ", 12, 0, REPMLP_ERROR_FORMAT, "invalid JSON",
     NULL},
    {"empty_header", "", NULL, 0, 0, REPMLP_ERROR_FORMAT, "invalid JSON", NULL},
    {"not_object", "[1, 2]", NULL, 0, 0, REPMLP_ERROR_FORMAT, "not a JSON object", NULL},
    {"entry_not_object", "{\"t\": 3}", NULL, 0, 0, REPMLP_ERROR_FORMAT, "'t'", "not an object"},
    {"unknown_dtype", "{" T("t", "\"dtype\":\"F8\",\"shape\":[1],\"data_offsets\":[0,1]") "}", NULL,
     0, 1, REPMLP_ERROR_FORMAT, "'t'", "unknown dtype 'F8'"},
    {"dtype_not_string", "{" T("t", "\"dtype\":4,\"shape\":[1],\"data_offsets\":[0,4]") "}", NULL,
     0, 4, REPMLP_ERROR_FORMAT, "'t'", "dtype"},
    {"shape_fraction", "{" T("t", "\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,4]") "}",
     NULL, 0, 4, REPMLP_ERROR_FORMAT, "'t'", "shape[0]"},
    {"shape_negative", "{" T("t", "\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]") "}",
     NULL, 0, 4, REPMLP_ERROR_FORMAT, "'t'", "shape[0]"},
    {"shape_string", "{" T("t", "\"dtype\":\"F32\",\"shape\":[\"1\"],\"data_offsets\":[0,4]") "}",
     NULL, 0, 4, REPMLP_ERROR_FORMAT, "'t'", "shape[0]"},
    {"shape_not_array", "{" T("t", "\"dtype\":\"F32\",\"shape\":1,\"data_offsets\":[0,4]") "}",
     NULL, 0, 4, REPMLP_ERROR_FORMAT, "'t'", "shape"},
    {"shape_9_dims",
     "{" T("t", "\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,4]") "}", NULL,
     0, 4, REPMLP_ERROR_FORMAT, "'t'", "9 dimensions"},
    {"shape_overflow",
     "{" T("t", "\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,4]") "}",
     NULL, 0, 4, REPMLP_ERROR_FORMAT, "'t'", "too large"},
    {"offsets_mismatch", "{" T("t", "\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]") "}",
     NULL, 0, 8, REPMLP_ERROR_FORMAT, "'t'", "needs 8 bytes"},
    {"offsets_past_end", "{" T("t", "\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]") "}",
     NULL, 0, 4, REPMLP_ERROR_FORMAT, "'t'", "past the end"},
    {"offsets_decrease", "{" T("t", "\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,4]") "}",
     NULL, 0, 8, REPMLP_ERROR_FORMAT, "'t'", "decrease"},
    {"offsets_one", "{" T("t", "\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4]") "}", NULL, 0,
     8, REPMLP_ERROR_FORMAT, "'t'", "data_offsets"},
    {"offsets_negative", "{" T("t", "\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[-4,0]") "}",
     NULL, 0, 8, REPMLP_ERROR_FORMAT, "'t'", "data_offsets"},
    {"overlap",
     "{" T("a", "\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]") "," T(
         "b", "\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]") "}",
     NULL, 0, 12, REPMLP_ERROR_FORMAT, "'a' and 'b'", "overlap"},
    {"overlap_contained",
     "{" T("big", "\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]") "," T(
         "small", "\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]") "," T("z", F32_4) "}",
     NULL, 0, 16, REPMLP_ERROR_FORMAT, "overlap", NULL},
    {"duplicate_name", "{" T("t", F32_4) "," T("t", F32_4) "}", NULL, 0, 4, REPMLP_ERROR_FORMAT,
     "tensor 't'", "twice"},
    {"missing_key", "{" T("t", "\"dtype\":\"F32\",\"shape\":[1]") "}", NULL, 0, 4,
     REPMLP_ERROR_FORMAT, "'t'", "missing 'data_offsets'"},
    {"extra_key", "{" T("t", F32_4 ",\"x\":1") "}", NULL, 0, 4, REPMLP_ERROR_FORMAT, "'t'",
     "unexpected key 'x'"},
    {"metadata_not_object", "{\"__metadata__\":[]}", NULL, 0, 0, REPMLP_ERROR_FORMAT,
     "__metadata__", "not an object"},
    {"metadata_value_number", "{\"__metadata__\":{\"format\":1}}", NULL, 0, 0, REPMLP_ERROR_FORMAT,
     "__metadata__ key 'format'", "not a string"},
    {"metadata_duplicate_key", "{\"__metadata__\":{\"k\":\"a\",\"k\":\"b\"}}", NULL, 0, 0,
     REPMLP_ERROR_FORMAT, "__metadata__ key 'k'", "twice"},
    {"metadata_twice", "{\"__metadata__\":{},\"__metadata__\":{}}", NULL, 0, 0, REPMLP_ERROR_FORMAT,
     "__metadata__", "twice"},
};

static void malformed_files(void **state) {
    (void)state;
    for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
        const bad_case *c = &bad_cases[i];
        char name[128];
        snprintf(name, sizeof name, "bad_%s.safetensors", c->file);
        const char *path = hu_path(dir, name);
        if (c->header) {
            unsigned char zeros[64] = {0};
            hu_write_st(path, c->header, zeros, c->data_len);
        } else {
            hu_write_file(path, c->raw, c->raw_len);
        }
        rm_safetensors *st = (rm_safetensors *)&st; /* must be reset to NULL */
        HU_EXPECT_ERROR(rm_safetensors_open(path, &st), c->status, path, c->needle1,
                        c->needle2 ? c->needle2 : c->needle1);
        print_message("%-22s -> %s\n", c->file, repmlp_last_error());
        assert_null(st);
    }
}

static void unreadable_files(void **state) {
    (void)state;
    rm_safetensors *st = NULL;
    const char *missing = hu_path(dir, "missing.safetensors");
    HU_EXPECT_ERROR(rm_safetensors_open(missing, &st), REPMLP_ERROR_IO, missing, "cannot open");
    HU_EXPECT_ERROR(rm_safetensors_open(dir, &st), REPMLP_ERROR_IO, dir, "not a regular file");
    assert_null(st);
}

/* Every allocation of a write and a read fails in turn: the status says so, and nothing
 * leaks (LeakSanitizer) or is left on disk. */
static void allocation_failures(void **state) {
    (void)state;
    if (!rm_fault_enabled())
        ts_skip("failure injection is not compiled in: configure with -DREPMLP_FAULT_INJECTION=ON");
    const char *path = hu_path(dir, "fault.safetensors");
    const float x[4] = {1, 2, 3, 4};
    size_t files_before = hu_count_files(dir);
    int failures = 0;
    for (long n = 1;; n++) {
        rm_fault_arm(RM_FAULT_HOST_ALLOC, n);
        rm_st_writer *w = NULL;
        repmlp_status s = rm_st_writer_create(&w);
        if (s == REPMLP_OK) s = rm_st_writer_set_metadata(w, "k", "v");
        if (s == REPMLP_OK) s = rm_st_writer_add_f32(w, "a", 1, (int64_t[]){4}, x);
        if (s == REPMLP_OK) s = rm_st_writer_add_f32(w, "b", 2, (int64_t[]){2, 2}, x);
        if (s == REPMLP_OK) s = rm_st_writer_write(w, path);
        rm_st_writer_destroy(w);
        rm_safetensors *st = NULL;
        if (s == REPMLP_OK) s = rm_safetensors_open(path, &st);
        rm_safetensors_close(st);
        long calls = rm_fault_calls(RM_FAULT_HOST_ALLOC);
        rm_fault_arm(RM_FAULT_HOST_ALLOC, 0);
        if (n > calls) {
            hu_expect_ok(s);
            break;
        }
        HU_EXPECT_ERROR(s, REPMLP_ERROR_OUT_OF_HOST_MEMORY, "out of host memory");
        failures++;
        remove(path);
        assert_int_equal(hu_count_files(dir), files_before);
    }
    print_message("%d allocation failure points checked\n", failures);
    assert_true(failures > 10);
    remove(path);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(round_trip_all_dtypes), cmocka_unit_test(writer_replaces_atomically),
        cmocka_unit_test(writer_errors),         cmocka_unit_test(f16_bf16_f64_conversions),
        cmocka_unit_test(unaligned_data),        cmocka_unit_test(read_f32_checks),
        cmocka_unit_test(malformed_files),       cmocka_unit_test(unreadable_files),
        cmocka_unit_test(allocation_failures),
    };
    return ts_exit_code(ts_run_group(tests, setup, teardown));
}
