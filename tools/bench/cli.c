/* vkvit-bench: whole-model benchmark (--model), kernel benchmark for the four ops (--op), and the
 * device's own ceilings (--peak). This file is its command line: the options, usage, how it fails,
 * and main, which runs the jobs (peak.c, ops.c, model.c) in that order and reports them (report.c).
 * bench/README.md explains the method and holds the figures. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

/* ---- failing loudly ------------------------------------------------------------------------------ */

void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("vkvit-bench: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

void check(vkvit_status s, const char *what)
{
    if (s != VKVIT_OK)
        die("%s failed: %s: %s", what, vkvit_status_string(s), vkvit_last_error());
}

void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);
    if (!p)
        die("out of host memory (%zu x %zu bytes)", n, size);
    return p;
}

/* ---- options --------------------------------------------------------------------------------------- */

static void usage(FILE *f)
{
    fputs("usage: vkvit-bench --op matmul|attention|layernorm|gelu|all[,...] [options]\n"
          "       vkvit-bench --peak [options]            (both together: tables gain a %-of-peak column)\n"
          "\n"
          "  --op LIST        ops to time, comma-separated, or 'all'\n"
          "  --model M        time the whole forward pass (the plan's command buffer, GPU timestamps\n"
          "                   around it) of a preset with seeded synthetic weights: vit-ti16, vit-s16,\n"
          "                   vit-b16, vit-l16, vit-h14, vit-b32-384, deit-ti16 (all 224 px but b32-384),\n"
          "                   r50-vit-b16-384 (the hybrid R50+ViT-B/16 at 384 px),\n"
          "                   test-tiny (D=64, 2 layers, 64 px: for tests), or a checkpoint directory;\n"
          "                   repeatable, comma-separated. One row per model x precision x batch; a batch\n"
          "                   the device cannot hold is printed as 'skipped: <reason>'\n"
          "  --precision LIST fp32, fp16 and/or auto, comma-separated (default auto): the model's storage\n"
          "                   precision (vkvit_model_options.precision); % peak uses the matching FMA peak.\n"
          "                   With --op: matmul cases run once per precision (fp16: fp16 inputs and output,\n"
          "                   the fp16 kernels; VKVIT_MATMUL=coopmat|tiled|direct picks which), other ops fp32\n"
          "  --ops            with --model: per-op breakdown, a timestamp after every dispatch, summed per\n"
          "                   op type (matmul, attention, layernorm, other) and per shader; then the roofline\n"
          "                   account of every dispatch (FLOPs, min and tiled bytes, workgroups, achieved rates,\n"
          "                   % of the --peak ceilings) and the dispatches and barriers per forward\n"
          "  --roofline LIST  with --model: the account and each op's floor, max(FLOPs / rate, bytes / bandwidth),\n"
          "                   on published peaks of h100 (SXM), rtx4090, 7900xtx, a770, or all (comma-separated)\n"
          "  --host-overhead  with --model: vkvit_run's host cost (submit, fence wait, input copy, readback) on a\n"
          "                   command buffer with the plan's transfers and no dispatch, beside the full run\n"
          "  --peak           measure this device's FMA throughput (fp32 vec4, fp32 scalar, fp16 vec4 if\n"
          "                   supported) and buffer-copy bandwidth\n"
          "  --batch LIST     images per batch, e.g. 1 or 1,8,32 (default 1): multiplies the token\n"
          "                   dimension (matmul M, layernorm rows, gelu n) and is attention's B\n"
          "  --shape S        custom shape (repeatable; needs a single --op), per image:\n"
          "                     matmul    MxKxN[:none|gelu|gelu_tanh|residual]  (Y[M,N] = X[M,K].W[N,K]^T + b)\n"
          "                     attention TxHxDH\n"
          "                     layernorm ROWSxD\n"
          "                     gelu      N  (or AxB, meaning A*B elements)\n"
          "  --warmup N       untimed runs first (default 3)\n"
          "  --runs N         exactly N timed runs (= --iters N --min-time 0 --max-runs N)\n"
          "  --iters N        at least N timed runs (default 20) ...\n"
          "  --min-time S     ... and at least S seconds of them (default 1; 0 = exactly --iters runs)\n"
          "  --max-runs N     cap on timed runs (default 100000)\n"
          "  --device I|NAME  device index or name substring (default: VKVIT_DEVICE, else the best)\n"
          "  --json FILE      also write every figure to FILE\n"
          "  --seed N         seed of the random inputs (default 1)\n"
          "  --copy-mb N      size of the --peak copy buffers in MiB (default 256)\n"
          "  --validate       enable the Khronos validation layer (distorts timings; off by default)\n"
          "  --tune           matmul autotuning: time candidate tile configurations of each shape not tuned\n"
          "                   before, print them and save the winner next to the pipeline cache\n"
          "  --unfused        --model: each encoder LayerNorm as its own dispatch (7 per layer, not 5;\n"
          "                   VKVIT_LAYERNORM_UNFUSED, docs/fusion.md)\n"
          "  -h, --help       this text\n"
          "\n"
          "Default shapes: ViT-B/16 at batch B, M = 197*B: matmul 197x768->2304 (qkv), 197x768->768\n"
          "(out-proj, +residual), 197x768->3072 (fc1, +gelu), 197x3072->768 (fc2, +residual), all with\n"
          "bias; attention T=197 H=12 dh=64; layernorm 197x768; gelu 197*3072 elements.\n",
          f);
}

bool parse_u32(const char *s, uint32_t *out)
{
    if (!s || !isdigit((unsigned char)*s))
        return false;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || v > UINT32_MAX)
        return false;
    *out = (uint32_t)v;
    return true;
}

/* The value of option `name`: a whole number in [min, max], or the run ends. */
static uint32_t option_u32(const char *name, const char *v, uint32_t min, uint32_t max)
{
    uint32_t x;
    if (!parse_u32(v, &x) || x < min || x > max)
        die("bad %s '%s'", name, v);
    return x;
}

static unsigned parse_ops(const char *list)
{
    unsigned bits = 0;
    char buf[256];
    snprintf(buf, sizeof buf, "%s", list);
    for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
        if (!strcmp(tok, "matmul"))
            bits |= OP_BIT_MATMUL;
        else if (!strcmp(tok, "attention"))
            bits |= OP_BIT_ATTENTION;
        else if (!strcmp(tok, "layernorm"))
            bits |= OP_BIT_LAYERNORM;
        else if (!strcmp(tok, "gelu"))
            bits |= OP_BIT_GELU;
        else if (!strcmp(tok, "all"))
            bits |= OP_BIT_ALL;
        else
            die("unknown op '%s' (matmul, attention, layernorm, gelu, all)", tok);
    }
    return bits;
}

static void parse_batches(const char *list, options *o)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", list);
    for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
        if (o->n_batches == MAX_BATCHES)
            die("at most %d batch sizes", MAX_BATCHES);
        uint32_t b;
        if (!parse_u32(tok, &b) || b == 0)
            die("bad batch size '%s'", tok);
        o->batches[o->n_batches++] = b;
    }
}

static void parse_precisions(const char *list, options *o)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", list);
    for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
        int p = -1;
        for (int k = VKVIT_PRECISION_AUTO; k <= VKVIT_PRECISION_FP16; k++)
            if (!strcmp(tok, precision_name((vkvit_precision)k)))
                p = k;
        if (p < 0)
            die("unknown precision '%s' (fp32, fp16, auto)", tok);
        if (o->n_precisions == 3)
            die("at most 3 precisions");
        o->precisions[o->n_precisions++] = (vkvit_precision)p;
    }
}

static void parse_models(const char *list, options *o)
{
    char buf[4096];
    if (snprintf(buf, sizeof buf, "%s", list) >= (int)sizeof buf)
        die("--model list too long");
    for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) { /* argv stays as given */
        if (o->n_models == MAX_SHAPES)
            die("at most %d models", MAX_SHAPES);
        if (snprintf(o->model_text[o->n_models], sizeof o->model_text[0], "%s", tok) >= (int)sizeof o->model_text[0])
            die("--model path too long: %s", tok);
        o->models[o->n_models] = o->model_text[o->n_models];
        o->n_models++;
    }
}

/* What the options do together: something to do, --shape with one op, the defaults of the lists. */
static void finish_options(options *o)
{
    if (!o->ops && !o->peak && !o->n_models) {
        usage(stderr);
        die("nothing to do: give --op, --model and/or --peak");
    }
    if (o->n_shapes && o->ops != OP_BIT_MATMUL && o->ops != OP_BIT_ATTENTION && o->ops != OP_BIT_LAYERNORM &&
        o->ops != OP_BIT_GELU)
        die("--shape needs exactly one --op (the shape's meaning depends on the op)");
    if (o->max_runs < o->iters)
        o->max_runs = o->iters;
    if (!o->n_batches)
        o->batches[o->n_batches++] = 1;
    if (!o->n_precisions)
        o->precisions[o->n_precisions++] = VKVIT_PRECISION_AUTO;
    if ((o->op_breakdown || o->roofline || o->host_overhead) && !o->n_models)
        die("--ops, --roofline and --host-overhead are about --model runs: give --model too");
}

static void parse_args(int argc, char **argv, options *o)
{
    *o = (options){.warmup = 3, .iters = 20, .min_time_s = 1.0, .max_runs = 100000, .seed = 1,
                   .copy_mb = 256};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define NEED_VALUE()                                                                                  \
    do {                                                                                          \
        if (!v)                                                                                   \
            die("%s needs a value (see --help)", a);                                              \
        i++;                                                                                      \
    } while (0)
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            exit(0);
        } else if (!strcmp(a, "--op")) {
            NEED_VALUE();
            o->ops |= parse_ops(v);
        } else if (!strcmp(a, "--peak")) {
            o->peak = true;
        } else if (!strcmp(a, "--batch")) {
            NEED_VALUE();
            parse_batches(v, o);
        } else if (!strcmp(a, "--shape")) {
            NEED_VALUE();
            if (o->n_shapes == MAX_SHAPES)
                die("at most %d --shape options", MAX_SHAPES);
            o->shapes[o->n_shapes++] = v;
        } else if (!strcmp(a, "--warmup")) {
            NEED_VALUE();
            o->warmup = option_u32(a, v, 0, UINT32_MAX);
        } else if (!strcmp(a, "--iters")) {
            NEED_VALUE();
            o->iters = option_u32(a, v, 1, UINT32_MAX);
        } else if (!strcmp(a, "--min-time")) {
            NEED_VALUE();
            char *end;
            o->min_time_s = strtod(v, &end);
            if (*end || !(o->min_time_s >= 0))
                die("bad --min-time '%s'", v);
        } else if (!strcmp(a, "--max-runs")) {
            NEED_VALUE();
            o->max_runs = option_u32(a, v, 1, UINT32_MAX);
        } else if (!strcmp(a, "--device")) {
            NEED_VALUE();
            o->device = v;
        } else if (!strcmp(a, "--json")) {
            NEED_VALUE();
            o->json = v;
        } else if (!strcmp(a, "--seed")) {
            NEED_VALUE();
            char *end;
            errno = 0;
            o->seed = strtoull(v, &end, 0);
            if (errno || *end)
                die("bad --seed '%s'", v);
        } else if (!strcmp(a, "--copy-mb")) {
            NEED_VALUE();
            o->copy_mb = option_u32(a, v, 1, 65536);
        } else if (!strcmp(a, "--validate")) {
            o->validate = true;
        } else if (!strcmp(a, "--tune")) {
            o->tune = true;
        } else if (!strcmp(a, "--unfused")) {
            o->unfused = true;
        } else if (!strcmp(a, "--ops")) {
            o->op_breakdown = true;
        } else if (!strcmp(a, "--roofline")) {
            NEED_VALUE();
            o->roofline |= parse_roofline(v);
        } else if (!strcmp(a, "--host-overhead")) {
            o->host_overhead = true;
        } else if (!strcmp(a, "--runs")) {
            NEED_VALUE();
            o->iters = option_u32(a, v, 1, UINT32_MAX);
            o->min_time_s = 0;
            o->max_runs = o->iters;
        } else if (!strcmp(a, "--precision")) {
            NEED_VALUE();
            parse_precisions(v, o);
        } else if (!strcmp(a, "--model")) {
            NEED_VALUE();
            parse_models(v, o);
        } else {
            usage(stderr);
            die("unknown argument '%s'", a);
        }
#undef NEED_VALUE
    }
    finish_options(o);
}

/* ---- main --------------------------------------------------------------------------------------------- */

/* With --validate, every validation warning or error is printed and makes the exit status 1, so a test can
 * run the tool under the layer. */
static int validation_messages;
static bool print_tune;   /* --tune: the autotuner's reports (INFO "tune: ...") go to stdout */

static void on_message(void *user, vkvit_message_severity sev, const char *msg)
{
    if (strncmp(msg, "tune:", 5) == 0) {
        if (print_tune || sev != VKVIT_MESSAGE_INFO)
            printf("%s\n", msg);
        return;
    }
    if (sev == VKVIT_MESSAGE_INFO)
        return;
    validation_messages += *(const bool *)user;
    fprintf(stderr, "%s: %s\n", sev == VKVIT_MESSAGE_ERROR ? "VALIDATION ERROR" : "VALIDATION WARNING", msg);
}

int main(int argc, char **argv)
{
    bench b = {0};
    parse_args(argc, argv, &b.opt);
    b.rng = b.opt.seed;

    bench_case *cases = xcalloc(MAX_CASES, sizeof *cases);
    uint32_t n_cases = b.opt.ops ? build_cases(&b.opt, cases) : 0;

#ifdef HAVE_POSIX
    /* The validation layer distorts timings: only --validate turns it on, not the environment. */
    if (!b.opt.validate)
        unsetenv("VKVIT_VALIDATION");
#endif
    vkvit_context_options copt = {.device = b.opt.device, .validation = b.opt.validate, .on_message = on_message,
                                  .user = &b.opt.validate, .tune = b.opt.tune ? VKVIT_TUNE_ON : VKVIT_TUNE_AUTO};
    print_tune = b.opt.tune;
    check(vkvit_context_create(&copt, &b.ctx), "creating the Vulkan context");

    char *cmdline = command_line(argc, argv);
    host_info host;
    get_host_info(&host);
    print_header(&b, cmdline, &host);
    fflush(stdout);

    peaks pk;
    memset(&pk, 0, sizeof pk);
    if (b.opt.peak) {
        run_peak(&b, &pk);
        print_peaks(&pk);
        fflush(stdout);
    }
    if (n_cases) {
        run_cases(&b, cases, n_cases, &pk);
        print_cases(cases, n_cases, b.opt.peak);
    }
    uint32_t n_rows = 0;
    model_row *rows = b.opt.n_models ? run_models(&b, &pk, &n_rows) : NULL;
    if (b.opt.json)
        write_json(&b, b.opt.json, argc, argv, cmdline, &host, &pk, cases, n_cases, rows, n_rows);

    free(rows);
    free(cmdline);
    free(cases);
    vkvit_context_destroy(b.ctx);
    if (validation_messages) {
        fprintf(stderr, "vkvit-bench: %d validation message(s)\n", validation_messages);
        return 1;
    }
    return 0;
}
