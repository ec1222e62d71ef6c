/* vkvit-bench's reports: the header (device, host, method), the tables of --peak, --op and --model on
 * stdout, and --json FILE, every figure of the run with the conditions it was measured in. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "bench.h"

/* ---- the conditions of the run ---------------------------------------------------------------------- */

char *command_line(int argc, char **argv)
{
    size_t len = 1;
    for (int i = 0; i < argc; i++)
        len += strlen(argv[i]) * 4 + 3;
    char *s = xcalloc(len, 1), *p = s;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        bool quote = !*a || strpbrk(a, " \t\"'\\$`*?;&|<>()!") != NULL;
        if (i)
            *p++ = ' ';
        if (!quote) {
            p += sprintf(p, "%s", a);
            continue;
        }
        *p++ = '\'';
        for (; *a; a++) {
            if (*a == '\'')
                p += sprintf(p, "'\\''");
            else
                *p++ = *a;
        }
        *p++ = '\'';
    }
    *p = 0;
    return s;
}

bool load_average(double load[3])
{
#ifdef HAVE_POSIX
    return getloadavg(load, 3) == 3;
#else
    (void)load;
    return false;
#endif
}

void get_host_info(host_info *h)
{
    memset(h, 0, sizeof *h);
    snprintf(h->cpu, sizeof h->cpu, "unknown");
#ifdef HAVE_POSIX
    h->cpus = sysconf(_SC_NPROCESSORS_ONLN);
#endif
    h->have_load = load_average(h->load);
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (f) {
        char line[512];
        while (fgets(line, sizeof line, f)) {
            if (!strncmp(line, "model name", 10)) {
                char *v = strchr(line, ':');
                if (v) {
                    v++;
                    while (*v == ' ' || *v == '\t')
                        v++;
                    v[strcspn(v, "\n")] = 0;
                    snprintf(h->cpu, sizeof h->cpu, "%s", v);
                }
                break;
            }
        }
        fclose(f);
    }
}

static void api_version_text(char *buf, size_t size, uint32_t v)
{
    snprintf(buf, size, "%u.%u.%u", VK_API_VERSION_MAJOR(v), VK_API_VERSION_MINOR(v), VK_API_VERSION_PATCH(v));
}

/* ---- text ------------------------------------------------------------------------------------------- */

static void fmt_rate(char *buf, size_t size, double rate, bool flops)
{
    const char *unit = flops ? "GFLOP/s" : "GB/s";
    if (rate >= 100)
        snprintf(buf, size, "%.1f %s", rate, unit);
    else if (rate >= 1)
        snprintf(buf, size, "%.2f %s", rate, unit);
    else
        snprintf(buf, size, "%.3g %s", rate, unit);
}

void print_header(const bench *b, const char *cmdline, const host_info *h)
{
    const vkvit_device_info *d = &b->ctx->info;
    char api[32];
    api_version_text(api, sizeof api, d->api_version);
    printf("vkvit-bench %d.%d.%d\n", VKVIT_VERSION_MAJOR, VKVIT_VERSION_MINOR, VKVIT_VERSION_PATCH);
    printf("command   %s\n", cmdline);
    printf("device    %u: %s; %s; %s; Vulkan %s\n", d->index, d->name, vkvit_device_type_string(d->type), d->vendor,
           api);
    printf("driver    %s %s\n", d->driver_name[0] ? d->driver_name : "?", d->driver_info);
    printf("features  subgroup %u, fp16 %s, timestamps %s\n", d->subgroup_size, b->ctx->fp16 ? "yes" : "no",
           b->ctx->timestamps ? "yes" : "no");
    printf("host      %s, %ld CPUs", h->cpu, h->cpus);
    if (h->have_load)
        printf(", load average %.2f %.2f %.2f", h->load[0], h->load[1], h->load[2]);
    printf("\n");
    if (b->ctx->timestamps)
        printf("timing    GPU timestamps around the op (period %g ns); wall = submit + wait on the host\n",
               (double)d->timestamp_period);
    else
        printf("timing    NO GPU TIMESTAMPS on this device: every figure is wall time around submit + wait\n");
    printf("runs      %u warm-up, then >= %u timed runs and >= %g s; median [p10, p90]\n", b->opt.warmup,
           b->opt.iters, b->opt.min_time_s);
    printf("validation %s\n\n", b->opt.validate ? "ON (timings are distorted)" : "off");
}

void print_peaks(const peaks *p)
{
    printf("peak (this device's ceilings)\n");
    printf("  %-24s %6s %10s %10s %10s %10s %16s   %s\n", "measure", "runs", "median ms", "p10 ms", "p90 ms",
           "wall ms", "rate", "what");
    for (uint32_t i = 0; i < p->n; i++) {
        const peak_result *r = &p->r[i];
        const stats *s = primary(&r->t);
        char rate[32];
        if (r->latency)
            snprintf(rate, sizeof rate, "%.1f us", r->rate * 1e3);
        else
            fmt_rate(rate, sizeof rate, r->rate, r->flops);
        printf("  %-24s %6u %10.3f %10.3f %10.3f %10.3f %16s   %s\n", r->name, r->t.runs, s->median, s->p10, s->p90,
               r->t.wall_ms.median, rate, r->detail);
    }
    printf("\n");
}

void print_cases(const bench_case *c, uint32_t n, bool have_peak)
{
    printf("ops (fp32 unless the shape says fp16; [kernel] for matmuls)\n");
    printf("  %-9s %-8s %-34s %5s %6s %10s %10s %10s %10s %16s%s\n", "op", "case", "shape", "batch", "runs",
           "median ms", "p10 ms", "p90 ms", "wall ms", "rate", have_peak ? "  % peak" : "");
    for (uint32_t i = 0; i < n; i++) {
        const stats *s = primary(&c[i].t);
        char rate[32];
        fmt_rate(rate, sizeof rate, c[i].rate, c[i].flops);
        printf("  %-9s %-8s %-34s %5u %6u %10.3f %10.3f %10.3f %10.3f %16s", kind_names[c[i].kind], c[i].label,
               c[i].shape, c[i].batch, c[i].t.runs, s->median, s->p10, s->p90, c[i].t.wall_ms.median, rate);
        if (have_peak && c[i].pct_peak >= 0)
            printf("  %6.1f%%", c[i].pct_peak);
        printf("\n");
    }
    if (have_peak)
        printf("  %% peak: matmul, attention vs fp32 vec4 FMA (fp16 matmuls: fp16 vec4 FMA); layernorm, gelu vs "
               "the copy shader's bandwidth\n");
    printf("\n");
}

void print_model_header(const bench *b)
{
    printf("whole forward pass: the plan's command buffer (input copy .. output copies), GPU timestamps around it;\n"
           "wall = submit + wait on the host; median [p10, p90] over the runs; rates at the GPU median\n");
    if (b->opt.op_breakdown && !b->ctx->timestamps)
        printf("--ops: this device has no compute-queue timestamps: no per-op breakdown\n");
    else if (b->opt.op_breakdown)
        printf("--ops: the plan recorded again with a timestamp after every dispatch and copy, run as many times\n"
               "      again; each command's time = its timestamp minus the previous one (binding and the barrier\n"
               "      before it included), summed per shader and per op type per run. The ops of a forward are\n"
               "      separated by barriers, so this measures each dispatch well; on a GPU, dispatches with no\n"
               "      barrier between them may overlap and their split is then approximate. The timestamps cost\n"
               "      a little: compare the profiled total with the row's median.\n");
    printf("\n%-12s %5s %-9s %4s %10s %10s %10s %10s %10s %10s %9s %8s %7s %9s %8s %7s\n", "model", "batch",
           "precision", "runs", "gpu ms", "p10", "p90", "wall ms", "p10", "p90", "images/s", "TFLOP/s", "% peak",
           "weights", "arena", "io");
}

/* ms as a percentage of the breakdown's summed median (0 when that is 0). */
static double pct_of_sum(const op_profile *op, double ms)
{
    return op->sum_ms.median > 0 ? 100.0 * ms / op->sum_ms.median : 0.0;
}

/* The --ops lines under a model row: one per op type, then one per shader, grouped by op type. */
static void print_op_profile(const op_profile *op)
{
    printf("    ops: %u profiled runs, %u timestamps; profiled total %.2f ms, sum of the ops %.2f ms\n", op->runs,
           op->marks, op->total_ms.median, op->sum_ms.median);
    printf("    %-22s %6s %10s %10s %10s %7s %9s %7s\n", "op", "count", "median ms", "p10", "p90", "share", "GFLOP/s",
           "% peak");
    for (int c = 0; c < N_CATS; c++) {
        const stats *s = &op->cat_ms[c];
        printf("    %-22s %6u %10.3f %10.3f %10.3f %6.1f%%", cat_names[c], op->cat_count[c], s->median, s->p10, s->p90,
               pct_of_sum(op, s->median));
        if (op->cat_rate[c] > 0)
            printf(" %9.2f", op->cat_rate[c]);
        if (op->cat_pct[c] >= 0)
            printf(" %6.1f%%", op->cat_pct[c]);
        printf("\n");
    }
    for (int c = 0; c < N_CATS; c++)
        for (uint32_t t = 0; t < op->n_tags; t++)
            if (op->tags[t].cat == c)
                printf("      %-20s %6u %10.3f %10.3f %10.3f %6.1f%%\n", op->tags[t].name, op->tags[t].count,
                       op->tags[t].ms.median, op->tags[t].ms.p10, op->tags[t].ms.p90,
                       pct_of_sum(op, op->tags[t].ms.median));
}

void print_model_row(const model_row *r)
{
    char prec[16];
    if (r->asked == VKVIT_PRECISION_AUTO && !r->skipped[0])
        snprintf(prec, sizeof prec, "auto:%s", precision_name(r->used));
    else
        snprintf(prec, sizeof prec, "%s", precision_name(r->asked));
    if (r->skipped[0]) {
        printf("%-12s %5u %-9s skipped: %s\n", r->model, r->batch, prec, r->skipped);
        return;
    }
    const stats *g = primary(&r->t), *w = &r->t.wall_ms;
    char pct[16] = "-";
    if (r->pct_peak >= 0)
        snprintf(pct, sizeof pct, "%.1f%%", r->pct_peak);
    printf("%-12s %5u %-9s %4u %10.2f %10.2f %10.2f %10.2f %10.2f %10.2f %9.1f %8.3g %7s %7.1fMB %6.1fMB %5.1fMB\n",
           r->model, r->batch, prec, r->t.runs, g->median, g->p10, g->p90, w->median, w->p10, w->p90, r->images_s,
           r->gflops * 1e-3, pct, r->weight_bytes / 1e6, r->arena_bytes / 1e6, r->io_bytes / 1e6);
    printf("    startup: %s%.3f s, plan creation %.3f s (records the pass; compiles the pipelines this process has "
           "not made yet)\n", r->load_s > 0 ? "model load " : "", r->load_s > 0 ? r->load_s : 0.0, r->plan_s);
    if (r->have_ops)
        print_op_profile(&r->ops);
}

/* ---- JSON ------------------------------------------------------------------------------------------- */

static cJSON *numbers_json(const double *v, int n)
{
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; i < n; i++)
        cJSON_AddItemToArray(a, cJSON_CreateNumber(v[i]));
    return a;
}

static cJSON *stats_json(const stats *s)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "median", s->median);
    cJSON_AddNumberToObject(o, "p10", s->p10);
    cJSON_AddNumberToObject(o, "p90", s->p90);
    cJSON_AddNumberToObject(o, "min", s->min);
    cJSON_AddNumberToObject(o, "mean", s->mean);
    return o;
}

static void add_timing(cJSON *o, const timing *t)
{
    cJSON_AddNumberToObject(o, "runs", t->runs);
    if (t->gpu)
        cJSON_AddItemToObject(o, "gpu_ms", stats_json(&t->gpu_ms));
    else
        cJSON_AddNullToObject(o, "gpu_ms");
    cJSON_AddItemToObject(o, "wall_ms", stats_json(&t->wall_ms));
}

/* A percentage, or null where there is no peak to compare with. */
static void add_pct_peak(cJSON *o, double pct)
{
    if (pct >= 0)
        cJSON_AddNumberToObject(o, "pct_peak", pct);
    else
        cJSON_AddNullToObject(o, "pct_peak");
}

static cJSON *device_json(const bench *b)
{
    const vkvit_device_info *d = &b->ctx->info;
    cJSON *dev = cJSON_CreateObject();
    cJSON_AddNumberToObject(dev, "index", d->index);
    cJSON_AddStringToObject(dev, "name", d->name);
    cJSON_AddStringToObject(dev, "type", vkvit_device_type_string(d->type));
    cJSON_AddStringToObject(dev, "vendor", d->vendor ? d->vendor : "");
    cJSON_AddNumberToObject(dev, "vendor_id", d->vendor_id);
    cJSON_AddNumberToObject(dev, "device_id", d->device_id);
    char api[32];
    api_version_text(api, sizeof api, d->api_version);
    cJSON_AddStringToObject(dev, "api_version", api);
    cJSON_AddStringToObject(dev, "driver_name", d->driver_name);
    cJSON_AddStringToObject(dev, "driver_info", d->driver_info);
    cJSON_AddNumberToObject(dev, "driver_version", d->driver_version);
    cJSON_AddNumberToObject(dev, "subgroup_size", d->subgroup_size);
    cJSON_AddNumberToObject(dev, "max_storage_buffer_range", d->max_storage_buffer_range);
    cJSON_AddBoolToObject(dev, "fp16", b->ctx->fp16);
    cJSON_AddBoolToObject(dev, "timestamps", b->ctx->timestamps);
    cJSON_AddNumberToObject(dev, "timestamp_period_ns", d->timestamp_period);
    return dev;
}

/* The host, with its load average at the start (h) and now, at the end of the run. */
static cJSON *host_json(const host_info *h)
{
    cJSON *host = cJSON_CreateObject();
    cJSON_AddStringToObject(host, "cpu", h->cpu);
    cJSON_AddNumberToObject(host, "cpus", (double)h->cpus);
    if (h->have_load) {
        cJSON_AddItemToObject(host, "load_average", numbers_json(h->load, 3));
        double end[3];
        if (load_average(end))
            cJSON_AddItemToObject(host, "load_average_end", numbers_json(end, 3));
    }
    return host;
}

static cJSON *settings_json(const bench *b)
{
    const options *o = &b->opt;
    cJSON *set = cJSON_CreateObject();
    cJSON_AddStringToObject(set, "timing", b->ctx->timestamps ? "gpu_timestamps" : "wall");
    cJSON_AddNumberToObject(set, "warmup", o->warmup);
    cJSON_AddNumberToObject(set, "iters", o->iters);
    cJSON_AddNumberToObject(set, "min_time_s", o->min_time_s);
    cJSON_AddNumberToObject(set, "seed", (double)o->seed);
    cJSON_AddBoolToObject(set, "validation", o->validate);
    cJSON *pr = cJSON_AddArrayToObject(set, "precisions");
    for (uint32_t i = 0; i < o->n_precisions; i++)
        cJSON_AddItemToArray(pr, cJSON_CreateString(precision_name(o->precisions[i])));
    cJSON_AddBoolToObject(set, "ops_breakdown", o->op_breakdown);
    return set;
}

static cJSON *peak_json(const peaks *p)
{
    cJSON *pk = cJSON_CreateObject();
    cJSON_AddNumberToObject(pk, "fp32_gflops", p->fp32);
    if (p->fp16 > 0)
        cJSON_AddNumberToObject(pk, "fp16_gflops", p->fp16);
    else
        cJSON_AddNullToObject(pk, "fp16_gflops");
    cJSON_AddNumberToObject(pk, "copy_gbs", p->copy);
    cJSON *arr = cJSON_AddArrayToObject(pk, "measures");
    for (uint32_t i = 0; i < p->n; i++) {
        const peak_result *r = &p->r[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", r->name);
        cJSON_AddStringToObject(o, "detail", r->detail);
        if (r->latency) {
            cJSON_AddStringToObject(o, "unit", "ms");
            cJSON_AddNumberToObject(o, "time_ms", r->rate);
        } else {
            cJSON_AddStringToObject(o, "unit", r->flops ? "GFLOP/s" : "GB/s");
            cJSON_AddNumberToObject(o, "rate", r->rate);
            cJSON_AddNumberToObject(o, r->flops ? "flops" : "bytes", r->work);
        }
        add_timing(o, &r->t);
        cJSON_AddItemToArray(arr, o);
    }
    return pk;
}

static cJSON *case_json(const bench_case *c)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "op", kind_names[c->kind]);
    cJSON_AddStringToObject(o, "case", c->label);
    cJSON_AddStringToObject(o, "shape_text", c->shape);
    cJSON_AddStringToObject(o, "dtype", "fp32");
    cJSON_AddNumberToObject(o, "batch", c->batch);
    cJSON *sh = cJSON_AddObjectToObject(o, "shape");
    switch (c->kind) {
    case K_MATMUL:
        cJSON_AddNumberToObject(sh, "M", c->M);
        cJSON_AddNumberToObject(sh, "K", c->K);
        cJSON_AddNumberToObject(sh, "N", c->N);
        cJSON_AddBoolToObject(sh, "bias", 1);
        cJSON_AddStringToObject(sh, "epilogue", epi_name(c->epi));
        break;
    case K_ATTENTION:
        cJSON_AddNumberToObject(sh, "B", c->batch);
        cJSON_AddNumberToObject(sh, "T", c->T);
        cJSON_AddNumberToObject(sh, "H", c->H);
        cJSON_AddNumberToObject(sh, "dh", c->dh);
        break;
    case K_LAYERNORM:
        cJSON_AddNumberToObject(sh, "rows", c->rows);
        cJSON_AddNumberToObject(sh, "D", c->D);
        break;
    case K_GELU:
        cJSON_AddNumberToObject(sh, "n", (double)c->n);
        break;
    }
    add_timing(o, &c->t);
    cJSON_AddNumberToObject(o, c->flops ? "flops" : "bytes", c->work);
    cJSON_AddStringToObject(o, "unit", c->flops ? "GFLOP/s" : "GB/s");
    cJSON_AddNumberToObject(o, "rate", c->rate);
    add_pct_peak(o, c->pct_peak);
    return o;
}

static cJSON *op_profile_json(const op_profile *op)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "method",
                            "a timestamp after every dispatch and copy; a command's time is its timestamp minus the "
                            "previous one (binding and the barrier before it included), summed per run; medians over "
                            "the profiled runs");
    cJSON_AddNumberToObject(o, "runs", op->runs);
    cJSON_AddNumberToObject(o, "timestamps", op->marks);
    cJSON_AddItemToObject(o, "total_ms", stats_json(&op->total_ms));
    cJSON_AddItemToObject(o, "sum_ms", stats_json(&op->sum_ms));
    cJSON *cats = cJSON_AddArrayToObject(o, "categories");
    for (int c = 0; c < N_CATS; c++) {
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "op", cat_names[c]);
        cJSON_AddNumberToObject(e, "count", op->cat_count[c]);
        cJSON_AddItemToObject(e, "ms", stats_json(&op->cat_ms[c]));
        cJSON_AddNumberToObject(e, "share", op->sum_ms.median > 0 ? op->cat_ms[c].median / op->sum_ms.median : 0);
        if (op->cat_flops[c] > 0) {
            cJSON_AddNumberToObject(e, "flops", op->cat_flops[c]);
            cJSON_AddNumberToObject(e, "gflops", op->cat_rate[c]);
        }
        if (op->cat_pct[c] >= 0)
            cJSON_AddNumberToObject(e, "pct_peak", op->cat_pct[c]);
        cJSON_AddItemToArray(cats, e);
    }
    cJSON *sh = cJSON_AddArrayToObject(o, "shaders");
    for (uint32_t t = 0; t < op->n_tags; t++) {
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "name", op->tags[t].name);
        cJSON_AddStringToObject(e, "op", cat_names[op->tags[t].cat]);
        cJSON_AddNumberToObject(e, "count", op->tags[t].count);
        cJSON_AddItemToObject(e, "ms", stats_json(&op->tags[t].ms));
        cJSON_AddItemToArray(sh, e);
    }
    return o;
}

/* The roofline account (roofline.c): per forward, and per group of identical commands. */
static cJSON *account_json(const model_row *r)
{
    const op_account *a = &r->acct;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "dispatches", a->dispatches);
    cJSON_AddNumberToObject(o, "barriers", a->barriers);
    cJSON_AddNumberToObject(o, "transfers", a->transfers);
    cJSON *gs = cJSON_AddArrayToObject(o, "groups");
    for (uint32_t i = 0; i < a->n; i++) {
        const acct_group *g = &a->g[i];
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "name", g->name);
        cJSON_AddItemToObject(e, "shape", cJSON_CreateIntArray((const int[]){(int)g->one.shape[0],
                                                                           (int)g->one.shape[1],
                                                                           (int)g->one.shape[2]}, 3));
        cJSON_AddNumberToObject(e, "count", g->count);
        cJSON_AddItemToObject(e, "workgroups", cJSON_CreateIntArray((const int[]){(int)g->groups[0],
                                                                                (int)g->groups[1],
                                                                                (int)g->groups[2]}, 3));
        cJSON_AddNumberToObject(e, "workgroup_size", g->one.wg_size);
        cJSON_AddNumberToObject(e, "shared_bytes", g->one.shared_bytes);
        cJSON_AddBoolToObject(e, "matrix_units", g->one.matrix);
        cJSON_AddNumberToObject(e, "flops", g->one.flops);
        cJSON_AddNumberToObject(e, "min_bytes", g->one.min_bytes);
        cJSON_AddNumberToObject(e, "tiled_bytes", g->one.tiled_bytes);
        if (a->timed)
            cJSON_AddItemToObject(e, "ms", stats_json(&g->ms));
        cJSON_AddItemToArray(gs, e);
    }
    return o;
}

static cJSON *model_row_json(const model_row *r)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "model", r->model);
    cJSON_AddNumberToObject(o, "batch", r->batch);
    cJSON_AddStringToObject(o, "precision_asked", precision_name(r->asked));
    cJSON_AddItemToObject(o, "load_average", numbers_json(r->load, 3));
    if (r->skipped[0]) {
        cJSON_AddStringToObject(o, "skipped", r->skipped);
        return o;
    }
    cJSON_AddStringToObject(o, "precision", precision_name(r->used));
    const vit_dims *d = &r->dims;
    cJSON *cfg = cJSON_AddObjectToObject(o, "config");
    cJSON_AddNumberToObject(cfg, "hidden", d->D);
    cJSON_AddNumberToObject(cfg, "layers", d->L);
    cJSON_AddNumberToObject(cfg, "heads", d->H);
    cJSON_AddNumberToObject(cfg, "mlp", d->mlp);
    cJSON_AddNumberToObject(cfg, "image", d->image);
    cJSON_AddNumberToObject(cfg, "patch", d->P);
    cJSON_AddNumberToObject(cfg, "tokens", d->T);
    cJSON_AddNumberToObject(cfg, "classes", d->K);
    cJSON_AddNumberToObject(cfg, "parameters", (double)r->parameters);
    add_timing(o, &r->t);
    cJSON_AddNumberToObject(o, "flops", r->flops);
    cJSON_AddNumberToObject(o, "matmul_flops", r->matmul_flops);
    cJSON_AddNumberToObject(o, "attention_flops", r->attention_flops);
    cJSON_AddNumberToObject(o, "images_per_s", r->images_s);
    cJSON_AddNumberToObject(o, "tflops", r->gflops * 1e-3);
    add_pct_peak(o, r->pct_peak);
    cJSON *mem = cJSON_AddObjectToObject(o, "memory_bytes");
    cJSON_AddNumberToObject(mem, "weights", (double)r->weight_bytes);
    cJSON_AddNumberToObject(mem, "arena", (double)r->arena_bytes);
    cJSON_AddNumberToObject(mem, "io", (double)r->io_bytes);
    cJSON_AddNumberToObject(mem, "total", (double)(r->weight_bytes + r->arena_bytes + r->io_bytes));
    cJSON_AddNumberToObject(mem, "context_allocated", (double)r->allocated_bytes);
    cJSON *st = cJSON_AddObjectToObject(o, "startup_s");
    if (r->load_s > 0)
        cJSON_AddNumberToObject(st, "model_load", r->load_s);
    cJSON_AddNumberToObject(st, "plan_create", r->plan_s);
    if (r->have_ops)
        cJSON_AddItemToObject(o, "ops", op_profile_json(&r->ops));
    if (r->acct.have)
        cJSON_AddItemToObject(o, "account", account_json(r)); /* per command: flops, bytes of one, ms of all */
    if (r->have_host) {
        cJSON *h = cJSON_AddObjectToObject(o, "host_overhead");
        cJSON_AddNumberToObject(h, "runs", r->host_runs);
        cJSON_AddItemToObject(h, "no_dispatch_ms", stats_json(&r->host_ms));
        cJSON_AddItemToObject(h, "full_run_ms", stats_json(&r->host_full_ms));
    }
    return o;
}

void write_json(const bench *b, const char *path, int argc, char **argv, const char *cmdline, const host_info *h,
                const peaks *p, const bench_case *c, uint32_t n, const model_row *rows, uint32_t n_rows)
{
    cJSON *root = cJSON_CreateObject();
    char ver[32];
    snprintf(ver, sizeof ver, "%d.%d.%d", VKVIT_VERSION_MAJOR, VKVIT_VERSION_MINOR, VKVIT_VERSION_PATCH);
    cJSON_AddStringToObject(root, "tool", "vkvit-bench");
    cJSON_AddStringToObject(root, "version", ver);
    char when[64];
    time_t tnow = time(NULL);
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime(&tnow));
    cJSON_AddStringToObject(root, "date", when);
    cJSON_AddStringToObject(root, "command", cmdline);
    cJSON *av = cJSON_AddArrayToObject(root, "argv");
    for (int i = 0; i < argc; i++)
        cJSON_AddItemToArray(av, cJSON_CreateString(argv[i]));
    cJSON_AddItemToObject(root, "device", device_json(b));
    cJSON_AddItemToObject(root, "host", host_json(h));
    cJSON_AddItemToObject(root, "settings", settings_json(b));
    if (p->n)
        cJSON_AddItemToObject(root, "peak", peak_json(p));
    cJSON *ops = cJSON_AddArrayToObject(root, "ops");
    for (uint32_t i = 0; i < n; i++)
        cJSON_AddItemToArray(ops, case_json(&c[i]));
    cJSON *models = cJSON_AddArrayToObject(root, "models");
    for (uint32_t i = 0; i < n_rows; i++)
        cJSON_AddItemToArray(models, model_row_json(&rows[i]));

    char *text = cJSON_Print(root);
    cJSON_Delete(root);
    if (!text)
        die("out of host memory (JSON)");
    FILE *f = fopen(path, "w");
    if (!f)
        die("cannot write %s: %s", path, strerror(errno));
    bool ok = fputs(text, f) >= 0 && fputc('\n', f) != EOF;
    ok = (fclose(f) == 0) && ok;
    free(text);
    if (!ok)
        die("writing %s failed: %s", path, strerror(errno));
    printf("wrote %s\n", path);
}
