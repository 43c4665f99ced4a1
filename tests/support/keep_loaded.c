/* Preloaded into the sanitizer runs only (scripts/test-sanitizers.sh, scripts/test-tsan.sh):
 * makes dlclose() a no-op so that the Vulkan loader never unmaps a driver or layer.
 * LeakSanitizer then still knows which library a leak came from at exit, and tests/lsan.supp
 * can suppress the Vulkan components' own leaks by name; a leak that was unmapped would read
 * "<unknown module>" and could hide ours. ThreadSanitizer aborts when a library named by a
 * called_from_lib entry of tests/tsan.supp is unloaded. */
int dlclose(void *handle);

int dlclose(void *handle) {
    (void)handle;
    return 0;
}
