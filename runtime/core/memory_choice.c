/* The memory type of each kind of buffer (docs/MEMORY.md). */
#include "core/memory_choice.h"

#define DL VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT
#define HV VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT
#define HC VK_MEMORY_PROPERTY_HOST_COHERENT_BIT
#define CACHED VK_MEMORY_PROPERTY_HOST_CACHED_BIT
/* Never for a buffer of the library: protected and lazily allocated memory, and AMD's
 * device-coherent types (they need a device feature the library does not enable). */
#define NEVER                                                                                      \
    (VK_MEMORY_PROPERTY_PROTECTED_BIT | VK_MEMORY_PROPERTY_LAZILY_ALLOCATED_BIT |                  \
     VK_MEMORY_PROPERTY_DEVICE_COHERENT_BIT_AMD | VK_MEMORY_PROPERTY_DEVICE_UNCACHED_BIT_AMD)

uint32_t rm_memory_main_heap(const VkPhysicalDeviceMemoryProperties *p) {
    uint32_t best = 0;
    bool found = false;
    for (uint32_t i = 0; i < p->memoryHeapCount; i++)
        if ((p->memoryHeaps[i].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT) &&
            (!found || p->memoryHeaps[i].size > p->memoryHeaps[best].size)) {
            best = i;
            found = true;
        }
    return best;
}

static bool heap_device_local(const VkPhysicalDeviceMemoryProperties *p, uint32_t heap) {
    return (p->memoryHeaps[heap].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT) != 0;
}

bool rm_memory_is_uma(const VkPhysicalDeviceMemoryProperties *p) {
    uint32_t main_heap = rm_memory_main_heap(p);
    bool mappable_main = false;
    for (uint32_t i = 0; i < p->memoryTypeCount; i++) {
        const VkMemoryType *t = &p->memoryTypes[i];
        if ((t->propertyFlags & HV) && !heap_device_local(p, t->heapIndex)) return false;
        if (t->heapIndex == main_heap && (t->propertyFlags & (DL | HV | HC)) == (DL | HV | HC))
            mappable_main = true;
    }
    return mappable_main;
}

/* The allowed type with every flag of `want` and none of `avoid` whose heap can hold `size`,
 * in the largest such heap (the lowest index among equals); -1 if none. */
static int find(const VkPhysicalDeviceMemoryProperties *p, const rm_memory_request *req,
                VkMemoryPropertyFlags want, VkMemoryPropertyFlags avoid) {
    int best = -1;
    for (uint32_t i = 0; i < p->memoryTypeCount; i++) {
        VkMemoryPropertyFlags f = p->memoryTypes[i].propertyFlags;
        uint64_t heap_size = p->memoryHeaps[p->memoryTypes[i].heapIndex].size;
        if (!(req->allowed & (1u << i)) || (f & want) != want || (f & (avoid | NEVER)) ||
            heap_size < req->size)
            continue;
        if (best < 0 || heap_size > p->memoryHeaps[p->memoryTypes[best].heapIndex].size)
            best = (int)i;
    }
    return best;
}

/* A device-local, host-visible, coherent type in a heap where a small I/O buffer may go: the
 * request is small and the library's share of the heap stays bounded. */
static int find_bar(const VkPhysicalDeviceMemoryProperties *p, const rm_memory_request *req) {
    for (uint32_t i = 0; i < p->memoryTypeCount; i++) {
        const VkMemoryType *t = &p->memoryTypes[i];
        uint64_t heap_size = p->memoryHeaps[t->heapIndex].size;
        uint64_t used = req->heap_used ? req->heap_used[t->heapIndex] : 0;
        if (!(req->allowed & (1u << i)) || (t->propertyFlags & (DL | HV | HC)) != (DL | HV | HC) ||
            (t->propertyFlags & NEVER))
            continue;
        if (req->size <= RM_BAR_IO_MAX_BYTES && req->size <= heap_size / 16 &&
            used <= heap_size / 4 && req->size <= heap_size / 4 - used)
            return (int)i;
    }
    return -1;
}

static int choose_type(const VkPhysicalDeviceMemoryProperties *p, const rm_memory_request *req) {
    int t = -1;
    switch (req->kind) {
        case RM_BUFFER_UPLOAD:
            if ((t = find(p, req, HV | HC, DL)) < 0) t = find(p, req, HV | HC, 0);
            return t;
        case RM_BUFFER_READBACK:
            if ((t = find(p, req, HV | HC | CACHED, DL)) < 0) t = find(p, req, HV | HC | CACHED, 0);
            if (t < 0 && (t = find(p, req, HV | HC, DL)) < 0) t = find(p, req, HV | HC, 0);
            return t;
        case RM_BUFFER_WEIGHTS:
        case RM_BUFFER_ACTIVATIONS:
        case RM_BUFFER_IO:
            break;
    }
    if (!req->force_staging && rm_memory_is_uma(p)) {
        /* Cached first: the tuner and the application read results straight from it. */
        if ((t = find(p, req, DL | HV | HC | CACHED, 0)) < 0) t = find(p, req, DL | HV | HC, 0);
        if (t >= 0) return t;
    }
    if (!req->force_staging && req->kind == RM_BUFFER_IO && (t = find_bar(p, req)) >= 0) return t;
    if ((t = find(p, req, DL, HV)) < 0 && (t = find(p, req, DL, 0)) < 0) t = find(p, req, 0, 0);
    return t;
}

rm_memory_choice rm_memory_choose(const VkPhysicalDeviceMemoryProperties *p,
                                  const rm_memory_request *req) {
    rm_memory_choice c = {.type = choose_type(p, req), .heap = -1};
    if (c.type < 0) return c;
    VkMemoryPropertyFlags f = p->memoryTypes[c.type].propertyFlags;
    c.heap = (int)p->memoryTypes[c.type].heapIndex;
    bool staging = req->kind == RM_BUFFER_UPLOAD || req->kind == RM_BUFFER_READBACK;
    c.map = (f & (HV | HC)) == (HV | HC) && (staging || !req->force_staging);
    return c;
}

const char *rm_buffer_kind_name(rm_buffer_kind kind) {
    switch (kind) {
        case RM_BUFFER_WEIGHTS:
            return "weights";
        case RM_BUFFER_ACTIVATIONS:
            return "activations";
        case RM_BUFFER_IO:
            return "input/output";
        case RM_BUFFER_UPLOAD:
            return "upload staging";
        case RM_BUFFER_READBACK:
            return "readback staging";
    }
    return "?";
}
