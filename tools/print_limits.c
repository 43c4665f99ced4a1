#include "print_limits.h"

#include <string.h>

/* "134217728 B (128 MiB)" */
static const char *bytes(char *buf, size_t size, unsigned long long n) {
    if (n >= (1ull << 20) && n % (1ull << 20) == 0)
        snprintf(buf, size, "%llu B (%llu MiB)", n, n >> 20);
    else
        snprintf(buf, size, "%llu B", n);
    return buf;
}

void rm_print_limits(FILE *f, const repmlp_context *ctx, const char *indent) {
    repmlp_device_limits l;
    if (repmlp_context_limits(ctx, &l) != REPMLP_OK) {
        fprintf(f, "%slimits: unavailable (%s)\n", indent, repmlp_last_error());
        return;
    }
    char a[64], b[64], c[64];
    if (strcmp(l.profile, "none") == 0)
        fprintf(f, "%slimits in effect: the device's own (REPMLP_DEVICE_PROFILE not set)\n",
                indent);
    else
        fprintf(f,
                "%slimits in effect: device profile %s (REPMLP_DEVICE_PROFILE), not the "
                "device's own\n",
                indent, l.profile);
    fprintf(f,
            "%s  workgroups: %u invocations, size %u x %u x %u, grid %u x %u x %u, "
            "shared memory %u B, push constants %u B\n",
            indent, l.max_workgroup_invocations, l.max_workgroup_size[0], l.max_workgroup_size[1],
            l.max_workgroup_size[2], l.max_workgroup_count[0], l.max_workgroup_count[1],
            l.max_workgroup_count[2], l.max_shared_memory, l.max_push_constants);
    fprintf(f,
            "%s  descriptors: per stage %u storage buffers, %u sampled images (texel buffers), "
            "%u uniform buffers; %u storage buffers per layout, %u per set, %u bound sets\n",
            indent, l.max_per_stage_storage_buffers, l.max_per_stage_sampled_images,
            l.max_per_stage_uniform_buffers, l.max_descriptor_set_storage_buffers,
            l.max_per_set_descriptors, l.max_bound_descriptor_sets);
    fprintf(f,
            "%s  buffers: allocation %s, storage range %s, texel buffers %llu elements, "
            "offset alignment %llu (storage) / %llu (texel), device-local heap %s\n",
            indent, bytes(a, sizeof a, l.max_allocation_size),
            bytes(b, sizeof b, l.max_storage_buffer_range),
            (unsigned long long)l.max_texel_buffer_elements,
            (unsigned long long)l.min_storage_buffer_offset_alignment,
            (unsigned long long)l.min_texel_buffer_offset_alignment,
            bytes(c, sizeof c, l.device_local_bytes));
    fprintf(f,
            "%s  features: subgroup %u (workgroups planned for %u), subgroup arithmetic %s, "
            "16-bit storage %s, timestamps %s (%u bits)\n",
            indent, l.subgroup_size, l.plan_subgroup_size, l.subgroup_arithmetic ? "yes" : "no",
            l.storage_16bit ? "yes" : "no", l.timestamps ? "yes" : "no", l.timestamp_valid_bits);
}
