#!/usr/bin/python3
"""PyTorch peer for vkvit-bench --model: the same ViT presets (torchvision's VisionTransformer, random
weights), eager fp32 on the CPU, timed like vkvit-bench (warm-up, then >= N runs and >= S seconds,
median / p10 / p90). Prints the BLAS in use and a GEMM's GFLOP/s next to the figures, because Debian's
torch uses whatever libblas.so.3 is installed (install libopenblas0-openmp; the reference BLAS is ~40x
slower).

  /usr/bin/python3 tools/bench_torch.py --model vit-ti16,vit-s16,vit-b16 --batch 1 --threads 2
"""
import argparse, json, statistics, time

import torch
from torchvision.models.vision_transformer import VisionTransformer

PRESETS = {  # name: (hidden, layers, heads, patch, image) -- as tools/vkvit-bench.c
    'vit-ti16': (192, 12, 3, 16, 224), 'deit-ti16': (192, 12, 3, 16, 224), 'vit-s16': (384, 12, 6, 16, 224),
    'vit-b16': (768, 12, 12, 16, 224), 'vit-l16': (1024, 24, 16, 16, 224), 'vit-h14': (1280, 32, 16, 14, 224),
    'vit-b32-384': (768, 12, 12, 32, 384),
}


def blas_info():
    """The BLAS library actually mapped into this process (after a GEMM has run)."""
    torch.randn(64, 64) @ torch.randn(64, 64)
    libs = set()
    for line in open('/proc/self/maps'):
        path = line.split()[-1]
        if 'blas' in path or 'mkl' in path or 'lapack' in path:
            libs.add(path)
    import os
    return ', '.join(sorted(os.path.realpath(p) for p in libs)) or 'none found'


def gemm_gflops():
    a, b = torch.randn(768, 768), torch.randn(768, 3072)
    for _ in range(3):
        a @ b
    t = time.perf_counter(); n = 0
    while time.perf_counter() - t < 1.0:
        a @ b; n += 1
    return 2 * 768 * 768 * 3072 * n / (time.perf_counter() - t) / 1e9


def time_model(model, x, warmup, iters, min_time):
    with torch.inference_mode():
        for _ in range(warmup):
            model(x)
        runs, total = [], 0.0
        while len(runs) < iters or total < min_time:
            t = time.perf_counter(); model(x); dt = time.perf_counter() - t
            runs.append(dt * 1e3); total += dt
    runs.sort()
    q = statistics.quantiles(runs, n=10) if len(runs) > 1 else [runs[0]] * 9
    return statistics.median(runs), q[0], q[-1], len(runs)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--model', default='vit-b16')
    ap.add_argument('--batch', default='1')
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--warmup', type=int, default=3)
    ap.add_argument('--iters', type=int, default=20)
    ap.add_argument('--min-time', type=float, default=5.0)
    ap.add_argument('--json')
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    print(f'torch {torch.__version__}, {a.threads} threads, BLAS {blas_info()}, '
          f'768x768x3072 GEMM {gemm_gflops():.1f} GFLOP/s')
    print(f"{'model':14s} {'batch':>5s} {'median ms':>10s} {'p10 ms':>10s} {'p90 ms':>10s} {'images/s':>10s}")
    rows = []
    for name in a.model.split(','):
        d, layers, heads, patch, image = PRESETS[name]
        model = VisionTransformer(image_size=image, patch_size=patch, num_layers=layers, num_heads=heads,
                                  hidden_dim=d, mlp_dim=4 * d, num_classes=1000).eval()
        for b in (int(x) for x in a.batch.split(',')):
            x = torch.randn(b, 3, image, image)
            med, p10, p90, n = time_model(model, x, a.warmup, a.iters, a.min_time)
            print(f'{name:14s} {b:5d} {med:10.2f} {p10:10.2f} {p90:10.2f} {1e3 * b / med:10.1f}', flush=True)
            rows.append(dict(model=name, batch=b, median_ms=med, p10_ms=p10, p90_ms=p90, runs=n))
    if a.json:
        json.dump(dict(torch=torch.__version__, threads=a.threads, rows=rows), open(a.json, 'w'), indent=1)


if __name__ == '__main__':
    main()
