/* repmlp-vk: RepMLP inference on Vulkan. The umbrella header; see each part for details. */
#ifndef REPMLP_H
#define REPMLP_H

#include "repmlp/version.h"
#include "repmlp/status.h"
#include "repmlp/context.h"
#include "repmlp/model.h"
#include "repmlp/fuse.h"
#include "repmlp/profile.h"
#include "repmlp/tensor_file.h"

#endif
