/* The safetensors reader on arbitrary bytes: every tensor it accepts must be readable and
 * convertible within its bounds. */
#include <stdlib.h>

#include "fuzz_util.h"
#include "io/safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    rm_safetensors *st;
    if (rm_safetensors_open(fuzz_write_input(data, size), &st) != REPMLP_OK) return 0;
    (void)rm_safetensors_metadata(st, "format");
    for (size_t i = 0; i < rm_safetensors_count(st); i++) {
        const rm_st_tensor *t = rm_safetensors_tensor_at(st, i);
        if (rm_dtype_is_float(t->dtype) && t->count < (1u << 20)) {
            double *d = malloc((t->count ? t->count : 1) * sizeof *d);
            if (!rm_st_tensor_to_f64(t, d)) abort();
            free(d);
        }
        if (rm_safetensors_find(st, t->name) != t) abort();
    }
    rm_safetensors_close(st);
    return 0;
}
