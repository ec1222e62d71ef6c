/* libFuzzer target: the bytes go to vkvit_image_decode (src/image.c: our header sniffing, libjpeg-turbo for JPEG
 * with its longjmp error manager and memory budget, stb_image's callback reader for the rest). Besides the
 * sanitizers, it checks what a successful decode promises: both sides in 1..VKVIT_MAX_IMAGE_SIDE and an RGBA buffer
 * that reaches the last pixel; a failure must leave no pixels and say why. stb_image is compiled into this target
 * (tests/fuzz_stb_image.c, the header of the Debian package the library links) so that its code carries the
 * fuzzer's instrumentation; libjpeg is Debian's shared library, uninstrumented.
 *
 *   CC=clang meson setup build-fuzz -Dfuzz=true -Dtests=true && meson compile -C build-fuzz tests/fuzz_image
 *   build-fuzz/tests/fuzz_image -max_total_time=60 -max_len=16384 -rss_limit_mb=2048 -malloc_limit_mb=2048 \
 *       build-fuzz/corpus-image tests/fuzz_image_corpus
 *
 * The seed corpus (tests/fuzz_image_corpus, a few hundred bytes each) was written by:
 *   /usr/bin/python3 -c "from PIL import Image; im = Image.linear_gradient('L').resize((24, 16)).convert('RGB')
 *     im.save('baseline.jpg', quality=50); im.save('progressive.jpg', quality=50, progressive=True)
 *     im.convert('L').save('grey.jpg', quality=50); im.convert('CMYK').save('cmyk.jpg', quality=50)
 *     im.save('tiny.png'); im.convert('P').save('tiny.gif')"
 *   build/tests/write_jpeg restart.jpg 24 16 ycc 50 1
 * and stb-dht.jpg and stb-empty-idat.png are this fuzzer's finds (a JPEG behind fill bytes that overflowed stb's
 * Huffman tables; a PNG whose first IDAT chunk is empty: tests/fuzz_stb_image.c).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vkvit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    vkvit_image im;
    vkvit_status s = vkvit_image_decode(data, size, "fuzz", &im);
    if (s != VKVIT_OK) {
        if (im.rgba || im.width || im.height || !vkvit_last_error()[0])
            abort(); /* a failure leaves nothing behind and has a message */
        return 0;
    }
    if (!im.rgba || im.width < 1 || im.height < 1 || im.width > VKVIT_MAX_IMAGE_SIDE ||
        im.height > VKVIT_MAX_IMAGE_SIDE)
        abort();
    size_t last = ((size_t)im.width * im.height - 1) * 4;
    volatile unsigned char sum = (unsigned char)(im.rgba[0] + im.rgba[3] + im.rgba[last] + im.rgba[last + 3]);
    (void)sum; /* ASan checks both ends of the buffer */
    vkvit_image_destroy(&im);
    return 0;
}
