/* Status names and messages come from one table; check that they agree. */
#include "test_support.h"

#include <string.h>

#include "core/error.h"

static void names_and_strings(void **state) {
    (void)state;
    assert_string_equal(repmlp_status_name(REPMLP_OK), "REPMLP_OK");
    assert_string_equal(repmlp_status_name(REPMLP_ERROR_IO), "REPMLP_ERROR_IO");
    assert_string_equal(repmlp_status_string(REPMLP_ERROR_DEVICE_LOST), "Vulkan device lost");
    assert_string_equal(repmlp_status_name((repmlp_status)-999), "REPMLP_UNKNOWN");
#define CHECK(name, value, text)                                                                   \
    assert_int_equal(REPMLP_##name, value);                                                        \
    assert_string_equal(repmlp_status_string(REPMLP_##name), text);
    REPMLP_STATUS_MAP(CHECK)
#undef CHECK
}

static void last_error_is_per_call(void **state) {
    (void)state;
#ifdef REPMLP_TEST_HOOKS
    rm_clear_error();
    assert_string_equal(repmlp_last_error(), "");
#else
    ts_skip_note(
        "the empty last error needs rm_clear_error: configure with -DREPMLP_TEST_HOOKS=ON");
#endif
    assert_int_equal(rm_fail(REPMLP_ERROR_FORMAT, "%s: tensor '%s' bad", "f.st", "w"),
                     REPMLP_ERROR_FORMAT);
    assert_string_equal(repmlp_last_error(), "f.st: tensor 'w' bad");
    rm_fail_prefix(REPMLP_ERROR_FORMAT, "loading %s", "m");
    assert_string_equal(repmlp_last_error(), "loading m: f.st: tensor 'w' bad");
}

static void version(void **state) {
    (void)state;
    assert_int_equal(repmlp_version_number(), REPMLP_VERSION_NUMBER);
    /* The runtime spells the string from the numbers: a header whose string and numbers
     * disagree fails here. */
    assert_string_equal(repmlp_version_string(), REPMLP_VERSION_STRING);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(names_and_strings),
        cmocka_unit_test(last_error_is_per_call),
        cmocka_unit_test(version),
    };
    return ts_exit_code(ts_run_group(tests, NULL, NULL));
}
