/** @file
 * repmlp-vk: what every public header needs: REPMLP_API, which marks the functions of the
 * public API for export from the shared library, and the initializer of the caller-filled
 * structs that carry their own size.
 *
 * The library is built with hidden visibility, so the REPMLP_API functions are the only
 * symbols the shared library exports. Applications normally define nothing:
 * - REPMLP_STATIC: define it when linking the static library (librepmlp.a); on Windows it
 *   stops the declarations from asking for DLL imports. The CMake target repmlp::repmlp_static
 *   defines it for you.
 * - REPMLP_BUILDING_DLL: defined by the library's own build of the Windows DLL only.
 * - REPMLP_EXPERIMENTAL: opts into the experimental tier (docs/API.md). */
#ifndef REPMLP_EXPORT_H
#define REPMLP_EXPORT_H

/** @def REPMLP_API
 * Marks a function of the public API: exported from the shared library (visibility default,
 * or dllexport / dllimport on Windows), plain with REPMLP_STATIC. */
#if defined(REPMLP_STATIC)
#define REPMLP_API
#elif defined(_WIN32) || defined(__CYGWIN__)
#if defined(REPMLP_BUILDING_DLL)
#define REPMLP_API __declspec(dllexport)
#else
#define REPMLP_API __declspec(dllimport)
#endif
#elif defined(__GNUC__) && __GNUC__ >= 4
#define REPMLP_API __attribute__((visibility("default")))
#else
#define REPMLP_API
#endif

/** The initializer of a struct whose first field is `uint32_t size`: size set to the struct's
 * size in the application's header, every other field zero (its default). The library reads
 * only `size` bytes, so an application built against an older, smaller layout keeps working
 * when fields are appended. Each such struct has its own REPMLP_<NAME>_INIT built on this. */
#ifdef __cplusplus
#define REPMLP_SIZED_INIT(type)                                                                    \
    { sizeof(type) }
#else
#define REPMLP_SIZED_INIT(type)                                                                    \
    { .size = sizeof(type) }
#endif

#endif
