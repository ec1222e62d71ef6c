/* vkvit-bench's internal header: the options, the results of each job, and what the files share.
 *
 *   cli.c      the command line: options, usage, failing loudly, main
 *   measure.c  timing a command buffer over many submissions, its statistics, seeded random numbers
 *   ops.c      --op: one op per case, on random inputs
 *   peak.c     --peak: the device's FMA and copy ceilings, the dispatch floor
 *   model.c    --model: whole forward passes, and their per-op breakdown (--ops)
 *   report.c   the text tables, the host and device description, the --json file
 *   roofline.c --ops' and --roofline's account of every dispatch, --host-overhead
 *
 * Uses the library's internals (src/vk, src/ops): it is a developer tool, not an example of the API. */
#ifndef VKVIT_BENCH_H
#define VKVIT_BENCH_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#if defined(__unix__) || defined(__APPLE__)
#include <unistd.h>
#define HAVE_POSIX 1
#endif

#include "ops/ops.h"
#include "plan.h"
#include "vk/vk.h"

#define MAX_BATCHES 16
#define MAX_SHAPES 16
#define MAX_CASES 256
#define MAX_PEAKS 8

/* ---- cli.c ---------------------------------------------------------------------------------------- */

enum { OP_BIT_MATMUL = 1, OP_BIT_ATTENTION = 2, OP_BIT_LAYERNORM = 4, OP_BIT_GELU = 8, OP_BIT_ALL = 15 };

typedef struct options {
    unsigned ops;                    /* OP_BIT_* */
    bool peak;
    uint32_t batches[MAX_BATCHES];
    uint32_t n_batches;
    const char *shapes[MAX_SHAPES];
    uint32_t n_shapes;
    uint32_t warmup, iters;
    double min_time_s;
    uint32_t max_runs;
    const char *device;
    const char *json;
    bool validate;
    uint64_t seed;
    uint32_t copy_mb;
    const char *models[MAX_SHAPES];  /* --model: presets or checkpoint paths (in model_text) */
    char model_text[MAX_SHAPES][1024];
    uint32_t n_models;
    vkvit_precision precisions[3];   /* --precision: one model load per entry */
    uint32_t n_precisions;
    bool op_breakdown;               /* --ops */
    bool tune;                       /* --tune: the matmul autotuner on (VKVIT_TUNE=1) */
    unsigned roofline;               /* --roofline: bit i = roofline.c's GPU i */
    bool host_overhead;              /* --host-overhead */
    bool unfused;                    /* --unfused: models loaded with MODEL_UNFUSED_LN */
} options;

typedef struct bench {
    options opt;
    vkvit_context *ctx;
    uint64_t rng;                    /* rng_uniform's state, seeded with opt.seed */
} bench;

/* Prints "vkvit-bench: <message>" on stderr and exits with status 1. */
_Noreturn void die(const char *fmt, ...) PRINTF_LIKE(1, 2);
/* Any vkvit error ends the run with its status name and detail. */
void check(vkvit_status s, const char *what);
void *xcalloc(size_t n, size_t size);
/* A whole decimal number, all of s, up to UINT32_MAX. */
bool parse_u32(const char *s, uint32_t *out);

/* ---- measure.c ------------------------------------------------------------------------------------ */

typedef struct stats {
    double median, p10, p90, min, mean;   /* milliseconds */
} stats;

typedef struct timing {
    uint32_t runs;
    bool gpu;              /* GPU timestamps available: gpu_ms valid */
    stats gpu_ms, wall_ms;
} timing;

double now_s(void);
/* Sorts v[0..n) and summarizes it. */
stats summarize(double *v, uint32_t n);
/* The figure rates are computed from: GPU time when there is one, else wall time. */
const stats *primary(const timing *t);

/* A command buffer with room for two timestamps, begun, timestamp 0 written: record the work to time
 * next, then timed_end writes timestamp 1 and ends it. */
vk_cmd *timed_begin(bench *b);
void timed_end(vk_cmd *cmd);
/* One submission: wall ms, and GPU ms between timestamps 0 and 1 when the device has them. */
void run_once(bench *b, vk_cmd *cmd, double *gpu_ms, double *wall_ms);
/* Warm-up, then at least opt.iters timed runs and at least opt.min_time_s seconds (wall) of them. */
timing time_cmd(bench *b, vk_cmd *cmd);

/* Uniform in [lo, hi], 24 bits of a splitmix64 stream whose state is *state (b->rng). */
float rng_uniform(uint64_t *state, float lo, float hi);

/* ---- peak.c --------------------------------------------------------------------------------------- */

typedef struct peak_result {
    char name[48];
    char detail[128];
    bool flops;         /* GFLOP/s, else GB/s (unless latency) */
    bool latency;       /* a time, not a rate: the median is the figure */
    double work;        /* flops or bytes per run */
    timing t;
    double rate;
} peak_result;

typedef struct peaks {
    peak_result r[MAX_PEAKS];
    uint32_t n;
    double fp32, fp16, copy;    /* the reference ceilings (0 = not measured) */
} peaks;

void run_peak(bench *b, peaks *p);

/* ---- ops.c ---------------------------------------------------------------------------------------- */

typedef enum op_kind { K_MATMUL, K_ATTENTION, K_LAYERNORM, K_GELU } op_kind;
extern const char *const kind_names[];   /* by op_kind */

typedef struct bench_case {
    op_kind kind;
    char label[24];                /* qkv, out-proj, fc1, fc2, custom */
    uint32_t batch;                /* images */
    uint32_t M, N, K;              /* matmul, M already multiplied by batch */
    matmul_epilogue epi;
    uint32_t T, H, dh;             /* attention */
    uint32_t rows, D;              /* layernorm, rows already multiplied by batch */
    uint64_t n;                    /* gelu, already multiplied by batch */
    bool f16;                      /* matmul: fp16 inputs and output (--precision fp16) */
    char shape[96];
    /* results */
    double work;                   /* flops (matmul, attention) or bytes (layernorm, gelu) */
    bool flops;
    timing t;
    double rate;                   /* GFLOP/s or GB/s at the median */
    double pct_peak;               /* < 0: no peak measured */
} bench_case;

const char *epi_name(matmul_epilogue e);
/* The cases of opt.ops at every batch (at most MAX_CASES); returns how many. */
uint32_t build_cases(const options *o, bench_case *cases);
/* Times every case, and its % of the matching peak when pk has one. */
void run_cases(bench *b, bench_case *cases, uint32_t n, const peaks *pk);

/* ---- model.c -------------------------------------------------------------------------------------- */

/* Per-op breakdown (--ops): what each profiling mark's interval is summed into, by its shader name. */
enum { CAT_MATMUL, CAT_ATTENTION, CAT_LAYERNORM, CAT_OTHER, N_CATS };
extern const char *const cat_names[N_CATS];
#define MAX_TAGS 32

typedef struct op_tag {
    const char *name;              /* shader name, "copy" or "fill" */
    int cat;
    uint32_t count;                /* commands per forward */
    stats ms;                      /* their summed time per run */
} op_tag;

typedef struct op_profile {
    uint32_t runs, marks;
    stats total_ms;                /* PLAN_TS_START..END of the profiled runs */
    stats sum_ms;                  /* all intervals: first mark .. last mark */
    uint32_t cat_count[N_CATS];
    stats cat_ms[N_CATS];
    double cat_flops[N_CATS];      /* 0 = not counted */
    double cat_rate[N_CATS];       /* GFLOP/s at the median */
    double cat_pct[N_CATS];        /* of the precision's FMA peak; < 0 = none */
    op_tag tags[MAX_TAGS];
    uint32_t n_tags;
} op_profile;

/* The roofline account (roofline.c): the plan's commands grouped by shader, cost and workgroup counts. */
#define MAX_GROUPS 64
typedef struct acct_group {
    const char *name;
    bool has_cost;
    vk_cost one;                   /* one command's */
    uint32_t groups[3];
    uint32_t count;                /* commands per forward */
    stats ms;                      /* their summed time per run (--ops) */
} acct_group;

typedef struct op_account {
    bool have, timed;
    uint32_t n, left_out;
    acct_group g[MAX_GROUPS];
    uint32_t dispatches, barriers, transfers;   /* per forward (vk_cmd_counts) */
} op_account;

typedef struct model_row {
    char model[64];
    vit_dims dims;
    uint64_t parameters;
    uint32_t batch;
    vkvit_precision asked, used;
    char skipped[512];             /* non-empty: not measured, and why */
    double load[3];                /* load average when the row started */
    timing t;
    double flops, matmul_flops, attention_flops;   /* per run (the whole batch) */
    double images_s, gflops, pct_peak;             /* pct_peak < 0: no --peak */
    uint64_t weight_bytes, arena_bytes, io_bytes, allocated_bytes;
    double load_s, plan_s;         /* startup: model load (or synthesis) + upload; plan creation,
                                    * which compiles the pipelines not yet made in this process */
    bool have_ops;
    op_profile ops;
    op_account acct;               /* --ops, --roofline */
    bool have_host;                /* --host-overhead: */
    stats host_ms, host_full_ms;   /* vkvit_run without dispatches, and with them, wall ms */
    uint32_t host_runs;
} model_row;

/* Every (model, precision, batch) row, printed as it is measured; the caller frees the rows. */
model_row *run_models(bench *b, const peaks *pk, uint32_t *n_rows);

/* ---- roofline.c ------------------------------------------------------------------------------------ */

/* --roofline's list (h100, rtx4090, 7900xtx, a770, all) as bits; an unknown name ends the run. */
unsigned parse_roofline(const char *list);
/* Groups the commands of an accounted recording of `cmd`; group_of[i] = command i's group (-1: none). */
void account_groups(op_account *a, const vk_cmd *cmd, int *group_of);
/* The account under a model row: per group, with the measured times (--ops), % of the peaks (--peak) and
 * the floors of the --roofline GPUs, then the totals. */
void print_account(const bench *b, const model_row *r, const peaks *pk);
/* --host-overhead: times vkvit_run on the plan's transfers alone (no dispatch), and the full run. */
void measure_host_overhead(bench *b, struct vkvit_plan *p, model_row *row);
void print_host_overhead(const model_row *r);

/* ---- report.c ------------------------------------------------------------------------------------- */

typedef struct host_info {
    char cpu[128];
    long cpus;
    double load[3];
    bool have_load;
} host_info;

/* argv as a shell would take it back (quoted where needed); the caller frees it. */
char *command_line(int argc, char **argv);
void get_host_info(host_info *h);
/* The 1, 5 and 15 minute load averages; false where the system does not say. */
bool load_average(double load[3]);

void print_header(const bench *b, const char *cmdline, const host_info *h);
void print_peaks(const peaks *p);
void print_cases(const bench_case *c, uint32_t n, bool have_peak);
void print_model_header(const bench *b);
void print_model_row(const model_row *r);
void write_json(const bench *b, const char *path, int argc, char **argv, const char *cmdline, const host_info *h,
                const peaks *p, const bench_case *c, uint32_t n, const model_row *rows, uint32_t n_rows);

#endif
