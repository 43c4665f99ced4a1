/* Model loading without a device on arbitrary bytes: fused-file metadata, config, tensor
 * table, graph building and memory planning; and the public metadata reader on the same bytes
 * in memory (repmlp_model_info_read_memory). */
#include "exec/model.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    (void)rm_model_check_file(fuzz_write_input(data, size), 2);
    repmlp_model_info info;
    (void)repmlp_model_info_read_memory(data, size, &info);
    return 0;
}
