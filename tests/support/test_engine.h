/* An "engine" for the embedding tests: an application that owns Vulkan (its own instance with
 * the validation layer when the run asks for it, a device made after asking the library what it
 * can use, one queue) and imports it into the library. */
#ifndef RM_TEST_ENGINE_H
#define RM_TEST_ENGINE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <volk.h>

#include "repmlp/vulkan.h"

typedef struct ts_engine {
    VkInstance instance;
    VkDebugUtilsMessengerEXT messenger;
    VkPhysicalDevice physical;
    VkDevice device;
    VkQueue queue;
    uint32_t family;
    struct VolkDeviceTable vk;
    /* Validation warnings and errors: the layer calls back on whichever thread made the call. */
    atomic_uint messages;
    bool
        timeline; /* timeline semaphores enabled (ts_engine_start_timeline on a device with them) */
} ts_engine;

/* Creates the instance (validation and a messenger counting into e->messages when
 * ts_context_flags() asks for it), picks the one physical device the run's driver offers and
 * creates the device with what repmlp_vulkan_query reports usable. Fails the test on error. */
void ts_engine_start(ts_engine *e);
/* ts_engine_start, and timeline semaphores enabled where the device has them (e->timeline). */
void ts_engine_start_timeline(ts_engine *e);
/* Destroys the device and instance, then fails the test if validation reported anything. */
void ts_engine_stop(ts_engine *e);
/* The engine's instance, device and queue as a repmlp_vulkan_import (no queue lock). */
repmlp_vulkan_import ts_engine_import(const ts_engine *e);
/* A full memory barrier between two stages of `cmd`. */
void ts_engine_barrier(ts_engine *e, VkCommandBuffer cmd, VkPipelineStageFlags src,
                       VkAccessFlags src_access, VkPipelineStageFlags dst,
                       VkAccessFlags dst_access);

#endif
