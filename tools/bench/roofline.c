/* vkvit-bench's roofline account (--ops, --roofline) and host overhead (--host-overhead).
 *
 * The account: the plan recorded with vk_cmd accounting on keeps each command's vk_cost as its op stated it
 * (src/ops/cost.h: FLOPs, the bytes it must move, the bytes its tiling reads, workgroups). Identical commands
 * (same shader, same cost and workgroup counts: a layer's QKV GEMM in every layer) are grouped; with --ops
 * each group's measured time (its profiling intervals summed per run, median over runs) stands beside them,
 * with the achieved rates and, after --peak, their share of this device's measured FMA rate and copy
 * bandwidth. --roofline GPU[,GPU...] adds the floor each group would take on that GPU from its published
 * peaks: per command max(FLOPs / rate, min bytes / bandwidth), the rate the fp32 FMA one, or the fp16 matrix
 * one (fp16 x fp16 + fp32) for a cooperative-matrix GEMM and for fp16 GEMMs generally (on these GPUs fp16
 * plans run the cooperative-matrix kernel). bench/README.md cites the figures' sources.
 *
 * Host overhead: vkvit_run's own path (plan_run: wait, input copied into the io buffer, submit, fence wait)
 * and the logits read back, on a command buffer recorded with the plan's transfers only (input copy, output
 * copies, their barriers) and no dispatch, timed over many runs. */
#include <stdlib.h>
#include <string.h>

#include "bench.h"

typedef struct gpu_peak {
    const char *key, *name;
    double fp32, matrix16, bandwidth;   /* TFLOP/s, TFLOP/s, GB/s */
} gpu_peak;

/* Vendor figures, dense (no structured sparsity); bench/README.md, "Roofline", has the sources. */
static const gpu_peak gpus[] = {
    {"h100", "H100 SXM", 66.9, 989.4, 3350},
    {"rtx4090", "RTX 4090", 82.6, 165.2, 1008},
    {"7900xtx", "RX 7900 XTX", 61.4, 122.8, 960},
    {"a770", "Arc A770", 17.2, 137.6, 560},
};
#define N_GPUS (sizeof gpus / sizeof *gpus)

unsigned parse_roofline(const char *list)
{
    unsigned bits = 0;
    char buf[256];
    snprintf(buf, sizeof buf, "%s", list);
    for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
        size_t i = 0;
        if (!strcmp(tok, "all")) {
            bits |= (1u << N_GPUS) - 1;
            continue;
        }
        while (i < N_GPUS && strcmp(tok, gpus[i].key))
            i++;
        if (i == N_GPUS)
            die("unknown --roofline GPU '%s' (h100, rtx4090, 7900xtx, a770 or all)", tok);
        bits |= 1u << i;
    }
    return bits;
}

/* ---- grouping --------------------------------------------------------------------------------------------- */

static bool same_command(const acct_group *g, const vk_account *e)
{
    return !strcmp(g->name, e->name) && g->has_cost == e->has_cost && g->one.flops == e->cost.flops &&
           g->one.min_bytes == e->cost.min_bytes && g->one.tiled_bytes == e->cost.tiled_bytes &&
           !memcmp(g->groups, e->groups, sizeof g->groups);
}

void account_groups(op_account *a, const vk_cmd *cmd, int *group_of)
{
    const vk_account *e = vk_cmd_account(cmd);
    const uint32_t n = vk_cmd_account_count(cmd);
    a->n = 0;
    vk_cmd_counts(cmd, &a->dispatches, &a->barriers, &a->transfers);
    for (uint32_t i = 0; i < n; i++) {
        uint32_t g = 0;
        while (g < a->n && !same_command(&a->g[g], &e[i]))
            g++;
        if (g == a->n) {
            if (a->n == MAX_GROUPS) { /* more kinds than the table holds: left out of it (counted) */
                a->left_out++;
                group_of[i] = -1;
                continue;
            }
            a->g[a->n++] = (acct_group){.name = e[i].name, .has_cost = e[i].has_cost, .one = e[i].cost,
                                        .groups = {e[i].groups[0], e[i].groups[1], e[i].groups[2]}};
        }
        a->g[g].count++;
        group_of[i] = (int)g;
    }
    a->have = true;
}

/* ---- printing ---------------------------------------------------------------------------------------------- */

/* The peak of GPU `k` for a command of group g, in FLOP/s. */
static double gpu_rate(const gpu_peak *k, const acct_group *g, bool f16)
{
    const bool matrix = g->one.matrix || (f16 && !strncmp(g->name, "matmul", 6));
    return (matrix ? k->matrix16 : k->fp32) * 1e12;
}

static double floor_s(const gpu_peak *k, const acct_group *g, bool f16, bool tiled)
{
    const double c = g->one.flops / gpu_rate(k, g, f16), m = (tiled ? g->one.tiled_bytes : g->one.min_bytes) /
                                                              (k->bandwidth * 1e9);
    return g->count * (c > m ? c : m);
}

void print_account(const bench *b, const model_row *r, const peaks *pk)
{
    const op_account *a = &r->acct;
    if (!a->have)
        return;
    const bool f16 = r->used == VKVIT_PRECISION_FP16;
    const unsigned gb = b->opt.roofline;
    printf("    per forward: %u dispatches, %u barriers, %u copies/fills\n", a->dispatches, a->barriers, a->transfers);
    printf("    roofline account (per forward; MB: min = inputs and outputs once, tiled = what the tiling reads;"
           " FLOP/B and GB/s on min)\n");
    printf("    %-34s %4s %16s %5s %6s %9s %9s %9s %7s", "op (M x N x K; T x H x dh; rows x D)", "n", "workgroups",
           "wg", "shared", "MFLOP", "min MB", "tiled MB", "FLOP/B");
    if (a->timed)
        printf(" %9s %9s %8s", "ms", "GFLOP/s", "GB/s");
    if (a->timed && pk->fp32 > 0)
        printf(" %6s %6s", "%FMA", "%BW");
    for (size_t k = 0; k < N_GPUS; k++)
        if (gb >> k & 1)
            printf(" %10.10s", gpus[k].key);
    printf("\n");
    double tf = 0, tmin = 0, ttiled = 0, tms = 0, tfloor[N_GPUS] = {0}, ttfloor[N_GPUS] = {0};
    for (uint32_t i = 0; i < a->n; i++) {
        const acct_group *g = &a->g[i];
        const double flops = g->count * g->one.flops, mn = g->count * g->one.min_bytes,
                     tl = g->count * g->one.tiled_bytes, ms = g->ms.median;
        char wg[32] = "-", name[64];
        if (g->groups[0])
            snprintf(wg, sizeof wg, "%ux%ux%u", g->groups[0], g->groups[1], g->groups[2]);
        else if (strcmp(g->name, "copy") && strcmp(g->name, "fill"))
            snprintf(wg, sizeof wg, "indirect");
        const uint32_t *sh = g->one.shape;
        if (sh[2])
            snprintf(name, sizeof name, "%s %ux%ux%u", g->name, sh[0], sh[1], sh[2]);
        else if (sh[0])
            snprintf(name, sizeof name, "%s %ux%u", g->name, sh[0], sh[1]);
        else
            snprintf(name, sizeof name, "%s", g->name);
        if (!g->has_cost) { /* an op that states none (preprocessing's indirect dispatches) */
            printf("    %-34s %4u %16s   (no cost stated)\n", name, g->count, wg);
            tms += ms;
            continue;
        }
        printf("    %-34s %4u %16s %5u %6u %9.2f %9.3f %9.3f %7.2f", name, g->count, wg, g->one.wg_size,
               g->one.shared_bytes, flops * 1e-6, mn * 1e-6, tl * 1e-6, mn > 0 ? flops / mn : 0.0);
        if (a->timed) {
            const double gf = ms > 0 ? flops / ms * 1e-6 : 0, bw = ms > 0 ? mn / ms * 1e-6 : 0;
            printf(" %9.3f %9.2f %8.2f", ms, gf, bw);
            if (pk->fp32 > 0) {
                const double fpk = g->one.matrix || f16 ? (pk->fp16 > 0 ? pk->fp16 : pk->fp32) : pk->fp32;
                printf(" %5.1f%% %5.1f%%", 100.0 * gf / fpk, pk->copy > 0 ? 100.0 * bw / pk->copy : 0.0);
            }
        }
        for (size_t k = 0; k < N_GPUS; k++)
            if (gb >> k & 1) {
                const double f = floor_s(&gpus[k], g, f16, false);
                printf(" %8.2fus", f * 1e6);
                tfloor[k] += f;
                ttfloor[k] += floor_s(&gpus[k], g, f16, true);
            }
        printf("\n");
        tf += flops, tmin += mn, ttiled += tl, tms += ms;
    }
    if (a->left_out)
        printf("    (%u commands of more kinds than the table holds left out)\n", a->left_out);
    printf("    %-34s %4s %16s %5s %6s %9.2f %9.3f %9.3f %7.2f", "total", "", "", "", "", tf * 1e-6, tmin * 1e-6,
           ttiled * 1e-6, tmin > 0 ? tf / tmin : 0.0);
    if (a->timed)
        printf(" %9.3f %9.2f %8.2f", tms, tms > 0 ? tf / tms * 1e-6 : 0, tms > 0 ? tmin / tms * 1e-6 : 0);
    printf("\n");
    for (size_t k = 0; k < N_GPUS; k++)
        if (gb >> k & 1)
            printf("    floor on %-12s (%.1f TFLOP/s fp32, %.1f TFLOP/s fp16 matrix, %.0f GB/s): %.1f us with the"
                   " min bytes, %.1f us with the tiled bytes, plus %u barriers; measured here: %.3f ms (%s)\n",
                   gpus[k].name, gpus[k].fp32, gpus[k].matrix16, gpus[k].bandwidth, tfloor[k] * 1e6, ttfloor[k] * 1e6,
                   a->barriers, primary(&r->t)->median, b->ctx->info.name);
}

/* ---- host overhead ----------------------------------------------------------------------------------------- */

/* The plan's transfers without its forward pass, as record() in src/plan.c records them around it. */
static void record_dry(struct vkvit_plan *p, vk_cmd *cmd)
{
    check(vk_cmd_begin(cmd), "recording the dry run");
    vk_cmd_copy(cmd, vk_span_of(&p->io, p->io_input, p->input.size), p->input);
    vk_cmd_barrier(cmd);
    if (p->model->dims.K)
        vk_cmd_copy(cmd, p->logits, vk_span_of(&p->io, p->io_logits, p->logits.size));
    vk_cmd_copy(cmd, p->pooled, vk_span_of(&p->io, p->io_pooled, p->pooled.size));
    check(vk_cmd_end(cmd), "recording the dry run");
}

/* Median wall ms of `runs` plan_run + readback of the logits through p->cmd as it is now. */
static stats time_runs(struct vkvit_plan *p, const float *input, float *out, size_t n_out, uint32_t runs)
{
    double *ms = xcalloc(runs, sizeof *ms);
    for (uint32_t r = 0; r < runs; r++) {
        const double t0 = now_s();
        check(plan_run(p, input, p->batch, NULL), "vkvit_run");
        memcpy(out, n_out ? plan_logits(p) : plan_pooled(p), (n_out ? n_out : 1) * sizeof *out);
        ms[r] = (now_s() - t0) * 1e3;
    }
    stats s = summarize(ms, runs);
    free(ms);
    return s;
}

void measure_host_overhead(bench *b, struct vkvit_plan *p, model_row *row)
{
    const vit_dims *d = &p->model->dims;
    const size_t n_in = (size_t)p->batch * d->C * d->image * d->image_w, n_out = (size_t)p->batch * d->K;
    float *input = xcalloc(n_in, sizeof *input), *out = xcalloc(n_out ? n_out : 1, sizeof *out);
    for (size_t i = 0; i < n_in; i++)
        input[i] = rng_uniform(&b->rng, -2.0f, 2.0f);
    vk_cmd *dry, *real = p->cmd;
    check(vk_cmd_create(b->ctx, 0, &dry), "the dry command buffer");
    record_dry(p, dry);
    const uint32_t runs = b->opt.iters > 200 ? b->opt.iters : 200;
    p->cmd = dry; /* the same submission path, plan_run's, on the transfers alone */
    (void)time_runs(p, input, out, n_out, 10);
    row->host_ms = time_runs(p, input, out, n_out, runs);
    p->cmd = real;
    row->host_runs = runs;
    row->host_full_ms = time_runs(p, input, out, n_out, row->t.runs < 5 ? 5 : row->t.runs);
    vk_cmd_destroy(dry);
    free(input);
    free(out);
    row->have_host = true;
}

void print_host_overhead(const model_row *r)
{
    if (r->have_host)
        printf("    host overhead: vkvit_run with no dispatches (input copy, output copies, submit, fence wait, logits"
               " read back): median %.4f ms (p10 %.4f, p90 %.4f) over %u runs; the full run the same way: %.3f ms\n",
               r->host_ms.median, r->host_ms.p10, r->host_ms.p90, r->host_runs, r->host_full_ms.median);
}
