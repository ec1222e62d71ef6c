/* Embedding vkvit in an application that owns Vulkan (issue 6, what works today):
 *   1. a context adopted from an instance + device the test created itself (its own validation
 *      messenger, volk in the test) gives the same logits as a vkvit_context_create context, and
 *      both match the torchvision fixture;
 *   2. vkvit never destroys what it did not create: after vkvit_context_destroy the test keeps using
 *      its device (its own buffer, command buffer, fence), then destroys device and instance itself;
 *   3. one context, two threads, each with its own plan (two models loaded concurrently; then one
 *      model shared by both), 50 runs each, every run checked against the fixture.
 * Any validation message (vkvit's own instance or the test's) fails the test. */
#include "embed_app.h"
#include "common.h"
#include "safetensors.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <threads.h>

#define THREAD_RUNS 50

#ifdef __SANITIZE_THREAD__
/* ThreadSanitizer (GCC 12 / clang 14) does not intercept glibc's C11 threads: a thread started by
 * thrd_create has no TSan state (it crashes on entry) and mtx_lock is invisible to it (every access
 * under vkvit's context lock would look like a race). Under -Db_sanitize=thread this executable, and
 * the vkvit objects linked into it, therefore get C11 threads built on the intercepted pthreads. */
#include <pthread.h>
#include <sched.h>
#include <stdint.h>

typedef struct tsan_start { thrd_start_t fn; void *arg; } tsan_start;

static void *tsan_trampoline(void *p)
{
    tsan_start st = *(tsan_start *)p;
    free(p);
    return (void *)(intptr_t)st.fn(st.arg);
}

int thrd_create(thrd_t *t, thrd_start_t fn, void *arg)
{
    tsan_start *st = malloc(sizeof *st);
    if (!st)
        return thrd_nomem;
    *st = (tsan_start){fn, arg};
    if (pthread_create((pthread_t *)t, NULL, tsan_trampoline, st) != 0) {
        free(st);
        return thrd_error;
    }
    return thrd_success;
}

int thrd_join(thrd_t t, int *res)
{
    void *r = NULL;
    if (pthread_join((pthread_t)t, &r) != 0)
        return thrd_error;
    if (res)
        *res = (int)(intptr_t)r;
    return thrd_success;
}

void thrd_yield(void) { sched_yield(); }

int mtx_init(mtx_t *m, int type)
{
    pthread_mutexattr_t a;
    pthread_mutexattr_init(&a);
    if (type & mtx_recursive)
        pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE);
    int r = pthread_mutex_init((pthread_mutex_t *)m, &a);
    pthread_mutexattr_destroy(&a);
    return r ? thrd_error : thrd_success;
}
int mtx_lock(mtx_t *m) { return pthread_mutex_lock((pthread_mutex_t *)m) ? thrd_error : thrd_success; }
int mtx_unlock(mtx_t *m) { return pthread_mutex_unlock((pthread_mutex_t *)m) ? thrd_error : thrd_success; }
void mtx_destroy(mtx_t *m) { pthread_mutex_destroy((pthread_mutex_t *)m); }
void call_once(once_flag *f, void (*fn)(void)) { pthread_once((pthread_once_t *)f, fn); }
#endif

/* ---- fixtures ------------------------------------------------------------------------------------- */

typedef struct fixture {
    const char *name;
    char model_dir[1024];
    float *input, *logits;
    uint32_t B, C, H, W, K;
} fixture;

static float *read_tensor(st_file *f, const char *name, const st_tensor **out)
{
    const st_tensor *t = st_find(f, name);
    if (!t) {
        fprintf(stderr, "FATAL: fixture tensor '%s' missing\n", name);
        exit(1);
    }
    float *v = test_alloc((size_t)t->count);
    test_ok(st_read_f32(t, v, (size_t)t->count), name);
    *out = t;
    return v;
}

static void load_fixture(fixture *fx, const char *name)
{
    memset(fx, 0, sizeof *fx);
    fx->name = name;
    snprintf(fx->model_dir, sizeof fx->model_dir, "%s/tests/data/%s", VKVIT_SOURCE_ROOT, name);
    char path[1100];
    snprintf(path, sizeof path, "%s/expected.safetensors", fx->model_dir);
    st_file *f = NULL;
    test_ok(st_open(path, &f), path);
    const st_tensor *ti, *tl;
    fx->input = read_tensor(f, "input", &ti);
    fx->logits = read_tensor(f, "logits", &tl);
    fx->B = (uint32_t)ti->shape[0], fx->C = (uint32_t)ti->shape[1];
    fx->H = (uint32_t)ti->shape[2], fx->W = (uint32_t)ti->shape[3];
    fx->K = (uint32_t)tl->shape[1];
    st_close(f);
}

static void free_fixture(fixture *fx)
{
    free(fx->input);
    free(fx->logits);
}

/* Loads the fixture's model on ctx, plans batch B, runs the fixture input once; logits into out
 * (B x K floats). Returns false (with the reason printed) on any vkvit error. */
static bool run_once(vkvit_context *ctx, const fixture *fx, float *out)
{
    vkvit_model *m = NULL;
    vkvit_plan *p = NULL;
    vkvit_plan_options po = {.batch = fx->B};
    vkvit_tensor in = {fx->input, fx->B, fx->C, fx->H, fx->W};
    vkvit_status s;
    if ((s = vkvit_model_load(ctx, fx->model_dir, NULL, &m)) || (s = vkvit_plan_create(m, &po, &p)) ||
        (s = vkvit_run(p, &in, NULL)) || (s = vkvit_get_logits(p, out, (size_t)fx->B * fx->K)))
        fprintf(stderr, "%s: %s: %s\n", fx->name, vkvit_status_string(s), vkvit_last_error());
    vkvit_plan_destroy(p);
    vkvit_model_destroy(m);
    return s == VKVIT_OK;
}

/* ---- 1 + 2: adopted context ----------------------------------------------------------------------- */

static void test_adopted(vkvit_context *created, const fixture *fx)
{
    vkvit_device_info info;
    test_ok(vkvit_context_device_info(created, &info), "device info");
    size_t n = (size_t)fx->B * fx->K;
    float *via_created = test_alloc(n), *via_adopted = test_alloc(n);
    test_expect(run_once(created, fx, via_created), "%s through vkvit_context_create runs", fx->name);

    app_vulkan app;
    embed_app_create(&app, info.name); /* no optional feature: core Vulkan 1.1 is what vkvit needs */
    embed_app_device(&app, NULL, NULL, 0);
    printf("application device: %s, queue family %u, validation on (its own messenger)\n", info.name, app.family);
    test_expect(embed_app_fill_and_read(&app, 0x12345678u), "the application's own fill works before adoption");

    vkvit_adopt_info ad = app_adopt_info(&app);
    vkvit_context *adopted = NULL;
    vkvit_status s = vkvit_context_adopt(&ad, NULL, &adopted);
    if (test_expect(s == VKVIT_OK, "vkvit_context_adopt (%s%s%s)", vkvit_status_string(s), s ? ": " : "",
                    s ? vkvit_last_error() : "")) {
        vkvit_device_info ainfo;
        test_ok(vkvit_context_device_info(adopted, &ainfo), "adopted device info");
        test_expect(strcmp(ainfo.name, info.name) == 0, "adopted context reports the application's device (%s)",
                    ainfo.name);
        if (test_expect(run_once(adopted, fx, via_adopted), "%s through the adopted context runs", fx->name)) {
            char label[256];
            snprintf(label, sizeof label, "%s: adopted-context logits [%u x %u] vs torchvision", fx->name, fx->B, fx->K);
            test_check(label, via_adopted, fx->logits, n, TOL_FORWARD);
            snprintf(label, sizeof label, "%s: adopted-context logits == self-created-context logits (%s)", fx->name,
                     memcmp(via_adopted, via_created, n * sizeof *via_adopted) == 0 ? "bitwise" : "not bitwise");
            test_check(label, via_adopted, via_created, n, 1e-6);
        }
        /* The application's queue still works between vkvit runs (vkvit left it idle and usable). */
        test_expect(embed_app_fill_and_read(&app, 0x0badf00du),
                    "the application's fill works while vkvit holds its device");
        vkvit_context_destroy(adopted);
    }
    /* 2. vkvit destroyed nothing of the application's: its device, queue and instance still work. */
    test_expect(embed_app_fill_and_read(&app, 0xcafe1234u),
                "after vkvit_context_destroy the application's device, queue and fence still work");
    test_expect(embed_app_fill_and_read(&app, 0x5a5a5a5au), "... and again (a second submission)");
    app_vulkan_destroy(&app);
    int msgs = app_validation_messages(&app);
    test_expect(msgs == 0, "no validation message on the application's instance (%d)", msgs);
    free(via_created);
    free(via_adopted);
}

/* ---- 3: one context, two threads --------------------------------------------------------------------- */

typedef struct worker {
    vkvit_context *ctx;
    const fixture *fx;
    vkvit_model *shared_model; /* non-NULL: plan on this model (shared with the other thread) */
    atomic_int *start;         /* both threads wait here, so their runs overlap */
    int runs_ok, runs_bad, failed_setup;
    double worst_rel;
    bool bitwise_stable; /* every run gave the first run's bits */
    char error[512];
} worker;

static int worker_main(void *arg)
{
    worker *w = arg;
    const fixture *fx = w->fx;
    size_t n = (size_t)fx->B * fx->K;
    vkvit_model *m = NULL;
    vkvit_plan *p = NULL;
    vkvit_plan_options po = {.batch = fx->B};
    vkvit_tensor in = {fx->input, fx->B, fx->C, fx->H, fx->W};
    float *out = test_alloc(n), *first = test_alloc(n);
    w->bitwise_stable = true;
    atomic_fetch_sub(w->start, 1);
    while (atomic_load(w->start) > 0)
        thrd_yield();
    vkvit_status s = VKVIT_OK;
    if ((!w->shared_model && (s = vkvit_model_load(w->ctx, fx->model_dir, NULL, &m))) ||
        (s = vkvit_plan_create(w->shared_model ? w->shared_model : m, &po, &p))) {
        snprintf(w->error, sizeof w->error, "setup: %s: %s", vkvit_status_string(s), vkvit_last_error());
        w->failed_setup = 1;
    } else {
        for (int r = 0; r < THREAD_RUNS; r++) {
            memset(out, 0xff, n * sizeof *out); /* NaN: a run that writes nothing cannot pass */
            if ((s = vkvit_run(p, &in, NULL)) || (s = vkvit_get_logits(p, out, n))) {
                snprintf(w->error, sizeof w->error, "run %d: %s: %s", r, vkvit_status_string(s), vkvit_last_error());
                w->runs_bad++;
                continue;
            }
            test_cmp c = test_compare(out, fx->logits, n);
            if (c.rel > w->worst_rel || !c.finite)
                w->worst_rel = c.finite ? c.rel : 1e30;
            if (c.finite && c.rel <= TOL_FORWARD)
                w->runs_ok++;
            else
                w->runs_bad++;
            if (r == 0)
                memcpy(first, out, n * sizeof *out);
            else if (memcmp(first, out, n * sizeof *out) != 0)
                w->bitwise_stable = false;
        }
    }
    vkvit_plan_destroy(p);
    vkvit_model_destroy(m);
    free(out);
    free(first);
    return 0;
}

static void test_threads(vkvit_context *ctx, const fixture *a, const fixture *b, vkvit_model *shared)
{
    atomic_int start = 2;
    worker w[2] = {{.ctx = ctx, .fx = a, .shared_model = shared, .start = &start},
                   {.ctx = ctx, .fx = b, .shared_model = shared, .start = &start}};
    thrd_t t[2];
    bool started[2];
    for (int i = 0; i < 2; i++)
        started[i] = thrd_create(&t[i], worker_main, &w[i]) == thrd_success;
    for (int i = 0; i < 2; i++)
        if (started[i])
            thrd_join(t[i], NULL);
    for (int i = 0; i < 2; i++) {
        if (!test_expect(started[i], "thread %d started", i))
            continue;
        test_expect(!w[i].failed_setup && w[i].runs_ok == THREAD_RUNS,
                    "thread %d (%s, own plan, shared context%s): %d/%d runs within %.0e of torchvision, worst rel=%.3e%s%s",
                    i, w[i].fx->name, shared ? " and model" : "", w[i].runs_ok, THREAD_RUNS, TOL_FORWARD, w[i].worst_rel,
                    w[i].error[0] ? "; " : "", w[i].error);
        test_expect(w[i].bitwise_stable, "thread %d (%s): every run bitwise identical to its first", i, w[i].fx->name);
    }
}

int main(void)
{
    vkvit_context *ctx = test_context();
    fixture hf, timm;
    load_fixture(&hf, "hf-vit");
    load_fixture(&timm, "timm-vit");
    printf("fixtures: hf-vit batch %u, %u classes; timm-vit batch %u, %u classes\n", hf.B, hf.K, timm.B, timm.K);

    test_adopted(ctx, &hf);
    /* A fresh context (validation on), so that the two threads also build the context's pipelines
     * concurrently (vk_pipeline_get on an empty list) besides submitting to its one queue. */
    vkvit_context *shared = test_context();
    /* Two models loaded concurrently, a plan each. */
    test_threads(shared, &hf, &timm, NULL);
    /* One model shared by both threads, a plan each. */
    vkvit_model *m = NULL;
    test_ok(vkvit_model_load(shared, hf.model_dir, NULL, &m), "load hf-vit");
    test_threads(shared, &hf, &hf, m);
    vkvit_model_destroy(m);
    vkvit_context_destroy(shared);

    free_fixture(&hf);
    free_fixture(&timm);
    return test_finish(ctx);
}
