/* The masked difference of two device timestamps (core/timestamp.h): only the queue's valid
 * bits count, and a counter that wrapped between the stamps still gives the true distance. */
#include "test_support.h"

#include "core/timestamp.h"

static void plain_difference(void **state) {
    (void)state;
    assert_int_equal(rm_timestamp_ticks(1000, 1750, 36), 750);
    assert_int_equal(rm_timestamp_ticks(5, 5, 64), 0);
    assert_int_equal(rm_timestamp_ticks(0, ~0ull, 64), ~0ull);
}

static void wraps_at_the_valid_bits(void **state) {
    (void)state;
    /* 36 valid bits: the counter went from 2^36 - 100 through 0 to 50. */
    const uint64_t top = 1ull << 36;
    assert_int_equal(rm_timestamp_ticks(top - 100, 50, 36), 150);
    /* 64 bits wrap like the unsigned type. */
    assert_int_equal(rm_timestamp_ticks(~0ull - 9, 20, 64), 30);
    /* 1 valid bit: 1 -> 0 is one tick. */
    assert_int_equal(rm_timestamp_ticks(1, 0, 1), 1);
}

static void ignores_bits_above_the_valid_ones(void **state) {
    (void)state;
    /* Undefined high bits (here garbage in bits 40 and up) do not reach the difference. */
    const uint64_t junk = 0xabcdull << 40;
    assert_int_equal(rm_timestamp_ticks(junk | 10, 30, 40), 20);
    assert_int_equal(rm_timestamp_ticks(10, junk | 30, 40), 20);
    assert_int_equal(rm_timestamp_ticks((1ull << 40) - 1, junk | 4, 40), 5);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(plain_difference),
        cmocka_unit_test(wraps_at_the_valid_bits),
        cmocka_unit_test(ignores_bits_above_the_valid_ones),
    };
    return ts_exit_code(ts_run_group(tests, NULL, NULL));
}
