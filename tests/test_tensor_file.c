/* The public safetensors reader and writer (repmlp/tensor_file.h): round trips, integer
 * conversions, every rejection with its message, and every host allocation failing in turn. */
#include "host_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/fault.h"
#include "repmlp/tensor_file.h"

static char *dir;

static int setup(void **state) {
    (void)state;
    dir = hu_tmpdir("tensor-file");
    return 0;
}

static int teardown(void **state) {
    (void)state;
    hu_tmpdir_remove(dir);
    return 0;
}

static void round_trip(void **state) {
    (void)state;
    const char *path = hu_path(dir, "out.safetensors");
    const float data[6] = {1.5f, -2.0f, 3.25f, 0.0f, -0.125f, 1e30f};
    const int64_t shape[2] = {2, 3};
    hu_expect_ok(repmlp_tensor_file_write_f32(path, "output", 2, shape, data));
    repmlp_tensor_file *f = NULL;
    hu_expect_ok(repmlp_tensor_file_open(path, &f));
    repmlp_tensor_info info;
    hu_expect_ok(repmlp_tensor_file_find(f, "output", &info));
    assert_string_equal(info.dtype, "F32");
    assert_true(info.is_float);
    assert_false(info.is_integer);
    assert_int_equal(info.ndim, 2);
    assert_int_equal(info.shape[0], 2);
    assert_int_equal(info.shape[1], 3);
    assert_int_equal(info.count, 6);
    float back[6];
    double back64[6];
    hu_expect_ok(repmlp_tensor_file_read_f32(f, "output", back, 6));
    assert_memory_equal(back, data, sizeof data);
    hu_expect_ok(repmlp_tensor_file_read_f64(f, "output", back64, 6));
    for (int i = 0; i < 6; i++) assert_true(back64[i] == (double)data[i]);
    HU_EXPECT_ERROR(repmlp_tensor_file_read_f32(f, "output", back, 5), REPMLP_ERROR_FORMAT,
                    "out.safetensors", "tensor 'output' has 6 elements, not 5");
    int64_t ints[6];
    HU_EXPECT_ERROR(repmlp_tensor_file_read_i64(f, "output", ints, 6), REPMLP_ERROR_FORMAT,
                    "tensor 'output'", "dtype F32 is not an integer dtype");
    HU_EXPECT_ERROR(repmlp_tensor_file_find(f, "input", &info), REPMLP_ERROR_FORMAT,
                    "out.safetensors: tensor 'input' is missing");
    repmlp_tensor_file_close(f);
    repmlp_tensor_file_close(NULL);
}

/* Every integer dtype becomes int64, sign-extended where signed. */
static void integers(void **state) {
    (void)state;
    const char *path = hu_path(dir, "ints.safetensors");
    const unsigned char bytes[] = {
        0xff, 0xfe,                                     /* I8 {-1, -2} */
        0xfe, 0xff, 0x05, 0x00,                         /* I16 {-2, 5} */
        0xfd, 0xff, 0xff, 0xff, 0x07, 0x00, 0x00, 0x00, /* I32 {-3, 7} */
        0xff, 0x02,                                     /* U8 {255, 2} */
    };
    hu_write_st(path,
                "{\"a\":{\"dtype\":\"I8\",\"shape\":[2],\"data_offsets\":[0,2]},"
                "\"b\":{\"dtype\":\"I16\",\"shape\":[2],\"data_offsets\":[2,6]},"
                "\"c\":{\"dtype\":\"I32\",\"shape\":[2],\"data_offsets\":[6,14]},"
                "\"d\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[14,16]}}",
                bytes, sizeof bytes);
    repmlp_tensor_file *f = NULL;
    hu_expect_ok(repmlp_tensor_file_open(path, &f));
    const struct {
        const char *name;
        int64_t want[2];
    } cases[] = {{"a", {-1, -2}}, {"b", {-2, 5}}, {"c", {-3, 7}}, {"d", {255, 2}}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int64_t got[2];
        repmlp_tensor_info info;
        hu_expect_ok(repmlp_tensor_file_find(f, cases[i].name, &info));
        assert_true(info.is_integer);
        hu_expect_ok(repmlp_tensor_file_read_i64(f, cases[i].name, got, 2));
        assert_int_equal(got[0], cases[i].want[0]);
        assert_int_equal(got[1], cases[i].want[1]);
    }
    float x[2];
    HU_EXPECT_ERROR(repmlp_tensor_file_read_f32(f, "c", x, 2), REPMLP_ERROR_FORMAT, "tensor 'c'",
                    "dtype I32 is not a float dtype");
    repmlp_tensor_file_close(f);
}

static void rejections(void **state) {
    (void)state;
    repmlp_tensor_file *f = (repmlp_tensor_file *)&f;
    const char *missing = hu_path(dir, "absent.safetensors");
    HU_EXPECT_ERROR(repmlp_tensor_file_open(missing, &f), REPMLP_ERROR_IO, missing, "cannot open");
    assert_null(f);
    const char *bad = hu_path(dir, "bad.safetensors");
    hu_write_file(bad, "abc", 3);
    HU_EXPECT_ERROR(repmlp_tensor_file_open(bad, &f), REPMLP_ERROR_FORMAT, bad, "too short");
    HU_EXPECT_ERROR(repmlp_tensor_file_open(NULL, &f), REPMLP_ERROR_INVALID_ARGUMENT,
                    "NULL argument");
    const int64_t shape[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
    const float one = 1;
    const char *out = hu_path(dir, "nine.safetensors");
    HU_EXPECT_ERROR(repmlp_tensor_file_write_f32(out, "x", 9, shape, &one),
                    REPMLP_ERROR_INVALID_ARGUMENT, "9 dimensions, at most 8");
    assert_false(hu_exists(out));
    HU_EXPECT_ERROR(repmlp_tensor_file_write_f32(hu_path(dir, "no-such-dir/x.safetensors"), "x", 1,
                                                 shape, &one),
                    REPMLP_ERROR_IO, "no-such-dir");
    HU_EXPECT_ERROR(repmlp_tensor_file_write_f32(out, "__metadata__", 1, shape, &one),
                    REPMLP_ERROR_INVALID_ARGUMENT, "tensor name '__metadata__' is reserved");
    assert_false(hu_exists(out));
}

/* Host allocation failures in a write and a read: a clean status and message, no file left
 * half-written, the next pass fine. */
static repmlp_status pass(const char *path) {
    const float data[4] = {1, 2, 3, 4};
    const int64_t shape[1] = {4};
    repmlp_status s = repmlp_tensor_file_write_f32(path, "t", 1, shape, data);
    repmlp_tensor_file *f = NULL;
    float back[4];
    if (s == REPMLP_OK) s = repmlp_tensor_file_open(path, &f);
    if (s == REPMLP_OK) s = repmlp_tensor_file_read_f32(f, "t", back, 4);
    if (s == REPMLP_OK) assert_memory_equal(back, data, sizeof data);
    repmlp_tensor_file_close(f);
    return s;
}

static void host_faults(void **state) {
    (void)state;
    if (!rm_fault_enabled())
        ts_skip("failure injection is not compiled in: configure with -DREPMLP_FAULT_INJECTION=ON");
    const char *path = hu_path(dir, "faults.safetensors");
    rm_fault_arm(RM_FAULT_HOST_ALLOC, 0);
    hu_expect_ok(pass(path));
    long calls = rm_fault_calls(RM_FAULT_HOST_ALLOC), failures = 0;
    for (long n = 1; n <= calls; n++) {
        remove(path);
        rm_fault_arm(RM_FAULT_HOST_ALLOC, n);
        repmlp_status s = pass(path);
        rm_fault_arm(RM_FAULT_HOST_ALLOC, 0);
        if (s == REPMLP_OK) continue;
        failures++;
        assert_int_equal(s, REPMLP_ERROR_OUT_OF_HOST_MEMORY);
        assert_null(strchr(repmlp_last_error(), '\n'));
        assert_true(strlen(repmlp_last_error()) > 0);
    }
    assert_true(failures >= 1);
    hu_expect_ok(pass(path));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(round_trip),
        cmocka_unit_test(integers),
        cmocka_unit_test(rejections),
        cmocka_unit_test(host_faults),
    };
    return ts_exit_code(ts_run_group(tests, setup, teardown));
}
