#!/usr/bin/python3
"""End-to-end throughput, files to embeddings: vkvit-embed beside PyTorch, on a folder of realistic JPEGs.
A benchmark, not a test: nothing checks its figures (bench/README.md, "End to end").

  /usr/bin/python3 tools/bench_e2e.py [--images 300] [--threads N] [--batch 8] [--cache DIR] [--json OUT]

1. Photos: --images JPEGs made from ../shared/images (each picture cropped to the aspect and resized with PIL's
   bicubic filter to one of 640x480 ... 4000x3000, every fourth one portrait, light seeded noise so that the
   JPEG has a camera's detail rather than an upscale's smoothness, quality 90) into --cache (default
   ~/.cache/vkvit/bench-e2e/N, outside the repository), made once and reused.
2. vkvit: build/examples/vkvit-embed --timing over the folder with the DeiT-Tiny checkpoint (the model's own
   preprocessing, on the GPU), once with --threads 1 and once with --threads N (default: the CPUs, at most 8):
   images/s end to end (the wall time --timing reports: from the first file to the last row written, the
   model's load and plan excluded, as the PyTorch loop below excludes building the model), and the share of
   the process's CPU time spent decoding (the decode threads' summed CPU time, from --timing, over the user +
   system time of the whole process, load included).
3. PyTorch on the CPU (this machine has no GPU for it: torch's CPU is vkvit-on-lavapipe's peer here):
   torchvision transforms as the checkpoint's preprocessing (resize the shorter side to 256, bicubic; centre
   crop 224; ToTensor; Normalize ImageNet mean / std) in a Dataset read through a DataLoader with the same
   number of workers and batch, and timm's deit_tiny_patch16_224 (PYTHONPATH=/tmp/timm-src) with the same
   weights, forward_features' class token (the embedding vkvit-embed writes) under inference_mode: images/s end
   to end, the loader alone (decode + transforms, no model), and the PIL decode alone (Image.open + convert,
   one thread), whose CPU time over the end-to-end run's is the comparable figure (CPU, not wall, times: on
   a loaded machine the wall time of a decode counts other processes' turns).
4. With --decode-bench build/jpeg_decode (bench/jpeg_decode): stb_image against libjpeg-turbo on the same files.
Each run is a subprocess; CPU times come from getrusage(RUSAGE_CHILDREN), which includes the DataLoader's
worker processes.
"""
import argparse, json, os, re, resource, struct, subprocess, sys, tempfile, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
SIZES = [(640, 480), (800, 600), (1024, 768), (1280, 960), (1600, 1200), (2048, 1536), (2592, 1944), (3264, 2448),
         (4000, 3000)]


def make_photos(n, cache):
    """n JPEGs in cache (kept between runs); returns their paths, sorted."""
    import numpy as np
    from PIL import Image
    cache.mkdir(parents=True, exist_ok=True)
    sources = sorted(p for p in (SHARED / "images").iterdir() if p.suffix.lower() in (".jpg", ".png"))
    paths = []
    for i in range(n):
        w, h = SIZES[i % len(SIZES)]
        if i % 4 == 3:
            w, h = h, w
        path = cache / f"photo-{i:04d}-{w}x{h}.jpg"
        paths.append(path)
        if path.exists():
            continue
        noise = np.random.default_rng(i).normal(0, 3, (h, w, 3)).astype(np.float32)   # the same for any n
        im = Image.open(sources[i % len(sources)]).convert("RGB")
        sw, sh = im.size   # crop to the aspect, then resize
        if sw * h > sh * w:
            cw = sh * w // h
            im = im.crop(((sw - cw) // 2, 0, (sw - cw) // 2 + cw, sh))
        else:
            ch = sw * h // w
            im = im.crop((0, (sh - ch) // 2, sw, (sh - ch) // 2 + ch))
        a = np.asarray(im.resize((w, h), Image.BICUBIC), dtype=np.float32) + noise
        Image.fromarray(np.clip(a + 0.5, 0, 255).astype(np.uint8)).save(path, quality=90)
    return paths


def child_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def timed(cmd, env=None):
    """Runs cmd; (wall s, CPU s of it and its children, stdout, stderr)."""
    c0, t0 = child_cpu(), time.monotonic()
    p = subprocess.run(cmd, capture_output=True, text=True, env=env)
    wall, cpu = time.monotonic() - t0, child_cpu() - c0
    if p.returncode != 0:
        sys.exit(f"bench_e2e: {' '.join(map(str, cmd))} failed ({p.returncode}):\n{p.stderr[-2000:]}")
    return wall, cpu, p.stdout, p.stderr


def run_vkvit(a, folder, threads, out):
    wall, cpu, _, err = timed([a.embed, "--model", a.model, "--batch", str(a.batch), "--threads", str(threads),
                               "--timing", "-o", str(out), str(folder)])
    m = re.search(r"timing: (\d+) images, wall ([\d.]+) s .*; decode ([\d.]+) s on \d+ threads; waiting for decoded "
                  r"images ([\d.]+) s, for the GPU ([\d.]+) s", err)
    if not m:
        sys.exit(f"bench_e2e: no --timing line from vkvit-embed:\n{err}")
    n, inner, decode, decode_wait, gpu_wait = int(m[1]), *map(float, m.group(2, 3, 4, 5))
    return {"threads": threads, "images": n, "wall_s": wall, "images_per_s": n / wall, "cpu_s": cpu,
            "run_wall_s": inner, "run_images_per_s": n / inner, "decode_s": decode, "decode_cpu_share": decode / cpu,
            "decode_wait_s": decode_wait, "gpu_wait_s": gpu_wait}


# ---- PyTorch (run in a subprocess: `bench_e2e.py --torch MODE ...`) ---------------------------------------------

def read_safetensors(path):
    import numpy as np
    import torch
    b = Path(path).read_bytes()
    n = struct.unpack("<Q", b[:8])[0]
    header = json.loads(b[8:8 + n])
    header.pop("__metadata__", None)
    return {k: torch.from_numpy(np.frombuffer(b[8 + n + v["data_offsets"][0]:8 + n + v["data_offsets"][1]],
                                              dtype=np.float32).reshape(v["shape"]).copy())
            for k, v in header.items()}


def torch_main(mode, files, a):
    import torch
    from PIL import Image
    from torchvision import transforms
    paths = Path(files).read_text().splitlines()
    if mode == "decode":   # PIL's decode alone, one thread; its CPU time too (the wall time counts others' turns)
        t0, c0 = time.monotonic(), time.process_time()
        for p in paths:
            Image.open(p).convert("RGB").load()
        print(json.dumps({"images": len(paths), "wall_s": time.monotonic() - t0,
                          "decode_cpu_s": time.process_time() - c0}))
        return
    tf = transforms.Compose([transforms.Resize(256, interpolation=transforms.InterpolationMode.BICUBIC),
                             transforms.CenterCrop(224), transforms.ToTensor(),
                             transforms.Normalize((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))])

    class Photos(torch.utils.data.Dataset):
        def __len__(self):
            return len(paths)

        def __getitem__(self, i):
            return tf(Image.open(paths[i]).convert("RGB"))

    loader = torch.utils.data.DataLoader(Photos(), batch_size=a.batch, num_workers=a.threads)
    model = None
    if mode == "e2e":
        import timm
        model = timm.create_model("deit_tiny_patch16_224", pretrained=False)
        model.load_state_dict(read_safetensors(Path(a.model) / "timm" / "model.safetensors"))
        model.eval()
    t0, n = time.monotonic(), 0
    with torch.inference_mode():
        for x in loader:
            if model is not None:
                model.forward_features(x)[:, 0]
            n += x.shape[0]
    print(json.dumps({"images": n, "wall_s": time.monotonic() - t0, "torch_threads": torch.get_num_threads()}))


def run_torch(a, files, mode):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [a.timm, os.environ.get("PYTHONPATH")])))
    wall, cpu, out, _ = timed([sys.executable, __file__, "--torch", mode, "--files", str(files), "--threads",
                               str(a.threads), "--batch", str(a.batch), "--model", a.model], env)
    r = json.loads(out.strip().splitlines()[-1])
    r.update(process_wall_s=wall, cpu_s=cpu, images_per_s=r["images"] / r["wall_s"])
    return r


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--images", type=int, default=300)
    ap.add_argument("--threads", type=int, default=min(os.cpu_count() or 1, 8))
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--cache", type=Path)
    ap.add_argument("--model", default=str(SHARED / "models" / "deit-tiny-imagenet"))
    ap.add_argument("--embed", default=str(ROOT / "build" / "examples" / "vkvit-embed"))
    ap.add_argument("--timm", default="/tmp/timm-src", help="timm's source (PYTHONPATH for the PyTorch peer)")
    ap.add_argument("--decode-bench", help="bench/jpeg_decode, built: stb_image against libjpeg-turbo")
    ap.add_argument("--json")
    ap.add_argument("--torch", help=argparse.SUPPRESS)
    ap.add_argument("--files", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.torch:
        return torch_main(a.torch, a.files, a)
    cache = a.cache or Path.home() / ".cache" / "vkvit" / "bench-e2e" / str(a.images)
    t0 = time.monotonic()
    paths = make_photos(a.images, cache)
    megapixels = sum(int(m[1]) * int(m[2]) for m in (re.search(r"(\d+)x(\d+)", p.name) for p in paths)) / 1e6
    print(f"{len(paths)} JPEGs, {megapixels:.0f} megapixels, in {cache} ({time.monotonic() - t0:.0f} s to make)")
    result = {"machine": {"cpus": os.cpu_count(), "uname": " ".join(os.uname())}, "images": len(paths),
              "megapixels": megapixels, "batch": a.batch, "threads": a.threads, "vkvit": [], "torch": {}}
    with tempfile.TemporaryDirectory() as tmp:
        files = Path(tmp) / "files.txt"
        files.write_text("".join(f"{p}\n" for p in paths))
        for threads in sorted({1, a.threads}):
            r = run_vkvit(a, cache, threads, Path(tmp) / "e.npy")
            result["vkvit"].append(r)
            print(f"vkvit-embed --threads {threads}: {r['run_images_per_s']:.1f} images/s end to end "
                  f"({r['run_wall_s']:.1f} s; {r['wall_s']:.1f} s with the model's load), decode {r['decode_s']:.1f} s "
                  f"= {100 * r['decode_cpu_share']:.0f}% of {r['cpu_s']:.1f} CPU s; waited {r['decode_wait_s']:.1f} s "
                  f"for decoded images, {r['gpu_wait_s']:.1f} s for the GPU")
        for mode in ("e2e", "loader", "decode"):
            r = result["torch"][mode] = run_torch(a, files, mode)
            print(f"PyTorch {mode}: {r['images_per_s']:.1f} images/s ({r['wall_s']:.1f} s, {r['cpu_s']:.1f} CPU s)")
        t = result["torch"]
        t["decode_cpu_share"] = t["decode"]["decode_cpu_s"] / t["e2e"]["cpu_s"]
        print(f"PyTorch: PIL decode {t['decode']['decode_cpu_s']:.1f} CPU s = {100 * t['decode_cpu_share']:.0f}% of "
              f"the end-to-end run's {t['e2e']['cpu_s']:.1f} CPU s")
    if a.decode_bench:
        out = subprocess.run([a.decode_bench, "--rounds", "1"] + [str(p) for p in paths], capture_output=True,
                             text=True, check=True).stdout
        result["jpeg_decode"] = out.strip().splitlines()[-1]
        print(result["jpeg_decode"])
    if a.json:
        Path(a.json).write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
