/* The command-line examples' decode pipeline: worker threads decode the images ahead of the one thread
 * that runs the GPU, so that decoding batch j + 1 overlaps the GPU's run of batch j. Images are handed
 * out in input order whatever the number of threads, each with its own status and error text, so the
 * output does not depend on --threads. */
#ifndef CLI_DECODE_H
#define CLI_DECODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vkvit.h"

/* One input's decode: the pixels, or the status and vkvit_last_error()'s text (which is per thread,
 * so it is copied here by the thread that decoded it). */
typedef struct cli_decoded {
    vkvit_image image;
    vkvit_status status;
    char error[512];
} cli_decoded;

typedef struct cli_decoder cli_decoder;

/* The default --threads: the online CPUs, at most 8. */
uint32_t cli_default_threads(void);
/* Starts `threads` (>= 1) workers on paths[0..n) (which must outlive the decoder), at most `ahead` (>= 1)
 * images decoded and not yet taken: that bounds the memory (a 4000x3000 photo is 48 MB of RGBA).
 * NULL when out of memory or no thread could start. */
cli_decoder *cli_decoder_start(char *const *paths, size_t n, uint32_t threads, size_t ahead);
/* Waits for the next input in order (inputs are taken 0, 1, 2, ...; false once all n are taken) and
 * moves it into *out; the caller destroys out->image. */
bool cli_decoder_take(cli_decoder *d, cli_decoded *out);
/* CPU seconds the workers spent decoding, summed over them (for --timing). */
double cli_decoder_busy(cli_decoder *d);
/* Stops the workers, frees what was decoded and not taken. Accepts NULL. */
void cli_decoder_stop(cli_decoder *d);

#endif
