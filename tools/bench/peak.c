/* vkvit-bench --peak: what this device can do at best. FMA throughput (fp32 vec4, fp32 scalar, and
 * fp16 vec4 where the device has shaderFloat16) with tools/peak_fma.comp, buffer-copy bandwidth with
 * tools/peak_copy.comp (uvec4 and uint elements; vkCmdCopyBuffer for comparison), and the fixed cost
 * of one dispatch. The fp32 and fp16 vec4 FMA rates and the uvec4 copy bandwidth are the ceilings the
 * --op and --model figures are given a "% of peak" against. */
#include <string.h>

#include "bench.h"

#include "peak_copy.spv.h"
#include "peak_copy_scalar.spv.h"
#include "peak_fma_f16.spv.h"
#include "peak_fma_f32.spv.h"
#include "peak_fma_f32_scalar.spv.h"

enum { PEAK_FMA_NACC = 8, PEAK_FMA_UNROLL = 4, PEAK_FMA_WG = 64, PEAK_COPY_WG = 64 };

static const vk_shader fma_f32 = {"peak_fma_f32", spv_peak_fma_f32, sizeof spv_peak_fma_f32, 1, 12, false};
static const vk_shader fma_f32_scalar = {"peak_fma_f32_scalar", spv_peak_fma_f32_scalar,
                                         sizeof spv_peak_fma_f32_scalar, 1, 12, false};
static const vk_shader fma_f16 = {"peak_fma_f16", spv_peak_fma_f16, sizeof spv_peak_fma_f16, 1, 12, false};
static const vk_shader copy_shader = {"peak_copy", spv_peak_copy, sizeof spv_peak_copy, 2, 4, false};
static const vk_shader copy_shader_scalar = {"peak_copy_scalar", spv_peak_copy_scalar, sizeof spv_peak_copy_scalar,
                                             2, 4, false};

typedef struct fma_push {
    uint32_t iters;
    float a, b;
} fma_push;

/* The next result, named. */
static peak_result *new_result(peaks *p, const char *name)
{
    peak_result *r = &p->r[p->n++];
    snprintf(r->name, sizeof r->name, "%s", name);
    return r;
}

/* Times cmd (then destroys it) into r: the rate of r->work per second at the median, in G/s; for a
 * latency, the median in ms. Returns the figure. */
static double time_result(bench *b, peak_result *r, vk_cmd *cmd)
{
    r->t = time_cmd(b, cmd);
    r->rate = r->latency ? primary(&r->t)->median : r->work / (primary(&r->t)->median * 1e-3) * 1e-9;
    vk_cmd_destroy(cmd);
    return r->rate;
}

static vk_cmd *record_fma(bench *b, vk_pipeline *pipe, vk_buffer *out, uint32_t groups, uint32_t iters)
{
    vk_cmd *cmd = timed_begin(b);
    fma_push push = {iters, 0.999f, 0.001f};
    vk_dispatch d = {.pipe = pipe, .bufs = {vk_whole(out)}, .push = &push, .groups = {groups, 1, 1}};
    check(vk_cmd_dispatch(cmd, &d), "peak FMA dispatch");
    vk_cmd_barrier(cmd);
    timed_end(cmd);
    return cmd;
}

/* FMA throughput of one shader variant: the loop count is calibrated so one run takes ~50 ms. Returns
 * the rate, GFLOP/s. */
static double peak_fma(bench *b, peaks *p, const vk_shader *sh, const char *name, uint32_t width)
{
    vkvit_context *ctx = b->ctx;
    uint32_t wg = PEAK_FMA_WG;
    /* CPU devices: a few workgroups per core is enough, and fewer means less per-group overhead. */
    uint32_t groups = ctx->info.type == VKVIT_DEVICE_CPU ? 256 : 16384;
    if (groups > ctx->max_workgroup_count[0])
        groups = ctx->max_workgroup_count[0];
    const uint32_t nacc = PEAK_FMA_NACC, unroll = PEAK_FMA_UNROLL;
    const uint32_t spec[] = {wg, nacc, unroll};
    vk_pipeline *pipe;
    check(vk_pipeline_get(ctx, sh, spec, 3, &pipe), name);
    vk_buffer out;
    check(vk_buffer_create(ctx, (VkDeviceSize)groups * wg * 4, VK_MEM_DEVICE, &out), name);

    uint32_t iters = 16;
    for (int attempt = 0; attempt < 6; attempt++) {
        vk_cmd *cmd = record_fma(b, pipe, &out, groups, iters);
        double g, w;
        run_once(b, cmd, &g, &w);
        run_once(b, cmd, &g, &w);
        vk_cmd_destroy(cmd);
        double ms = ctx->timestamps ? g : w;
        if (ms >= 25)
            break;
        double scale = ms > 0.01 ? 50.0 / ms : 1000.0;
        double next = (double)iters * scale;
        iters = next > 1u << 24 ? 1u << 24 : (uint32_t)next + 1;
    }
    vk_cmd *cmd = record_fma(b, pipe, &out, groups, iters);
    peak_result *r = new_result(p, name);
    snprintf(r->detail, sizeof r->detail, "%u groups x %u, %u x %u x %u FMAs of width %u", groups, wg,
             iters, unroll, nacc, width);
    r->flops = true;
    r->work = 2.0 * groups * wg * (double)iters * unroll * nacc * width;
    double rate = time_result(b, r, cmd);
    vk_buffer_destroy(ctx, &out);
    return rate;
}

/* Copy bandwidth of one shader variant moving `elem`-byte elements; returns the rate, GB/s. */
static double copy_with_shader(bench *b, peaks *p, const vk_shader *sh, uint32_t elem, const char *name,
                               vk_buffer *src, vk_buffer *dst, VkDeviceSize total, VkDeviceSize chunk)
{
    vkvit_context *ctx = b->ctx;
    /* PER elements per invocation, enough to stay under the workgroup-count limit. */
    uint32_t wg = PEAK_COPY_WG;
    uint64_t max_elems = chunk / elem;
    uint32_t per = 16;
    while ((max_elems + (uint64_t)per * wg - 1) / ((uint64_t)per * wg) > ctx->max_workgroup_count[0])
        per *= 2;
    const uint32_t spec[] = {wg, per};
    vk_pipeline *pipe;
    check(vk_pipeline_get(ctx, sh, spec, 2, &pipe), name);
    vk_cmd *cmd = timed_begin(b);
    uint32_t dispatches = 0;
    for (VkDeviceSize off = 0; off < total; off += chunk) {
        VkDeviceSize size = total - off < chunk ? total - off : chunk;
        uint32_t n = (uint32_t)(size / elem);
        vk_dispatch d = {
            .pipe = pipe,
            .bufs = {vk_span_of(src, off, size), vk_span_of(dst, off, size)},
            .push = &n,
            .groups = {div_up(div_up(n, per), wg), 1, 1},
        };
        check(vk_cmd_dispatch(cmd, &d), name);
        dispatches++;
    }
    vk_cmd_barrier(cmd);
    timed_end(cmd);
    peak_result *r = new_result(p, name);
    snprintf(r->detail, sizeof r->detail, "%u MiB in %u dispatch(es), %u x %u B per invocation", b->opt.copy_mb,
             dispatches, per, elem);
    r->work = 2.0 * (double)total;
    return time_result(b, r, cmd);
}

/* Copy bandwidth: a shader copying uvec4s, and vkCmdCopyBuffer, over opt.copy_mb MiB; bytes counted
 * = read + written. Bindings are split into chunks no larger than maxStorageBufferRange. */
static void peak_copy(bench *b, peaks *p)
{
    vkvit_context *ctx = b->ctx;
    VkDeviceSize total = (VkDeviceSize)b->opt.copy_mb << 20;
    VkDeviceSize chunk = ctx->info.max_storage_buffer_range;
    chunk -= chunk % 256;   /* keeps later chunks' offsets aligned for any minStorageBufferOffsetAlignment */
    if (chunk > total)
        chunk = total;
    if (chunk < 16)
        die("maxStorageBufferRange %u is too small", ctx->info.max_storage_buffer_range);
    vk_buffer src, dst;
    check(vk_buffer_create(ctx, total, VK_MEM_DEVICE, &src), "copy source buffer");
    check(vk_buffer_create(ctx, total, VK_MEM_DEVICE, &dst), "copy destination buffer");
    check(vk_buffer_fill(ctx, &src, 0, total, 0x3f800000u), "filling the copy source");
    check(vk_buffer_fill(ctx, &dst, 0, total, 0), "filling the copy destination");

    /* The uvec4 shader's rate is the reference bandwidth for % of peak. */
    p->copy = copy_with_shader(b, p, &copy_shader, 16, "copy, shader (uvec4)", &src, &dst, total, chunk);
    copy_with_shader(b, p, &copy_shader_scalar, 4, "copy, shader (uint)", &src, &dst, total, chunk);

    /* vkCmdCopyBuffer, for comparison. */
    vk_cmd *cmd = timed_begin(b);
    vk_cmd_copy(cmd, vk_whole(&src), vk_whole(&dst));
    vk_cmd_barrier(cmd);
    timed_end(cmd);
    peak_result *r = new_result(p, "copy, vkCmdCopyBuffer");
    snprintf(r->detail, sizeof r->detail, "%u MiB, one region", b->opt.copy_mb);
    r->work = 2.0 * (double)total;
    time_result(b, r, cmd);
    vk_buffer_destroy(ctx, &src);
    vk_buffer_destroy(ctx, &dst);
}

/* The floor under any op: one dispatch of one workgroup doing nothing, timestamp to timestamp. */
static void peak_dispatch(bench *b, peaks *p)
{
    vkvit_context *ctx = b->ctx;
    const uint32_t spec[] = {PEAK_FMA_WG, 1, 1};
    vk_pipeline *pipe;
    check(vk_pipeline_get(ctx, &fma_f32_scalar, spec, 3, &pipe), "dispatch floor pipeline");
    vk_buffer out;
    check(vk_buffer_create(ctx, PEAK_FMA_WG * 4, VK_MEM_DEVICE, &out), "dispatch floor buffer");
    vk_cmd *cmd = record_fma(b, pipe, &out, 1, 0);
    peak_result *r = new_result(p, "dispatch floor");
    snprintf(r->detail, sizeof r->detail, "1 workgroup of %u doing nothing, + barrier", (unsigned)PEAK_FMA_WG);
    r->latency = true;
    time_result(b, r, cmd);
    vk_buffer_destroy(ctx, &out);
}

void run_peak(bench *b, peaks *p)
{
    memset(p, 0, sizeof *p);
    p->fp32 = peak_fma(b, p, &fma_f32, "fp32 FMA, vec4", 4);
    peak_fma(b, p, &fma_f32_scalar, "fp32 FMA, scalar", 1);
    if (b->ctx->fp16)
        p->fp16 = peak_fma(b, p, &fma_f16, "fp16 FMA, f16vec4", 4);
    peak_copy(b, p);
    peak_dispatch(b, p);
}
