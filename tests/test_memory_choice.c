/* Where each kind of buffer lands (core/memory_choice.h) on the memory properties of real
 * devices, as public vulkaninfo reports print them (the report named above each device; where
 * a report shows only part of the list, the comment says what the rest follows). */
#include "host_util.h"

#include "core/memory_choice.h"

#define MiB ((uint64_t)1 << 20)
#define GiB ((uint64_t)1 << 30)
#define DL VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT
#define HV VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT
#define HC VK_MEMORY_PROPERTY_HOST_COHERENT_BIT
#define CACHED VK_MEMORY_PROPERTY_HOST_CACHED_BIT
#define LAZY VK_MEMORY_PROPERTY_LAZILY_ALLOCATED_BIT
#define AMD_COHERENT                                                                               \
    (VK_MEMORY_PROPERTY_DEVICE_COHERENT_BIT_AMD | VK_MEMORY_PROPERTY_DEVICE_UNCACHED_BIT_AMD)
#define HEAP_DL VK_MEMORY_HEAP_DEVICE_LOCAL_BIT

/* RepMLPNet-B224's weights as packed on the device (docs/USAGE.md). */
#define B224_WEIGHTS (280 * MiB)

typedef struct device {
    const char *name;
    VkPhysicalDeviceMemoryProperties p;
    bool uma;
    int weights_heap; /* where weights, activations and a large I/O buffer go */
    int io_heap;      /* where a small I/O buffer goes, and whether it is mapped */
    bool io_mapped;
    int upload_heap;
    int readback_heap;
    bool readback_cached;
} device;

static const device devices[] = {
    /* NVIDIA GeForce, 4 GiB, no Resizable BAR: nvpro-samples/vk_slang_editor#1 (heaps as
     * printed, type 0 in heap 1 as printed; the other types in NVIDIA's six-type order, the
     * one the RTX 2080 of haasn/libplacebo#317, heaps 7987 MiB / 15 GiB / 214 MiB, shows). */
    {.name = "NVIDIA, no Resizable BAR",
     .p = {.memoryTypeCount = 6,
           .memoryTypes =
               {{0, 1}, {DL, 0}, {DL, 0}, {HV | HC, 1}, {HV | HC | CACHED, 1}, {DL | HV | HC, 2}},
           .memoryHeapCount = 3,
           .memoryHeaps = {{4120903680u, HEAP_DL}, {17154371584u, 0}, {224395264u, HEAP_DL}}},
     .uma = false,
     .weights_heap = 0,
     .io_heap = 2,
     .io_mapped = true,
     .upload_heap = 1,
     .readback_heap = 1,
     .readback_cached = true},
    /* NVIDIA GeForce, 8 GiB, Resizable BAR: k4yt3x/video2x#1447 (two heaps, 7956 MiB
     * device-local and 23 GiB of system memory: the host-visible VRAM type sits in heap 0). */
    {.name = "NVIDIA, Resizable BAR",
     .p = {.memoryTypeCount = 6,
           .memoryTypes =
               {{0, 1}, {DL, 0}, {DL, 0}, {HV | HC, 1}, {HV | HC | CACHED, 1}, {DL | HV | HC, 0}},
           .memoryHeapCount = 2,
           .memoryHeaps = {{7956 * MiB, HEAP_DL}, {23 * GiB, 0}}},
     .uma = false,
     .weights_heap = 0,
     .io_heap = 0,
     .io_mapped = true,
     .upload_heap = 1,
     .readback_heap = 1,
     .readback_cached = true},
    /* AMD Radeon, 8 GiB, RADV, no Resizable BAR: nowrep/obs-vkcapture#6 (heaps and types 0-1 as
     * printed; types 2-7 in RADV's order: the BAR type, cached system memory, then the same
     * four with AMD's device-coherent bits). */
    {.name = "AMD RADV, no Resizable BAR",
     .p = {.memoryTypeCount = 8,
           .memoryTypes = {{DL, 0},
                           {HV | HC, 1},
                           {DL | HV | HC, 2},
                           {HV | HC | CACHED, 1},
                           {DL | AMD_COHERENT, 0},
                           {HV | HC | AMD_COHERENT, 1},
                           {DL | HV | HC | AMD_COHERENT, 2},
                           {HV | HC | CACHED | AMD_COHERENT, 1}},
           .memoryHeapCount = 3,
           .memoryHeaps = {{8321499136u, HEAP_DL}, {8573157376u, 0}, {268435456u, HEAP_DL}}},
     .uma = false,
     .weights_heap = 0,
     .io_heap = 2,
     .io_mapped = true,
     .upload_heap = 1,
     .readback_heap = 1,
     .readback_cached = true},
    /* AMD Radeon, 16 GiB, RADV with Resizable BAR: RADV drops the separate visible heap when
     * the BAR covers all of VRAM, so its host-visible type moves to heap 0. */
    {.name = "AMD RADV, Resizable BAR",
     .p = {.memoryTypeCount = 4,
           .memoryTypes = {{DL, 0}, {HV | HC, 1}, {DL | HV | HC, 0}, {HV | HC | CACHED, 1}},
           .memoryHeapCount = 2,
           .memoryHeaps = {{16 * GiB, HEAP_DL}, {16 * GiB, 0}}},
     .uma = false,
     .weights_heap = 0,
     .io_heap = 0,
     .io_mapped = true,
     .upload_heap = 1,
     .readback_heap = 1,
     .readback_cached = true},
    /* Intel UHD Graphics 620, Mesa ANV: one heap (GPUOpen-Effects/FidelityFX-FSR2#87), one type
     * on GPUs sharing the CPU's last-level cache (anv_device.c as quoted in dxvk#947). */
    {.name = "Intel integrated (ANV)",
     .p = {.memoryTypeCount = 1,
           .memoryTypes = {{DL | HV | HC | CACHED, 0}},
           .memoryHeapCount = 1,
           .memoryHeaps = {{6 * GiB, HEAP_DL}}},
     .uma = true,
     .weights_heap = 0,
     .io_heap = 0,
     .io_mapped = true,
     .upload_heap = 0,
     .readback_heap = 0,
     .readback_cached = true},
    /* Arm Mali (Arm's driver, Android): one 3.56 GiB heap, first type DL|HV|HC
     * (termux/termux-packages#19460); then Arm's cached and cached-coherent types and the
     * lazily allocated one for transient attachments. */
    {.name = "Arm Mali",
     .p = {.memoryTypeCount = 4,
           .memoryTypes = {{DL | HV | HC, 0},
                           {DL | HV | CACHED, 0},
                           {DL | HV | HC | CACHED, 0},
                           {DL | LAZY, 0}},
           .memoryHeapCount = 1,
           .memoryHeaps = {{3825762304u, HEAP_DL}}},
     .uma = true,
     .weights_heap = 0,
     .io_heap = 0,
     .io_mapped = true,
     .upload_heap = 0,
     .readback_heap = 0,
     .readback_cached = true},
    /* Qualcomm Adreno 640 (Qualcomm's driver, "uma: 1" in ggml-org/whisper.cpp#2765): one heap;
     * a device-only type, then write-combined, cached (not coherent) and cached-coherent ones. */
    {.name = "Qualcomm Adreno",
     .p = {.memoryTypeCount = 4,
           .memoryTypes =
               {{DL, 0}, {DL | HV | HC, 0}, {DL | HV | CACHED, 0}, {DL | HV | HC | CACHED, 0}},
           .memoryHeapCount = 1,
           .memoryHeaps = {{5 * GiB, HEAP_DL}}},
     .uma = true,
     .weights_heap = 0,
     .io_heap = 0,
     .io_mapped = true,
     .upload_heap = 0,
     .readback_heap = 0,
     .readback_cached = true},
    /* Apple M1, MoltenVK: KhronosGroup/MoltenVK#2292 (one 16 GiB heap; private, shared,
     * managed and memoryless types as printed). */
    {.name = "Apple M1 (MoltenVK)",
     .p = {.memoryTypeCount = 4,
           .memoryTypes =
               {{DL, 0}, {DL | HV | HC | CACHED, 0}, {DL | HV | CACHED, 0}, {DL | LAZY, 0}},
           .memoryHeapCount = 1,
           .memoryHeaps = {{16 * GiB, HEAP_DL}}},
     .uma = true,
     .weights_heap = 0,
     .io_heap = 0,
     .io_mapped = true,
     .upload_heap = 0,
     .readback_heap = 0,
     .readback_cached = true},
    /* Mesa lavapipe and SwiftShader, the test suite's drivers: one heap, one type. */
    {.name = "CPU driver",
     .p = {.memoryTypeCount = 1,
           .memoryTypes = {{DL | HV | HC | CACHED, 0}},
           .memoryHeapCount = 1,
           .memoryHeaps = {{8 * GiB, HEAP_DL}}},
     .uma = true,
     .weights_heap = 0,
     .io_heap = 0,
     .io_mapped = true,
     .upload_heap = 0,
     .readback_heap = 0,
     .readback_cached = true},
};

static rm_memory_choice choose(const device *d, rm_buffer_kind kind, uint64_t size, bool force,
                               const uint64_t *used) {
    rm_memory_request req = {.kind = kind,
                             .size = size,
                             .allowed = (1u << d->p.memoryTypeCount) - 1,
                             .force_staging = force,
                             .heap_used = used};
    return rm_memory_choose(&d->p, &req);
}

static VkMemoryPropertyFlags flags_of(const device *d, rm_memory_choice c) {
    return d->p.memoryTypes[c.type].propertyFlags;
}

static void expect(const device *d, const char *what, rm_memory_choice c, int heap, bool map) {
    if (c.type < 0) fail_msg("%s: %s: no memory type", d->name, what);
    if (c.heap != heap || c.map != map)
        fail_msg("%s: %s: type %d in heap %d (%s), want heap %d (%s)", d->name, what, c.type,
                 c.heap, c.map ? "mapped" : "not mapped", heap, map ? "mapped" : "not mapped");
    if (c.map && !(flags_of(d, c) & HC))
        fail_msg("%s: %s: mapped memory that is not host-coherent", d->name, what);
}

/* Weights and activations on VRAM the host cannot see on a discrete GPU (mapped on UMA), small
 * I/O in the BAR heap where there is one, staging in system memory, readback cached. */
static void every_device(void **state) {
    (void)state;
    for (size_t i = 0; i < sizeof devices / sizeof devices[0]; i++) {
        const device *d = &devices[i];
        print_message("%s\n", d->name);
        assert_int_equal(rm_memory_is_uma(&d->p), d->uma);
        assert_int_equal(rm_memory_main_heap(&d->p), d->weights_heap);
        rm_memory_choice w = choose(d, RM_BUFFER_WEIGHTS, B224_WEIGHTS, false, NULL);
        expect(d, "280 MiB of weights", w, d->weights_heap, d->uma);
        if (!d->uma && (flags_of(d, w) & HV))
            fail_msg("%s: weights in host-visible VRAM on a discrete GPU", d->name);
        assert_true(d->p.memoryHeaps[w.heap].size >= B224_WEIGHTS);
        expect(d, "activations", choose(d, RM_BUFFER_ACTIVATIONS, 7 * MiB, false, NULL),
               d->weights_heap, d->uma);
        expect(d, "4 KiB output", choose(d, RM_BUFFER_IO, 4096, false, NULL), d->io_heap,
               d->io_mapped);
        expect(d, "588 KiB input", choose(d, RM_BUFFER_IO, 224 * 224 * 3 * 4, false, NULL),
               d->io_heap, d->io_mapped);
        /* A batch's input too large for a small BAR heap's share stays in VRAM, staged. */
        expect(d, "64 MiB input", choose(d, RM_BUFFER_IO, 64 * MiB, false, NULL), d->weights_heap,
               d->uma);
        expect(d, "upload staging", choose(d, RM_BUFFER_UPLOAD, B224_WEIGHTS, false, NULL),
               d->upload_heap, true);
        rm_memory_choice rb = choose(d, RM_BUFFER_READBACK, 4096, false, NULL);
        expect(d, "readback staging", rb, d->readback_heap, true);
        assert_int_equal((flags_of(d, rb) & CACHED) != 0, d->readback_cached);
    }
}

/* REPMLP_CONTEXT_FORCE_STAGING takes the discrete path anywhere: nothing but staging is mapped,
 * and a discrete GPU's I/O leaves the BAR heap. */
static void force_staging(void **state) {
    (void)state;
    for (size_t i = 0; i < sizeof devices / sizeof devices[0]; i++) {
        const device *d = &devices[i];
        expect(d, "forced weights", choose(d, RM_BUFFER_WEIGHTS, B224_WEIGHTS, true, NULL),
               d->weights_heap, false);
        expect(d, "forced output", choose(d, RM_BUFFER_IO, 4096, true, NULL), d->weights_heap,
               false);
        expect(d, "forced upload", choose(d, RM_BUFFER_UPLOAD, 4096, true, NULL), d->upload_heap,
               true);
        expect(d, "forced readback", choose(d, RM_BUFFER_READBACK, 4096, true, NULL),
               d->readback_heap, true);
    }
}

/* The library takes at most a quarter of a small BAR heap: past it, I/O goes to VRAM, staged. */
static void bar_share_bounded(void **state) {
    (void)state;
    const device *d = &devices[0];
    uint64_t used[VK_MAX_MEMORY_HEAPS] = {0};
    uint64_t bar = d->p.memoryHeaps[2].size;
    used[2] = bar / 4 - 4096;
    expect(d, "output within the share", choose(d, RM_BUFFER_IO, 4096, false, used), 2, true);
    used[2] = bar / 4 - 4095;
    expect(d, "output past the share", choose(d, RM_BUFFER_IO, 4096, false, used), 0, false);
    used[2] = bar; /* more than the share already (counted before a cap): no underflow */
    expect(d, "output, BAR full", choose(d, RM_BUFFER_IO, 4096, false, used), 0, false);
}

/* Only allowed types are taken; a request no heap can hold gets none; a non-coherent
 * host-visible type is never taken for mapping. */
static void allowed_and_impossible(void **state) {
    (void)state;
    const device *nv = &devices[0];
    rm_memory_request req = {.kind = RM_BUFFER_WEIGHTS, .size = 4096, .allowed = 1u << 5};
    rm_memory_choice c = rm_memory_choose(&nv->p, &req);
    assert_int_equal(c.type, 5); /* only the BAR type allowed: taken, mapped */
    assert_true(c.map);
    req.allowed = 0x3f;
    req.size = 32 * GiB;
    assert_int_equal(rm_memory_choose(&nv->p, &req).type, -1);
    /* MoltenVK's managed type (HV | CACHED, not coherent) is never a readback buffer's. */
    const device *apple = &devices[7];
    req = (rm_memory_request){.kind = RM_BUFFER_READBACK, .size = 4096, .allowed = 1u << 2};
    assert_int_equal(rm_memory_choose(&apple->p, &req).type, -1);
    /* Nor memoryless memory a device buffer's. */
    req = (rm_memory_request){.kind = RM_BUFFER_ACTIVATIONS, .size = 4096, .allowed = 1u << 3};
    assert_int_equal(rm_memory_choose(&apple->p, &req).type, -1);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_device),
        cmocka_unit_test(force_staging),
        cmocka_unit_test(bar_share_bounded),
        cmocka_unit_test(allowed_and_impossible),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
