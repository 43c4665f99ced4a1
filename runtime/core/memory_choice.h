/* Private: which memory type a buffer's memory comes from. Pure (no device, no context): the
 * tests run it over the memory properties of real GPUs (tests/test_memory_choice.c). Where
 * each kind of buffer lands on each class of device: docs/MEMORY.md. */
#ifndef RM_MEMORY_CHOICE_H
#define RM_MEMORY_CHOICE_H

#include <stdbool.h>
#include <stdint.h>

#include <volk.h>

/* What a buffer is for: it decides the memory it gets. */
typedef enum rm_buffer_kind {
    /* Model weights: large, written once. Device-local memory the host cannot see on a discrete
     * GPU (uploaded through staging); mapped where the device shares host memory. */
    RM_BUFFER_WEIGHTS = 0,
    /* Activations (the arena, the tuner's scratch, buffers of op tests): as weights. */
    RM_BUFFER_ACTIVATIONS,
    /* Small input, output and top-k buffers: also mapped on a discrete GPU when they fit in a
     * bounded share of its host-visible device-local (BAR) heap. */
    RM_BUFFER_IO,
    /* Host-visible staging, host -> device: system memory where the device has its own. */
    RM_BUFFER_UPLOAD,
    /* Host-visible staging, device -> host: host-cached where the device offers it. */
    RM_BUFFER_READBACK,
} rm_buffer_kind;

/* An I/O buffer goes to a small BAR heap only if it is at most this size, at most a 16th of
 * the heap, and the library's buffers there stay within a quarter of it. */
#define RM_BAR_IO_MAX_BYTES ((uint64_t)16 << 20)

typedef struct rm_memory_request {
    rm_buffer_kind kind;
    uint64_t size;             /* VkMemoryRequirements.size */
    uint32_t allowed;          /* VkMemoryRequirements.memoryTypeBits */
    bool force_staging;        /* REPMLP_CONTEXT_FORCE_STAGING: the discrete path anywhere */
    const uint64_t *heap_used; /* the library's bytes in each heap now (NULL: none) */
} rm_memory_request;

typedef struct rm_memory_choice {
    int type; /* memory type index; -1: no allowed type can hold the request */
    int heap; /* its heap */
    bool map; /* the host reads and writes the buffer through a mapping (always coherent) */
} rm_memory_choice;

/* The largest device-local heap: where weights and activations go. */
uint32_t rm_memory_main_heap(const VkPhysicalDeviceMemoryProperties *p);
/* Unified memory: the main heap has a device-local, host-visible, coherent type and no
 * host-visible type lives outside a device-local heap (integrated GPUs, phones, Apple, CPU
 * drivers). A discrete GPU has system memory apart, Resizable BAR or not. */
bool rm_memory_is_uma(const VkPhysicalDeviceMemoryProperties *p);
/* Never picks a host-visible type that is not host-coherent. */
rm_memory_choice rm_memory_choose(const VkPhysicalDeviceMemoryProperties *p,
                                  const rm_memory_request *req);
const char *rm_buffer_kind_name(rm_buffer_kind kind);

#endif
