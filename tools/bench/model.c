/* vkvit-bench --model: whole forward passes. For every model x precision x batch it times a plan's own
 * command buffer (what vkvit_run submits): GPU time between the plan's timestamps (PLAN_TS_START/END),
 * wall time around submit + wait, images/s, TFLOP/s (2*M*N*K per GEMM, patch embedding and head
 * included, + 4*B*H*T^2*dh per attention), % of the --peak FMA rate of the precision, device memory.
 * --ops records the plan again with vk_cmd profiling (a timestamp after every dispatch, tagged with its
 * shader) and sums the intervals per op type and per shader, and per group of the roofline account
 * (roofline.c), which --roofline prints without the times too. */
#include <stdlib.h>
#include <string.h>

#include "bench.h"

typedef struct model_preset {
    const char *name;
    uint32_t hidden, layers, heads, patch, image, labels;
} model_preset;

static const model_preset presets[] = {
    {"vit-ti16", 192, 12, 3, 16, 224, 1000},     {"deit-ti16", 192, 12, 3, 16, 224, 1000},
    {"vit-s16", 384, 12, 6, 16, 224, 1000},      {"vit-b16", 768, 12, 12, 16, 224, 1000},
    {"vit-l16", 1024, 24, 16, 16, 224, 1000},    {"vit-h14", 1280, 32, 16, 14, 224, 1000},
    {"vit-b32-384", 768, 12, 12, 32, 384, 1000},
    {"r50-vit-b16-384", 768, 12, 12, 1, 384, 1000}, /* "r50-": a hybrid (timm's vit_base_r50_s16_384) */
    {"test-tiny", 64, 2, 2, 16, 64, 10},         /* for tests/test_bench.sh: 17 tokens, milliseconds */
};

const char *const cat_names[N_CATS] = {"matmul", "attention", "layernorm", "other"};

static int category_of(const char *tag)
{
    for (int c = 0; c < CAT_OTHER; c++)
        if (!strncmp(tag, cat_names[c], strlen(cat_names[c])))
            return c;
    return CAT_OTHER;
}

/* Floating-point operations of one forward pass of B images (multiply-add = 2): every GEMM's
 * 2*M*N*K (patch embedding, qkv, out-proj, fc1, fc2, head; a hybrid's ResNet convs, each a GEMM over its
 * output pixels) and attention's 4*B*H*T^2*dh. */
static void model_work(const vit_dims *d, uint32_t B, double *matmul, double *attention)
{
    double T = d->T, D = d->D;
    double per_layer = 2 * T * D * 3 * D + 2 * T * D * D + 4 * T * D * d->mlp;
    double stem = 0;
    if (d->hybrid) {
        const double s1 = vit_root_side(d, false);
        stem = 2 * s1 * s1 * d->resnet.root * 49.0 * d->C;
        for (uint32_t u = 0; u < d->units; u++) {
            const vit_unit v = vit_unit_of(d, u);
            const double in = (double)v.in * v.in, out = (double)v.out * v.out;
            stem += 2 * (in * v.mid * v.cin + out * v.mid * 9.0 * v.mid + out * v.cout * v.mid +
                         (v.proj ? out * v.cout * v.cin : 0));
        }
    }
    *matmul = B * (stem + 2.0 * d->patches * d->cpp * D + d->L * per_layer + 2.0 * d->prefix * D * d->K);
    *attention = B * d->L * 4.0 * T * T * D; /* D = H * dh */
}

/* A preset with seeded synthetic weights, or a checkpoint. Returns the status (UNSUPPORTED, e.g.
 * fp16 on a device without it, skips the rows); other failures end the run. */
static vkvit_status load_model(bench *b, const char *spec, vkvit_precision precision, struct vkvit_model **m)
{
    vkvit_status s;
    *m = NULL;
    const unsigned flags = b->opt.unfused ? MODEL_UNFUSED_LN : 0u;
    const model_preset *pr = NULL;
    for (size_t i = 0; i < sizeof presets / sizeof *presets; i++)
        if (!strcmp(spec, presets[i].name))
            pr = &presets[i];
    if (pr) {
        vit_config c;
        config_init(&c);
        c.hidden = pr->hidden, c.layers = pr->layers, c.heads = pr->heads;
        c.mlp = 4 * c.hidden, c.patch = pr->patch, c.image = pr->image, c.channels = 3;
        c.num_labels = pr->labels, c.eps = 1e-6;
        if (!strncmp(pr->name, "r50-", 4)) /* R50's ResNet before the ViT: 3, 4, 9 units */
            c.hybrid = true, c.resnet = (vit_resnet){.stages = 3, .root = 64, .depth = {3, 4, 9},
                                                     .mid = {64, 128, 256}, .width = {256, 512, 1024},
                                                     .groups = 32, .gn_eps = 1e-5};
        s = model_synthetic(b->ctx, &c, b->opt.seed, flags, precision, m);
    } else {
        s = model_load(b->ctx, spec, flags, precision, 0, m);
    }
    if (s && s != VKVIT_ERROR_UNSUPPORTED && s != VKVIT_ERROR_OUT_OF_DEVICE_MEMORY)
        die("%s (%s): %s: %s", spec, precision_name(precision), vkvit_status_string(s), vkvit_last_error());
    return s;
}

/* ---- the per-op breakdown (--ops) ------------------------------------------------------------------- */

static int find_tag(op_profile *op, const char *name)
{
    for (uint32_t i = 0; i < op->n_tags; i++)
        if (op->tags[i].name == name || !strcmp(op->tags[i].name, name))
            return (int)i;
    if (op->n_tags == MAX_TAGS)
        return -1;
    op->tags[op->n_tags] = (op_tag){.name = name, .cat = category_of(name)};
    return (int)op->n_tags++;
}

/* Records the plan again with a timestamp after every command, runs it `runs` times, and sums each
 * run's intervals per shader and per category. */
static void profile_plan(bench *b, struct vkvit_plan *p, op_profile *op, op_account *acct, uint32_t runs)
{
    memset(op, 0, sizeof *op);
    vk_cmd_set_accounting(p->cmd, true); /* the roofline account: command i is mark i + 1's */
    check(plan_set_profiling(p, true), "recording the plan with profiling");
    double g, w;
    if (b->opt.warmup)
        run_once(b, p->cmd, &g, &w);
    uint32_t n = vk_cmd_profile_count(p->cmd);
    const char **tags = xcalloc(n, sizeof *tags);
    double *ns = xcalloc(n, sizeof *ns), *total = xcalloc(runs, sizeof *total), *sum = xcalloc(runs, sizeof *sum);
    double *cat = xcalloc((size_t)N_CATS * runs, sizeof *cat), *tag = xcalloc((size_t)MAX_TAGS * runs, sizeof *tag);
    int *group_of = xcalloc(n, sizeof *group_of);
    double *grp = xcalloc((size_t)MAX_GROUPS * runs, sizeof *grp);
    memset(acct, 0, sizeof *acct);
    account_groups(acct, p->cmd, group_of);
    for (uint32_t r = 0; r < runs; r++) {
        run_once(b, p->cmd, &total[r], &w);
        check(vk_cmd_profile_read(p->cmd, tags, ns), "reading the profile");
        for (uint32_t i = 1; i < n; i++) {
            double ms = (ns[i] - ns[i - 1]) * 1e-6;
            int t = find_tag(op, tags[i]);
            int c = t >= 0 ? op->tags[t].cat : category_of(tags[i]);
            if (r == 0) {
                op->cat_count[c]++;
                if (t >= 0)
                    op->tags[t].count++;
            }
            if (t >= 0)
                tag[(size_t)t * runs + r] += ms;
            cat[(size_t)c * runs + r] += ms;
            sum[r] += ms;
            if (i - 1 < vk_cmd_account_count(p->cmd) && group_of[i - 1] >= 0)
                grp[(size_t)group_of[i - 1] * runs + r] += ms;
        }
    }
    op->runs = runs;
    op->marks = n;
    op->total_ms = summarize(total, runs);
    op->sum_ms = summarize(sum, runs);
    for (int c = 0; c < N_CATS; c++)
        op->cat_ms[c] = summarize(cat + (size_t)c * runs, runs);
    for (uint32_t t = 0; t < op->n_tags; t++)
        op->tags[t].ms = summarize(tag + (size_t)t * runs, runs);
    for (uint32_t g = 0; g < acct->n; g++)
        acct->g[g].ms = summarize(grp + (size_t)g * runs, runs);
    acct->timed = true;
    free(group_of);
    free(grp);
    free(tags);
    free(ns);
    free(total);
    free(sum);
    free(cat);
    free(tag);
    check(plan_set_profiling(p, false), "recording the plan without profiling");
}

/* The breakdown of row (as many runs as the row had), with the rates of the op types whose flops are
 * counted, against `peak` GFLOP/s (0: none). */
static void breakdown(bench *b, struct vkvit_plan *p, model_row *row, double peak)
{
    op_profile *op = &row->ops;
    profile_plan(b, p, op, &row->acct, row->t.runs);
    op->cat_flops[CAT_MATMUL] = row->matmul_flops;
    op->cat_flops[CAT_ATTENTION] = row->attention_flops;
    for (int c = 0; c < N_CATS; c++) {
        double ms = op->cat_ms[c].median;
        op->cat_rate[c] = op->cat_flops[c] > 0 && ms > 0 ? op->cat_flops[c] / ms * 1e-6 : 0;
        op->cat_pct[c] = op->cat_rate[c] > 0 && peak > 0 ? 100.0 * op->cat_rate[c] / peak : -1;
    }
    row->have_ops = true;
}

/* ---- the rows --------------------------------------------------------------------------------------- */

static void skip_row(model_row *row, vkvit_status s)
{
    snprintf(row->skipped, sizeof row->skipped, "%s: %s", vkvit_status_string(s), vkvit_last_error());
}

static double fma_peak(const peaks *pk, vkvit_precision used)
{
    return used == VKVIT_PRECISION_FP16 ? pk->fp16 : pk->fp32;
}

/* One row: a plan for the batch (skipped when the device cannot hold it), random input, timed. */
static void measure_row(bench *b, struct vkvit_model *m, const peaks *pk, model_row *row)
{
    struct vkvit_plan *p = NULL;
    double t0 = now_s();
    vkvit_status s = plan_create(m, row->batch, false, &p);
    row->plan_s = now_s() - t0;
    if (s) {
        skip_row(row, s);
        if (s != VKVIT_ERROR_UNSUPPORTED && s != VKVIT_ERROR_OUT_OF_DEVICE_MEMORY &&
            s != VKVIT_ERROR_OUT_OF_HOST_MEMORY)
            die("%s batch %u: %s", row->model, row->batch, row->skipped);
        return;
    }
    float *in = (float *)((char *)p->io.map + p->io_input);
    for (uint64_t k = 0; k < p->input.size / 4; k++)
        in[k] = rng_uniform(&b->rng, -2.0f, 2.0f);
    row->weight_bytes = m->weights.size;
    row->arena_bytes = p->arena.size;
    row->io_bytes = p->io.size;
    row->allocated_bytes = b->ctx->bytes_allocated;
    row->t = time_cmd(b, p->cmd);
    double sec = primary(&row->t)->median * 1e-3;
    row->images_s = row->batch / sec;
    row->gflops = row->flops / sec * 1e-9;
    double peak = fma_peak(pk, row->used);
    row->pct_peak = peak > 0 ? 100.0 * row->gflops / peak : -1;
    if (b->opt.op_breakdown && b->ctx->timestamps) {
        breakdown(b, p, row, peak);
    } else if (b->opt.op_breakdown || b->opt.roofline) { /* the account without times */
        vk_cmd_set_accounting(p->cmd, true);
        check(plan_set_profiling(p, false), "recording the plan with its account");
        int *group_of = xcalloc(vk_cmd_account_count(p->cmd), sizeof *group_of);
        account_groups(&row->acct, p->cmd, group_of);
        free(group_of);
    }
    if (b->opt.host_overhead)
        measure_host_overhead(b, p, row);
    plan_destroy(p);
}

model_row *run_models(bench *b, const peaks *pk, uint32_t *n_rows)
{
    const options *o = &b->opt;
    model_row *rows = xcalloc((size_t)o->n_models * o->n_precisions * o->n_batches, sizeof *rows);
    uint32_t n = 0;
    print_model_header(b);
    for (uint32_t i = 0; i < o->n_models; i++) {
        const char *spec = o->models[i];
        const char *slash = strrchr(spec, '/');
        const char *name = slash && slash[1] ? slash + 1 : spec;
        for (uint32_t k = 0; k < o->n_precisions; k++) {
            struct vkvit_model *m = NULL;
            double t0 = now_s();
            vkvit_status s = load_model(b, spec, o->precisions[k], &m);
            double load_s = now_s() - t0;
            for (uint32_t j = 0; j < o->n_batches; j++) {
                model_row *r = &rows[n++];
                snprintf(r->model, sizeof r->model, "%s", name);
                r->batch = o->batches[j];
                r->asked = o->precisions[k];
                r->pct_peak = -1;
                r->load_s = j == 0 ? load_s : 0;
                if (!load_average(r->load))
                    memset(r->load, 0, sizeof r->load);
                if (s) {
                    skip_row(r, s);
                } else {
                    r->used = m->precision;
                    r->dims = m->dims;
                    r->parameters = m->parameters;
                    model_work(&m->dims, r->batch, &r->matmul_flops, &r->attention_flops);
                    r->flops = r->matmul_flops + r->attention_flops;
                    measure_row(b, m, pk, r);
                }
                print_model_row(r);
                print_account(b, r, pk);
                print_host_overhead(r);
                fflush(stdout);
            }
            model_free(m);
        }
    }
    printf("\n");
    *n_rows = n;
    return rows;
}
