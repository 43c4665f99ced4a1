/* repmlp-vk: marks the functions of the public API for export from the shared library.
 *
 * REPMLP_API precedes every function declared in include/repmlp/. The library is built with
 * hidden visibility, so these are the only symbols the shared library exports.
 *
 * Applications normally define nothing:
 * - REPMLP_STATIC: define it when linking the static library (librepmlp.a); on Windows it
 *   stops the declarations from asking for DLL imports. The CMake target repmlp::repmlp_static
 *   defines it for you.
 * - REPMLP_BUILDING_DLL: defined by the library's own build of the Windows DLL only. */
#ifndef REPMLP_EXPORT_H
#define REPMLP_EXPORT_H

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

#endif
