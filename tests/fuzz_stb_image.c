/* stb_image's implementation for tests/fuzz_image, in its own file so that it is built with the fuzzer's
 * instrumentation but without UBSan's pointer-overflow and nonnull-attribute checks: stb_image.h 2.27 (Debian 12's
 * libstb) computes z->idata + 0 while z->idata is still NULL when a PNG's first IDAT chunk is empty
 * (stbi__parse_png_file; a zero-length IDAT is valid PNG) and then copies 0 bytes to it (stbi__getn's memcpy),
 * which UBSan reports as "applying zero offset to null pointer" and "null pointer passed as argument 1" and is
 * harmless. The regression input: tests/fuzz_image_corpus/stb-empty-idat.png. */
#define STB_IMAGE_IMPLEMENTATION
#include <stb_image.h>
