#!/usr/bin/python3
"""PyTorch peer for vkvit-bench --model: the same ViT presets with random weights, timed like vkvit-bench
(warm-up, then >= --iters runs and >= --min-time seconds, or exactly --runs; median / p10 / p90), for every
model x precision x mode x batch. One row each; what cannot run is a row that says "skipped: <reason>".

  implementation  torchvision's VisionTransformer (default; Debian's python3-torchvision), or timm's /
                  Hugging Face transformers' ViT where installed (--impl timm|hf)
  --device cpu    eager fp32, --threads threads (default 2). fp16 on the CPU is skipped: it is emulated
                  and no peer anyone would pick. Prints the BLAS in use and a GEMM's GFLOP/s next to the
                  figures, because Debian's torch uses whatever libblas.so.3 is installed (install
                  libopenblas0-openmp; the reference BLAS is ~40x slower).
  --device cuda   model.half() for fp16 (as vkvit's fp16 path: fp16 storage), GPU time from
                  torch.cuda.Event pairs around each forward (and wall time around forward + synchronize),
                  cudnn.benchmark on, TF32 as PyTorch's defaults leave it (recorded in the JSON).
  --mode          eager and/or compile: torch.compile (PyTorch >= 2.0) where it works; a failure to
                  compile is caught and reported as the row's reason.

TFLOP/s counts what vkvit-bench counts: 2*M*N*K per GEMM (patch embedding and head included) and
4*B*H*T^2*dh per attention.

  /usr/bin/python3 tools/bench_torch.py --model vit-ti16,vit-b16 --batch 1,8 --threads 2 --json out.json
  python3 tools/bench_torch.py --device cuda --model vit-b16 --batch 1,8,32,64,256 --precision fp32,fp16 \\
      --mode eager,compile --json out.json
"""
import argparse, datetime, json, os, platform, shlex, statistics, sys, time

import torch

PRESETS = {  # name: (hidden, layers, heads, patch, image, classes) -- as tools/bench/model.c
    'vit-ti16': (192, 12, 3, 16, 224, 1000), 'deit-ti16': (192, 12, 3, 16, 224, 1000),
    'vit-s16': (384, 12, 6, 16, 224, 1000), 'vit-b16': (768, 12, 12, 16, 224, 1000),
    'vit-l16': (1024, 24, 16, 16, 224, 1000), 'vit-h14': (1280, 32, 16, 14, 224, 1000),
    'vit-b32-384': (768, 12, 12, 32, 384, 1000), 'test-tiny': (64, 2, 2, 16, 64, 10),
}
DTYPES = {'fp32': torch.float32, 'fp16': torch.float16}


def model_flops(d, layers, patch, image, classes, batch):
    """(matmul, attention) floating-point operations of one forward of `batch` images."""
    n = (image // patch) ** 2
    t, cpp, mlp = n + 1, 3 * patch * patch, 4 * d
    per_layer = 2 * t * d * 3 * d + 2 * t * d * d + 4 * t * d * mlp
    matmul = batch * (2 * n * cpp * d + layers * per_layer + 2 * d * classes)
    return matmul, batch * layers * 4 * t * t * d


def build(impl, name):
    d, layers, heads, patch, image, classes = PRESETS[name]
    if impl == 'torchvision':
        from torchvision.models.vision_transformer import VisionTransformer
        return VisionTransformer(image_size=image, patch_size=patch, num_layers=layers, num_heads=heads,
                                 hidden_dim=d, mlp_dim=4 * d, num_classes=classes)
    if impl == 'timm':
        from timm.models.vision_transformer import VisionTransformer
        return VisionTransformer(img_size=image, patch_size=patch, embed_dim=d, depth=layers, num_heads=heads,
                                 mlp_ratio=4, num_classes=classes)
    from transformers import ViTConfig, ViTForImageClassification
    cfg = ViTConfig(hidden_size=d, num_hidden_layers=layers, num_attention_heads=heads, intermediate_size=4 * d,
                    image_size=image, patch_size=patch, num_labels=classes)
    return ViTForImageClassification(cfg)


def blas_info():
    """The BLAS library actually mapped into this process (after a GEMM has run)."""
    torch.randn(64, 64) @ torch.randn(64, 64)
    libs = set()
    for line in open('/proc/self/maps'):
        path = line.split()[-1]
        if 'blas' in path or 'mkl' in path or 'lapack' in path:
            libs.add(os.path.realpath(path))
    return ', '.join(sorted(libs)) or 'none found'


def gemm_gflops(device, dtype):
    """A 768x768x3072 GEMM (ViT-B's fc1 at 768 tokens) at this device and dtype, GFLOP/s."""
    a = torch.randn(768, 768, device=device, dtype=dtype)
    b = torch.randn(768, 3072, device=device, dtype=dtype)
    sync = torch.cuda.synchronize if device == 'cuda' else (lambda: None)
    per = 50 if device == 'cuda' else 1  # GEMMs queued between synchronisations
    for _ in range(3):
        a @ b
    sync()
    t, n = time.perf_counter(), 0
    while time.perf_counter() - t < 0.5 or n < 3:
        for _ in range(per):
            a @ b
        sync()
        n += per
    return 2 * 768 * 768 * 3072 * n / (time.perf_counter() - t) / 1e9


def summary(v):
    v = sorted(v)
    q = statistics.quantiles(v, n=10, method='inclusive') if len(v) > 1 else [v[0]] * 9
    return dict(median=statistics.median(v), p10=q[0], p90=q[-1], min=v[0], mean=statistics.fmean(v))


def time_model(fn, x, device, a):
    """Warm-up, then timed runs: (gpu_ms or None, wall_ms) lists."""
    cuda = device == 'cuda'
    with torch.inference_mode():
        for _ in range(a.warmup):
            fn(x)
        if cuda:
            torch.cuda.synchronize()
        gpu, wall, total = [], [], 0.0
        while len(wall) < a.max_runs and (len(wall) < a.iters or total < a.min_time):
            if cuda:
                start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                t = time.perf_counter()
                start.record()
                fn(x)
                end.record()
                end.synchronize()
                dt = time.perf_counter() - t
                gpu.append(start.elapsed_time(end))
            else:
                t = time.perf_counter()
                fn(x)
                dt = time.perf_counter() - t
            wall.append(dt * 1e3)
            total += dt
    return (gpu if cuda else None), wall


def run_row(a, impl, name, model, prec, mode, batch, fn_cache):
    d, layers, heads, patch, image, classes = PRESETS[name]
    row = dict(model=name, batch=batch, precision=prec, mode=mode, impl=impl)
    if a.device == 'cpu' and prec == 'fp16':
        row['skipped'] = 'fp16 on the CPU: emulated and not a peer anyone would pick (vkvit on lavapipe: fp32)'
        return row
    if mode == 'compile' and not hasattr(torch, 'compile'):
        row['skipped'] = f'torch.compile is not in PyTorch {torch.__version__} (2.0 or later)'
        return row
    if (mode, prec) in fn_cache and isinstance(fn_cache[(mode, prec)], str):
        row['skipped'] = fn_cache[(mode, prec)]
        return row
    try:
        fn = fn_cache.get((mode, prec))
        if fn is None:
            fn = torch.compile(model) if mode == 'compile' else model
            fn_cache[(mode, prec)] = fn
        x = torch.randn(batch, 3, image, image, device=a.device, dtype=DTYPES[prec])
        if a.device == 'cuda':
            torch.cuda.reset_peak_memory_stats()
        gpu, wall = time_model(fn, x, a.device, a)
    except Exception as e:  # noqa: BLE001 -- any failure (compile, OOM) is this row's reason
        reason = f'{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ""}'[:300]
        if mode == 'compile' and type(e).__name__ != 'OutOfMemoryError':  # no retry at the next batch
            fn_cache[(mode, prec)] = f'torch.compile failed: {reason}'
        row['skipped'] = reason
        if a.device == 'cuda':
            torch.cuda.empty_cache()
        return row
    mm, att = model_flops(d, layers, patch, image, classes, batch)
    row['runs'] = len(wall)
    row['gpu_ms'] = summary(gpu) if gpu else None
    row['wall_ms'] = summary(wall)
    ms = (row['gpu_ms'] or row['wall_ms'])['median']
    row.update(flops=mm + att, matmul_flops=mm, attention_flops=att, images_per_s=1e3 * batch / ms,
               tflops=(mm + att) / ms * 1e-9)
    if a.device == 'cuda':
        row['max_memory_allocated'] = torch.cuda.max_memory_allocated()
    return row


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--model', default='vit-b16', help='presets, comma-separated: ' + ', '.join(PRESETS))
    ap.add_argument('--batch', default='1', help='e.g. 1,8,32,64,256')
    ap.add_argument('--precision', default='fp32', help='fp32 and/or fp16, comma-separated')
    ap.add_argument('--device', default='cpu', choices=['cpu', 'cuda'])
    ap.add_argument('--mode', default='eager', help='eager and/or compile, comma-separated')
    ap.add_argument('--impl', default='torchvision', choices=['torchvision', 'timm', 'hf'])
    ap.add_argument('--threads', type=int, default=2, help='CPU threads (torch.set_num_threads)')
    ap.add_argument('--warmup', type=int, default=3)
    ap.add_argument('--iters', type=int, default=20, help='at least this many timed runs ...')
    ap.add_argument('--min-time', type=float, default=5.0, help='... and at least this many seconds of them')
    ap.add_argument('--runs', type=int, help='exactly this many timed runs (= --iters N --min-time 0)')
    ap.add_argument('--json', help='also write every figure to this file')
    a = ap.parse_args()
    a.max_runs = 1 << 30
    if a.runs:
        a.iters, a.min_time, a.max_runs = a.runs, 0.0, a.runs
    models, precisions = a.model.split(','), a.precision.split(',')
    modes, batches = a.mode.split(','), [int(b) for b in a.batch.split(',')]
    for bad, known, what in ((models, PRESETS, 'model'), (precisions, DTYPES, 'precision'),
                             (modes, ('eager', 'compile'), 'mode')):
        for x in bad:
            if x not in known:
                ap.error(f'unknown {what} {x!r} (known: {", ".join(known)})')
    if a.device == 'cuda' and not torch.cuda.is_available():
        sys.exit('bench_torch.py: --device cuda, but this PyTorch sees no CUDA device')

    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    load_start = os.getloadavg()
    info = dict(tool='bench_torch.py', torch=torch.__version__, command=shlex.join([sys.executable] + sys.argv),
                date=datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ'),
                host=dict(cpu=platform.processor() or platform.machine(), cpus=os.cpu_count(),
                          load_average=list(load_start)),
                device=a.device, impl=a.impl, threads=a.threads,
                settings=dict(warmup=a.warmup, iters=a.iters, min_time_s=a.min_time, runs=a.runs))
    for line in open('/proc/cpuinfo'):
        if line.startswith('model name'):
            info['host']['cpu'] = line.split(':', 1)[1].strip()
            break
    if a.device == 'cpu':
        info['blas'] = blas_info()
        info['gemm_gflops'] = {'fp32': gemm_gflops('cpu', torch.float32)}
        print(f"torch {torch.__version__}, CPU, {a.threads} threads, BLAS {info['blas']}, "
              f"768x768x3072 GEMM {info['gemm_gflops']['fp32']:.1f} GFLOP/s")
    else:
        torch.backends.cudnn.benchmark = True
        p = torch.cuda.get_device_properties(0)
        info['gpu'] = dict(name=p.name, memory=p.total_memory, capability=f'{p.major}.{p.minor}',
                           cuda=torch.version.cuda, cudnn=torch.backends.cudnn.version(),
                           tf32_matmul=torch.backends.cuda.matmul.allow_tf32,
                           tf32_cudnn=torch.backends.cudnn.allow_tf32)
        info['gemm_gflops'] = {pr: gemm_gflops('cuda', DTYPES[pr]) for pr in precisions}
        print(f"torch {torch.__version__}, {p.name} (CUDA {torch.version.cuda}), 768x768x3072 GEMM " +
              ', '.join(f'{pr} {g / 1e3:.1f} TFLOP/s' for pr, g in info['gemm_gflops'].items()))
    print(f"implementation: {a.impl}; load average {load_start[0]:.2f} {load_start[1]:.2f} {load_start[2]:.2f}")
    print(f"{'model':12s} {'batch':>5s} {'prec':5s} {'mode':8s} {'runs':>4s} {'median ms':>10s} {'p10':>10s} "
          f"{'p90':>10s} {'wall ms':>10s} {'images/s':>9s} {'TFLOP/s':>8s}")
    rows = []
    for name in models:
        try:
            base = build(a.impl, name).eval()
        except ImportError as e:
            sys.exit(f'bench_torch.py: --impl {a.impl}: {e}')
        for prec in precisions:
            model = None
            if not (a.device == 'cpu' and prec == 'fp16'):
                model = base.to(device=a.device, dtype=DTYPES[prec])
            fn_cache = {}
            for mode in modes:
                for b in batches:
                    r = run_row(a, a.impl, name, model, prec, mode, b, fn_cache)
                    r['load_average'] = list(os.getloadavg())
                    rows.append(r)
                    if 'skipped' in r:
                        print(f"{name:12s} {b:5d} {prec:5s} {mode:8s} skipped: {r['skipped']}", flush=True)
                        continue
                    t = r['gpu_ms'] or r['wall_ms']
                    print(f"{name:12s} {b:5d} {prec:5s} {mode:8s} {r['runs']:4d} {t['median']:10.2f} {t['p10']:10.2f} "
                          f"{t['p90']:10.2f} {r['wall_ms']['median']:10.2f} {r['images_per_s']:9.1f} "
                          f"{r['tflops']:8.3g}", flush=True)
            del model
        del base
        if a.device == 'cuda':
            torch.cuda.empty_cache()
    info['host']['load_average_end'] = list(os.getloadavg())
    info['timing'] = ('GPU: torch.cuda.Event around each forward; wall: forward + synchronize' if a.device == 'cuda'
                      else 'wall time around each forward (inference_mode)')
    info['rows'] = rows
    if a.json:
        with open(a.json, 'w') as f:
            json.dump(info, f, indent=1)
        print(f'wrote {a.json}')


if __name__ == '__main__':
    main()
