/** @file
 * The library's version. The numbers are also in CMakeLists.txt's project() (configuring fails
 * when they differ), the pkg-config file and the shared library's SONAME (librepmlp.so.MAJOR.MINOR
 * while MAJOR is 0). What changed between versions is in CHANGELOG.md. */
#ifndef REPMLP_VERSION_H
#define REPMLP_VERSION_H

#include "repmlp/export.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Major version: from 1.0 on, changes only with an incompatible API or ABI change. */
#define REPMLP_VERSION_MAJOR 0
/** Minor version: new API (before 1.0, may also break the ABI: the SONAME carries it). */
#define REPMLP_VERSION_MINOR 9
/** Patch version: fixes only. */
#define REPMLP_VERSION_PATCH 0
/** The version as "MAJOR.MINOR.PATCH". */
#define REPMLP_VERSION_STRING "0.9.0"
/** The version as one number, MAJOR * 10000 + MINOR * 100 + PATCH, for comparisons. */
#define REPMLP_VERSION_NUMBER                                                                      \
    (REPMLP_VERSION_MAJOR * 10000 + REPMLP_VERSION_MINOR * 100 + REPMLP_VERSION_PATCH)

/** The version of the library linked at run time, as "MAJOR.MINOR.PATCH" (the header's
 * REPMLP_VERSION_STRING is the version compiled against). */
REPMLP_API const char *repmlp_version_string(void);
/** The version of the library linked at run time, as REPMLP_VERSION_NUMBER encodes it. */
REPMLP_API unsigned repmlp_version_number(void);

#ifdef __cplusplus
}
#endif

#endif
