#include "common.h"
#include "safetensors.h"

#include <errno.h>
#include <ftw.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int passed, failed, validation_messages;
/* test_capture_begin/end: messages go here instead of failing the test. */
static bool capturing;
static char captured[1 << 16];
static size_t captured_len;
static int captured_count;

static void on_message(void *user, vkvit_message_severity sev, const char *msg)
{
    (void)user;
    if (sev == VKVIT_MESSAGE_INFO)
        return;
    if (capturing) {
        captured_count++;
        int w = snprintf(captured + captured_len, sizeof captured - captured_len, "%s\n", msg);
        if (w > 0)
            captured_len += (size_t)w < sizeof captured - captured_len ? (size_t)w : sizeof captured - captured_len - 1;
        return;
    }
    validation_messages++;
    fprintf(stderr, "%s: %s\n", sev == VKVIT_MESSAGE_ERROR ? "VALIDATION ERROR" : "VALIDATION WARNING", msg);
}

vkvit_context *test_context(void)
{
    vkvit_context_options opt = {0};
    opt.validation = 1;
    opt.on_message = on_message;
    vkvit_context *ctx = NULL;
    vkvit_status s = vkvit_context_create(&opt, &ctx);
    if (s != VKVIT_OK) {
        fprintf(stderr,
                "FATAL: cannot create a Vulkan context with the validation layer: %s: %s\n"
                "       (tests need a Vulkan device, e.g. lavapipe from mesa-vulkan-drivers, and\n"
                "        vulkan-validationlayers; they never skip)\n",
                vkvit_status_string(s), vkvit_last_error());
        exit(1);
    }
    printf("device: %s (%s, driver %s %s), validation on\n", ctx->info.name, ctx->info.vendor,
           ctx->info.driver_name, ctx->info.driver_info);
    return ctx;
}

int test_validation_messages(void) { return validation_messages; }

void test_capture_begin(void)
{
    capturing = true;
    captured_len = 0;
    captured[0] = '\0';
    captured_count = 0;
}

const char *test_capture_end(int *count)
{
    capturing = false;
    *count = captured_count;
    return captured;
}

int test_finish(vkvit_context *ctx)
{
    vkvit_context_destroy(ctx);
    if (validation_messages) {
        printf("FAIL %d validation message(s)\n", validation_messages);
        failed++;
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}

uint64_t test_seed(void)
{
    static uint64_t seed;
    if (!seed) {
        const char *env = getenv("VKVIT_TEST_SEED");
        seed = env ? strtoull(env, NULL, 0) : (uint64_t)time(NULL) * 2654435761u;
        if (!seed)
            seed = 1;
        printf("seed: VKVIT_TEST_SEED=%llu\n", (unsigned long long)seed);
    }
    return seed;
}

float test_uniform(uint64_t *state, float lo, float hi)
{
    uint64_t x = *state; /* xorshift64* */
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    double u = (double)((x * 2685821657736338717ull) >> 11) / 9007199254740992.0;
    return (float)(lo + (hi - lo) * u);
}

void test_fill(float *x, size_t n, uint64_t *state, float lo, float hi)
{
    for (size_t i = 0; i < n; i++)
        x[i] = test_uniform(state, lo, hi);
}

float *test_alloc(size_t n)
{
    float *p = malloc((n ? n : 1) * sizeof *p);
    if (!p) {
        fprintf(stderr, "FATAL: out of memory (%zu floats)\n", n);
        exit(1);
    }
    return p;
}

uint32_t test_argmax(const float *v, uint32_t n)
{
    uint32_t best = 0;
    for (uint32_t i = 1; i < n; i++)
        if (v[i] > v[best])
            best = i;
    return best;
}

double test_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

test_cmp test_compare(const float *out, const float *ref, size_t n)
{
    test_cmp c = {0, 0, true};
    double num = 0, den = 0, norm_out = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(out[i]))
            c.finite = false;
        double d = (double)out[i] - (double)ref[i];
        num += d * d;
        den += (double)ref[i] * ref[i];
        norm_out += (double)out[i] * out[i];
        if (fabs(d) > c.max_abs || isnan(d))
            c.max_abs = isnan(d) ? INFINITY : fmax(c.max_abs, fabs(d));
    }
    c.rel = den > 0 ? sqrt(num / den) : sqrt(norm_out);
    if (!c.finite)
        c.rel = INFINITY;
    return c;
}

bool test_check(const char *name, const float *out, const float *ref, size_t n, double bound)
{
    test_cmp c = test_compare(out, ref, n);
    bool ok = c.finite && c.rel <= bound;
    printf("%s %s: rel=%.3e max_abs=%.3e (bound %.0e)%s\n", ok ? "ok  " : "FAIL", name, c.rel, c.max_abs, bound,
           c.finite ? "" : " NON-FINITE OUTPUT");
    if (ok)
        passed++;
    else
        failed++;
    return ok;
}

bool test_expect(bool cond, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("%s ", cond ? "ok  " : "FAIL");
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    if (cond)
        passed++;
    else
        failed++;
    return cond;
}

void test_ok(vkvit_status s, const char *what)
{
    if (s == VKVIT_OK)
        return;
    fprintf(stderr, "FATAL: %s: %s: %s\n", what, vkvit_status_string(s), vkvit_last_error());
    exit(1);
}

bool test_expect_status(const char *what, vkvit_status got, vkvit_status want, const char *says)
{
    const char *detail = vkvit_last_error();
    return test_expect(got == want && strstr(detail, says) != NULL, "%s: %s \"%s\" (want %s \"...%s...\")", what,
                       vkvit_status_string(got), detail, vkvit_status_string(want), says);
}

char *test_read_file(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = NULL;
    long n = -1;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
        buf = malloc((size_t)n + 1);
        if (buf && fread(buf, 1, (size_t)n, f) == (size_t)n)
            buf[n] = '\0';
        else
            free(buf), buf = NULL;
    }
    fclose(f);
    if (buf && size)
        *size = (size_t)n;
    return buf;
}

void test_write_file(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f || (n && fwrite(data, 1, n, f) != n) || fclose(f) != 0) {
        fprintf(stderr, "FATAL: cannot write %s\n", path);
        exit(1);
    }
}

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st, (void)type, (void)ftw;
    if (remove(path) != 0)
        fprintf(stderr, "warning: cannot remove %s: %s\n", path, strerror(errno));
    return 0;
}

void test_remove_tree(const char *dir)
{
    if (dir && dir[0])
        nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* test_temp_dir's directory, removed at exit (also when a setup failure exits early). */
static char temp_dir[256];

static void remove_temp_dir(void) { test_remove_tree(temp_dir); }

const char *test_temp_dir(const char *name)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(temp_dir, sizeof temp_dir, "%s/vkvit-%s-XXXXXX", tmp && *tmp ? tmp : "/tmp", name);
    if (!mkdtemp(temp_dir)) {
        fprintf(stderr, "FATAL: cannot make %s: %s\n", temp_dir, strerror(errno));
        exit(1);
    }
    atexit(remove_temp_dir);
    return temp_dir;
}

float *test_read_tensor(const char *path, const char *name, size_t n)
{
    st_file *f = NULL;
    test_ok(st_open(path, &f), path);
    const st_tensor *t = st_find(f, name);
    if (!t || t->count != n) {
        fprintf(stderr, "FATAL: %s: tensor '%s' missing or not %zu values\n", path, name, n);
        exit(1);
    }
    float *x = test_alloc(n);
    test_ok(st_read_f32(t, x, n), name);
    st_close(f);
    return x;
}

vk_buffer test_upload(vkvit_context *ctx, const float *data, size_t n)
{
    vk_buffer b;
    test_ok(vk_buffer_create(ctx, (n ? n : 1) * sizeof(float), VK_MEM_DEVICE, &b), "buffer create");
    if (data)
        test_ok(vk_buffer_write(ctx, &b, 0, data, n * sizeof(float)), "buffer upload");
    return b;
}

void test_poison(vkvit_context *ctx, vk_buffer *b)
{
    test_ok(vk_buffer_fill(ctx, b, 0, b->size & ~(VkDeviceSize)3, 0x7fc00000u /* quiet NaN */), "poison");
}

void test_poison_f16(vkvit_context *ctx, vk_buffer *b)
{
    test_ok(vk_buffer_fill(ctx, b, 0, b->size & ~(VkDeviceSize)3, 0x7e007e00u /* two fp16 quiet NaNs */),
            "poison (fp16)");
}

void test_download(vkvit_context *ctx, vk_buffer *b, float *out, size_t n)
{
    test_ok(vk_buffer_read(ctx, b, 0, out, n * sizeof(float)), "buffer download");
}

void test_run(vkvit_context *ctx, test_record_fn record, const void *arg)
{
    vk_cmd *cmd;
    test_ok(vk_cmd_create(ctx, 0, &cmd), "command buffer");
    test_ok(vk_cmd_begin(cmd), "begin");
    test_ok(record(cmd, ctx, arg), "record");
    test_ok(vk_cmd_end(cmd), "end");
    test_ok(vk_cmd_submit_wait(cmd), "submit");
    vk_cmd_destroy(cmd);
}

/* test_record_<op>: op_<op> behind test_run's untyped argument. */
#define RECORDER(op)                                                                    \
    vkvit_status test_record_##op(vk_cmd *cmd, vkvit_context *ctx, const void *arg) \
    {                                                                                   \
        return op_##op(cmd, ctx, arg);                                                  \
    }
RECORDER(matmul)
RECORDER(attention)
RECORDER(layernorm)
RECORDER(gelu)
RECORDER(patchify)
RECORDER(tokens)
RECORDER(widen)
RECORDER(preprocess)
RECORDER(softmax)
RECORDER(conv2d)
RECORDER(group_norm)
RECORDER(max_pool)
RECORDER(token_mean)
#undef RECORDER

vk_buffer test_poisoned(vkvit_context *ctx, op_dtype t, size_t n)
{
    vk_buffer b = test_upload_as(ctx, t, NULL, n);
    test_poison_as(ctx, t, &b);
    return b;
}

vkvit_status test_record_status(vkvit_context *ctx, test_record_fn record, const void *arg)
{
    vk_cmd *cmd;
    test_ok(vk_cmd_create(ctx, 0, &cmd), "command buffer");
    test_ok(vk_cmd_begin(cmd), "begin");
    vkvit_status s = record(cmd, ctx, arg);
    test_ok(vk_cmd_end(cmd), "end");
    vk_cmd_destroy(cmd);
    return s;
}

bool test_refuses(vkvit_context *ctx, const char *op, test_record_fn record, const void *arg, const char *what,
                  const char *says)
{
    vkvit_status s = test_record_status(ctx, record, arg);
    const char *msg = vkvit_last_error();
    return test_expect(s == VKVIT_ERROR_INVALID_ARGUMENT && (!says || strncmp(msg, says, strlen(says)) == 0),
                       "%s refuses %s (%s: %s)", op, what, vkvit_status_string(s), msg);
}

bool test_refuses_fp16(vkvit_context *ctx, const char *op, test_record_fn record, const void *arg)
{
    const bool fp16 = ctx->fp16;
    ctx->fp16 = false;
    vkvit_status s = test_record_status(ctx, record, arg);
    ctx->fp16 = fp16;
    const char *msg = vkvit_last_error();
    return test_expect(s == VKVIT_ERROR_UNSUPPORTED && strstr(msg, "shaderFloat16") &&
                           strstr(msg, "storageBuffer16BitAccess"),
                       "%s refuses fp16 without fp16 support (%s: %s)", op, vkvit_status_string(s), msg);
}

uint16_t test_f32_to_f16(float f) { return st_f32_to_f16(f); }

float test_f16_to_f32(uint16_t h) { return st_f16_to_f32(h); }

void test_round_f16(float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        x[i] = test_f16_to_f32(test_f32_to_f16(x[i]));
}

vk_buffer test_upload_f16(vkvit_context *ctx, const float *data, size_t n)
{
    vk_buffer b;
    size_t bytes = ((n ? n : 1) * 2 + 3) & ~(size_t)3;
    test_ok(vk_buffer_create(ctx, bytes, VK_MEM_DEVICE, &b), "buffer create (fp16)");
    if (data) {
        uint16_t *h = calloc(bytes / 2, sizeof *h);
        if (!h) {
            fprintf(stderr, "FATAL: out of memory\n");
            exit(1);
        }
        for (size_t i = 0; i < n; i++)
            h[i] = test_f32_to_f16(data[i]);
        test_ok(vk_buffer_write(ctx, &b, 0, h, bytes), "buffer upload (fp16)");
        free(h);
    }
    return b;
}

void test_download_f16(vkvit_context *ctx, vk_buffer *b, float *out, size_t n)
{
    uint16_t *h = calloc(n ? n : 1, sizeof *h);
    if (!h) {
        fprintf(stderr, "FATAL: out of memory\n");
        exit(1);
    }
    test_ok(vk_buffer_read(ctx, b, 0, h, n * 2), "buffer download (fp16)");
    for (size_t i = 0; i < n; i++)
        out[i] = test_f16_to_f32(h[i]);
    free(h);
}

vk_buffer test_upload_as(vkvit_context *ctx, op_dtype t, const float *data, size_t n)
{
    return t == OP_F16 ? test_upload_f16(ctx, data, n) : test_upload(ctx, data, n);
}

void test_poison_as(vkvit_context *ctx, op_dtype t, vk_buffer *b)
{
    if (t == OP_F16)
        test_poison_f16(ctx, b);
    else
        test_poison(ctx, b);
}

void test_download_as(vkvit_context *ctx, op_dtype t, vk_buffer *b, float *out, size_t n)
{
    if (t == OP_F16)
        test_download_f16(ctx, b, out, n);
    else
        test_download(ctx, b, out, n);
}

bool test_fp16(vkvit_context *ctx)
{
    if (ctx->fp16)
        return true;
    printf("fp16: not supported by this device (shaderFloat16 %d, storageBuffer16BitAccess %d)\n",
           ctx->info.shader_float16, ctx->info.storage_buffer_16bit);
    test_expect(!ctx->info.shader_float16 || !ctx->info.storage_buffer_16bit || (ctx->paths_off & VK_PATH_FP16),
                "fp16: the device has shaderFloat16 and storageBuffer16BitAccess and no driver quirk turns fp16 "
                "off, so the context must enable them");
    return false;
}

void test_expect_coopmat(const vkvit_context *ctx, bool used)
{
    const char *want = getenv("VKVIT_EXPECT_COOPMAT");
    if (!want || !*want || strcmp(want, "0") == 0)
        return;
    const vkvit_coopmat_extension ext = strcmp(want, "khr") == 0 ? VKVIT_COOPMAT_KHR
                                        : strcmp(want, "nv") == 0 ? VKVIT_COOPMAT_NV
                                                                  : VKVIT_COOPMAT_NONE;   /* any */
    const char *got = ctx->coopmat_ext == VKVIT_COOPMAT_KHR  ? "KHR"
                      : ctx->coopmat_ext == VKVIT_COOPMAT_NV ? "NV"
                                                             : "none";
    test_expect(used && ctx->coopmat_shape_count > 0 && (ext == VKVIT_COOPMAT_NONE || ctx->coopmat_ext == ext),
                "VKVIT_EXPECT_COOPMAT=%s: the cooperative-matrix kernel ran (%s, extension %s%s%s)", want,
                used ? "used" : "NOT used", got, ctx->coopmat_off ? "; off because: " : "",
                ctx->coopmat_off ? ctx->coopmat_off : "");
}

void test_expect_plan_coopmat(vkvit_context *ctx, const vkvit_plan *plan)
{
    vkvit_plan_info pi;
    test_ok(vkvit_plan_get_info(plan, &pi), "plan info");
    printf("     plan: matmul kernel %s\n", pi.matmul_kernel);
    test_expect_coopmat(ctx, strcmp(pi.matmul_kernel, "coopmat") == 0);
}

