/* Model loading without a device on arbitrary bytes: fused-file metadata, config, tensor
 * table, graph building and memory planning. */
#include "exec/model.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    (void)rm_model_check_file(fuzz_write_input(data, size), 2);
    return 0;
}
