/** @file
 * repmlp-vk: RepMLP inference on Vulkan. The umbrella header of the stable tier: status.h,
 * context.h, model.h, session.h and fuse.h (not vulkan.h, which needs Vulkan's headers). With
 * REPMLP_EXPERIMENTAL defined it also includes the experimental tensor_file.h (docs/API.md). */
#ifndef REPMLP_H
#define REPMLP_H

#include "repmlp/version.h"
#include "repmlp/status.h"
#include "repmlp/context.h"
#include "repmlp/model.h"
#include "repmlp/session.h"
#include "repmlp/fuse.h"
#if defined(REPMLP_EXPERIMENTAL)
#include "repmlp/tensor_file.h"
#endif

#endif
