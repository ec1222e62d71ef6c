/* The decode pipeline of the command-line examples (cli_decode.h): a ring of `ahead` slots; input i lives in
 * slot i % ahead. A worker claims the next undecoded input once its slot is free (i < taken + ahead), decodes
 * it without the lock and marks the slot ready; the taker waits for slot taken % ahead to be ready. */
#include "cli_decode.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_THREADS 64

struct cli_decoder {
    char *const *paths;
    size_t n, ahead, claimed, taken; /* claimed: inputs handed to workers; taken: inputs handed out */
    cli_decoded *slots;
    bool *ready, quit;
    double busy;
    pthread_mutex_t lock;
    pthread_cond_t changed;
    pthread_t threads[MAX_THREADS];
    uint32_t n_threads;
};

uint32_t cli_default_threads(void)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    return cpus < 1 ? 1 : cpus > 8 ? 8 : (uint32_t)cpus;
}

/* The calling thread's CPU time: what decoding costs, also on a loaded machine, where the wall time a decode
 * spans counts the other processes' turns too. */
static double thread_cpu_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void *worker(void *arg)
{
    cli_decoder *d = arg;
    pthread_mutex_lock(&d->lock);
    for (;;) {
        while (!d->quit && d->claimed < d->n && d->claimed >= d->taken + d->ahead)
            pthread_cond_wait(&d->changed, &d->lock);
        if (d->quit || d->claimed >= d->n)
            break;
        const size_t i = d->claimed++;
        pthread_mutex_unlock(&d->lock);
        cli_decoded r = {0};
        const double t0 = thread_cpu_seconds();
        if ((r.status = vkvit_image_load(d->paths[i], &r.image)) != VKVIT_OK)
            snprintf(r.error, sizeof r.error, "%s", vkvit_last_error());
        const double t = thread_cpu_seconds() - t0;
        pthread_mutex_lock(&d->lock);
        d->slots[i % d->ahead] = r;
        d->ready[i % d->ahead] = true;
        d->busy += t;
        pthread_cond_broadcast(&d->changed);
    }
    pthread_mutex_unlock(&d->lock);
    return NULL;
}

cli_decoder *cli_decoder_start(char *const *paths, size_t n, uint32_t threads, size_t ahead)
{
    cli_decoder *d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    *d = (cli_decoder){.paths = paths, .n = n, .ahead = ahead ? ahead : 1};
    d->slots = calloc(d->ahead, sizeof *d->slots);
    d->ready = calloc(d->ahead, sizeof *d->ready);
    if (!d->slots || !d->ready || pthread_mutex_init(&d->lock, NULL) != 0) {
        free(d->slots), free(d->ready), free(d);
        return NULL;
    }
    pthread_cond_init(&d->changed, NULL);
    threads = threads < 1 ? 1 : threads > MAX_THREADS ? MAX_THREADS : threads;
    while (d->n_threads < threads && pthread_create(&d->threads[d->n_threads], NULL, worker, d) == 0)
        d->n_threads++;
    if (d->n_threads == 0) {
        cli_decoder_stop(d);
        return NULL;
    }
    return d;
}

bool cli_decoder_take(cli_decoder *d, cli_decoded *out)
{
    pthread_mutex_lock(&d->lock);
    const size_t i = d->taken, slot = i % d->ahead;
    while (i < d->n && !d->ready[slot])
        pthread_cond_wait(&d->changed, &d->lock);
    if (i < d->n) {
        *out = d->slots[slot];
        d->slots[slot] = (cli_decoded){0};
        d->ready[slot] = false;
        d->taken++;
        pthread_cond_broadcast(&d->changed);
    }
    pthread_mutex_unlock(&d->lock);
    return i < d->n;
}

double cli_decoder_busy(cli_decoder *d)
{
    pthread_mutex_lock(&d->lock);
    const double busy = d->busy;
    pthread_mutex_unlock(&d->lock);
    return busy;
}

void cli_decoder_stop(cli_decoder *d)
{
    if (!d)
        return;
    pthread_mutex_lock(&d->lock);
    d->quit = true;
    pthread_cond_broadcast(&d->changed);
    pthread_mutex_unlock(&d->lock);
    for (uint32_t t = 0; t < d->n_threads; t++)
        pthread_join(d->threads[t], NULL);
    for (size_t s = 0; s < d->ahead; s++)
        vkvit_image_destroy(&d->slots[s].image);
    pthread_cond_destroy(&d->changed);
    pthread_mutex_destroy(&d->lock);
    free(d->slots);
    free(d->ready);
    free(d);
}
