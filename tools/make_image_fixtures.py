#!/usr/bin/python3
"""Write the image-preprocessing fixtures under tests/data/ (committed; CI never runs PIL or PyTorch).

Run with Debian's Python:   /usr/bin/python3 tools/make_image_fixtures.py [--out DIR] [--check]

  preprocess-pil.safetensors   small random images of awkward sizes and what PIL (Pillow's Image.resize +
                               crop, Hugging Face's or torchvision's crop convention) makes of them, as
                               8-bit pixels: tests/test_preprocess.c requires vkvit's GPU op and its C
                               reference to reproduce them exactly
  photos-expected.safetensors  every photo in ../shared/images preprocessed as
                               ../shared/models/deit-tiny-imagenet/preprocessor_config.json says, with PIL,
                               and PyTorch's DeiT-Tiny logits and top-5 for it (torchvision's
                               VisionTransformer with the checkpoint's weights, float64, mapped by
                               tools/make_fixtures.py): tests/test_photos.c compares vkvit_run_images
  photos-README.md             the tables, and how far a float (not 8-bit) resampling would land from PIL

Deterministic: numpy PCG64 with fixed seeds, torch on one thread; --check regenerates into a temp folder and
compares byte for byte.
"""
import json
import math
import sys
from pathlib import Path

import numpy as np
import torch
import torchvision
import torchvision.transforms.functional as TF
from PIL import Image
from torchvision.transforms import InterpolationMode

sys.path.insert(0, str(Path(__file__).resolve().parent))
import make_fixtures as mf  # noqa: E402  (its safetensors writer/reader and torchvision mapping)

torch.set_num_threads(1)
mf._ITEMSIZE["U8"] = 1

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
MODEL = SHARED / "models" / "deit-tiny-imagenet"
PHOTOS = SHARED / "images"
REGEN = "/usr/bin/python3 tools/make_image_fixtures.py"

# enum values of src/preprocess.h
RESIZE = {None: 0, "exact": 1, "shortest": 2}
FILTER = {"nearest": 0, "bilinear": 1, "bicubic": 2}
PIL_FILTER = {"nearest": Image.NEAREST, "bilinear": Image.BILINEAR, "bicubic": Image.BICUBIC}
TV_FILTER = {"nearest": InterpolationMode.NEAREST, "bilinear": InterpolationMode.BILINEAR,
             "bicubic": InterpolationMode.BICUBIC}
ROUND = {"hf": 0, "tv": 1}


def u8(a):
    a = np.ascontiguousarray(a, dtype=np.uint8)
    return mf.Stored("U8", a.shape, a.tobytes())


def f32(a):
    return mf.store(np.asarray(a, dtype=np.float64), "F32")


# ---- the pipeline, as Hugging Face image processors and torchvision/timm run it on a PIL image ---------------
def hf_center_crop(a, ch, cw):
    """transformers.image_transforms.center_crop on an [H, W, C] array, padding with zeros when too small."""
    h, w = a.shape[:2]
    top, left = (h - ch) // 2, (w - cw) // 2
    if top >= 0 and left >= 0 and top + ch <= h and left + cw <= w:
        return a[top:top + ch, left:left + cw]
    nh, nw = max(ch, h), max(cw, w)
    padded = np.zeros((nh, nw) + a.shape[2:], a.dtype)
    tp, lp = math.ceil((nh - h) / 2), math.ceil((nw - w) / 2)
    padded[tp:tp + h, lp:lp + w] = a
    top, left = top + tp, left + lp
    return padded[max(0, top):min(nh, top + ch), max(0, left):min(nw, left + cw)]


def pipeline(im, spec):
    """PIL image (any mode) -> uint8 [C, S, S] after convert, resize and crop, as the spec's library does."""
    im = im.convert("RGB")
    if spec["C"] == 1:
        im = im.convert("L")
    f = spec["filter"]
    rz = spec["resize"]
    if rz is not None and rz[0] == "exact":
        im = im.resize((rz[1], rz[2]), PIL_FILTER[f])
    elif rz is not None and spec["round"] == "tv":
        im = TF.resize(im, rz[1], TV_FILTER[f])  # torchvision's own shortest-edge rule
    elif rz is not None:  # Hugging Face get_resize_output_image_size(default_to_square=False)
        w, h = im.size
        short, long = (w, h) if w <= h else (h, w)
        ns, nl = rz[1], int(rz[1] * long / short)
        im = im.resize((ns, nl) if w <= h else (nl, ns), PIL_FILTER[f])
    if spec["crop"]:
        cw, ch = spec["crop"]
        if spec["round"] == "tv":
            im = TF.center_crop(im, [ch, cw])
            a = np.asarray(im)
        else:
            a = hf_center_crop(np.asarray(im), ch, cw)
    else:
        a = np.asarray(im)
    a = a.reshape(a.shape[0], a.shape[1], -1)
    assert a.shape[:2] == (spec["S"], spec["S"]), (a.shape, spec)
    return np.ascontiguousarray(a.transpose(2, 0, 1))


def spec_vector(spec):
    rz = spec["resize"]
    crop = spec["crop"] or (0, 0)
    return [RESIZE[rz[0] if rz else None], rz[1] if rz else 0, (rz[2] if rz[0] == "exact" else rz[1]) if rz else 0,
            FILTER[spec["filter"]], 1 if spec["crop"] else 0, crop[0], crop[1], ROUND[spec["round"]], spec["C"],
            spec["S"]]


def S(resize, filt, crop, rnd, C, size):
    return dict(resize=resize, filter=filt, crop=crop, round=rnd, C=C, S=size)


# (width, height, content, alpha, spec): awkward sizes, up- and downscaling, every filter, both crop
# conventions (including odd margins and crops larger than the resized image), grey and RGBA sources.
CASES = [
    (37, 23, "noise", False, S(("exact", 16, 16), "bicubic", None, "hf", 3, 16)),
    (7, 13, "smooth", False, S(("exact", 24, 24), "bilinear", None, "hf", 3, 24)),
    (1, 1, "noise", False, S(("exact", 8, 8), "bicubic", None, "hf", 3, 8)),
    (1, 40, "noise", False, S(("shortest", 12), "bicubic", (12, 12), "hf", 3, 12)),
    (50, 33, "edges", False, S(("shortest", 20), "bilinear", (16, 16), "tv", 3, 16)),
    (61, 40, "edges", True, S(("shortest", 23), "bicubic", (16, 16), "hf", 3, 16)),
    (45, 31, "grey", False, S(("exact", 16, 16), "bilinear", None, "hf", 1, 16)),
    (64, 48, "edges", True, S(("shortest", 20), "bicubic", (16, 16), "hf", 1, 16)),
    (30, 20, "noise", False, S(("exact", 17, 17), "nearest", None, "hf", 3, 17)),
    (13, 50, "noise", False, S(("shortest", 9), "nearest", (8, 8), "tv", 3, 8)),
    (20, 10, "edges", False, S(("shortest", 10), "bicubic", (16, 16), "hf", 3, 16)),
    (21, 11, "edges", False, S(("shortest", 11), "bilinear", (16, 16), "tv", 3, 16)),
    (100, 3, "noise", False, S(("exact", 16, 16), "bicubic", None, "hf", 3, 16)),
    (16, 16, "noise", False, S(("exact", 16, 16), "bicubic", None, "hf", 3, 16)),
    (40, 30, "edges", False, S(None, "bilinear", (24, 24), "hf", 3, 24)),
    (160, 90, "edges", False, S(("shortest", 18), "bicubic", (16, 16), "hf", 3, 16)),
    (3, 500, "edges", False, S(("shortest", 16), "bicubic", (16, 16), "tv", 3, 16)),
    (101, 99, "smooth", False, S(("shortest", 37), "bilinear", (32, 32), "tv", 1, 32)),
]


def make_image(rng, w, h, content, alpha):
    if content == "noise" or content == "grey":
        a = rng.integers(0, 256, (h, w, 4), dtype=np.uint8)
        if content == "grey":
            a[..., 1] = a[..., 2] = a[..., 0]
    else:
        y, x = np.mgrid[0:h, 0:w].astype(np.float64)
        f = rng.uniform(0.05, 0.4, 3)
        a = np.zeros((h, w, 4), np.uint8)
        for c in range(3):
            a[..., c] = np.clip(127.5 + 127.5 * np.sin(f[c] * x * (c + 1) + 0.7 * f[c] * y), 0, 255).astype(np.uint8)
        if content == "edges":  # hard 0/255 steps: bicubic overshoots and PIL clips each pass
            blocks = ((x // 5 + y // 3) % 2).astype(bool)
            a[blocks, 0], a[blocks, 1], a[blocks, 2] = 0, 255, 0
    a[..., 3] = rng.integers(0, 256, (h, w), dtype=np.uint8) if alpha else 255
    return a


def make_pil_cases(out):
    rng = np.random.Generator(np.random.PCG64(2024))
    tensors, rows = {}, []
    for i, (w, h, content, alpha, spec) in enumerate(CASES):
        a = make_image(rng, w, h, content, alpha)
        got = pipeline(Image.fromarray(a, "RGBA"), spec)
        tensors[f"{i}.image"] = u8(a)
        tensors[f"{i}.spec"] = f32(spec_vector(spec))
        tensors[f"{i}.expected"] = u8(got)
        rows.append((i, w, h, content, alpha, spec))
    mf.write_safetensors(out / "preprocess-pil.safetensors", tensors, {"format": "pt"})
    return rows


# ---- the photos through DeiT-Tiny -------------------------------------------------------------------------------
def hf_spec_from(cfg_path, image, channels):
    """Our reading of a preprocessor_config.json (the keys DeiT's uses), as a pipeline() spec."""
    p = json.loads(Path(cfg_path).read_text())
    size = p["size"]
    resize = ("shortest", size["shortest_edge"]) if "shortest_edge" in size else ("exact", size["width"], size["height"])
    filt = {0: "nearest", 2: "bilinear", 3: "bicubic"}[p["resample"]]
    crop = (p["crop_size"]["width"], p["crop_size"]["height"]) if p.get("do_center_crop") else None
    spec = S(resize if p.get("do_resize", True) else None, filt, crop, "hf", channels, image)
    return spec, p["rescale_factor"], np.array(p["image_mean"]), np.array(p["image_std"])


def float_pipeline(im, spec):
    """The same geometry with torchvision's float antialiased resampling (no 8-bit rounding between the passes
    or at the end): what a float GPU resampler would compute. Only used to state the difference."""
    x = torch.from_numpy(np.asarray(im.convert("RGB"), dtype=np.float64).transpose(2, 0, 1).copy())
    w, h = im.size
    short, long = (w, h) if w <= h else (h, w)
    ns, nl = spec["resize"][1], int(spec["resize"][1] * long / short)
    size = [nl, ns] if w <= h else [ns, nl]
    x = TF.resize(x, size, TV_FILTER[spec["filter"]], antialias=True)
    cw, ch = spec["crop"]
    top, left = (size[0] - ch) // 2, (size[1] - cw) // 2
    return x[:, top:top + ch, left:left + cw].clamp(0, 255).numpy()


def make_photos(out):
    cfg = json.loads((MODEL / "config.json").read_text())
    D, L, Hh, M = cfg["hidden_size"], cfg["num_hidden_layers"], cfg["num_attention_heads"], cfg["intermediate_size"]
    img, P, eps, K = cfg["image_size"], cfg["patch_size"], cfg["layer_norm_eps"], len(cfg["id2label"])
    hf, _, _ = mf.read_safetensors(MODEL / "model.safetensors")
    sd, extra = mf.tv_state_from_hf(hf, L, "vit.", True)
    model, _ = mf.build_torchvision(img, P, D, Hh, L, M, K, eps, cfg["hidden_act"], sd, extra)
    names = (MODEL / "labels.txt").read_text().splitlines()
    spec, rescale, mean, std = hf_spec_from(MODEL / "preprocessor_config.json", img, 3)

    files = sorted(p for p in PHOTOS.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png", ".bmp", ".gif"))
    pixels, sizes, xs, floats = [], [], [], []
    for f in files:
        im = Image.open(f)
        sizes.append(im.size)
        px = pipeline(im, spec)
        pixels.append(px)
        xs.append((px.astype(np.float64) * rescale - mean[:, None, None]) / std[:, None, None])
        floats.append(float_pipeline(im, spec))
    x = np.stack(xs)
    logits, _, _ = mf.run_torchvision(model, None, x)
    prob = torch.softmax(logits, -1)
    top_p, top_i = prob.topk(5, -1)

    xf = (np.stack(floats) * rescale - mean[None, :, None, None]) / std[None, :, None, None]
    logits_f, _, _ = mf.run_torchvision(model, None, xf)
    prob_f = torch.softmax(logits_f, -1)

    pix = np.stack(pixels)
    stats = np.stack([pix.reshape(len(files), 3, -1).mean(-1), pix.reshape(len(files), 3, -1).std(-1)], -1)
    tensors = {"logits": f32(logits.numpy()), "top5_index": f32(top_i.numpy()), "top5_prob": f32(top_p.numpy()),
               "pixel_grid": u8(pix[:, :, 2::4, 2::4]), "pixel_stats": f32(stats)}
    meta = {"format": "pt", "photos": json.dumps([f.name for f in files]),
            "grid": "pixel_grid[n][c][i][j] = PIL's 8-bit crop at row 2 + 4i, column 2 + 4j",
            "preprocessing": json.dumps(spec)}
    mf.write_safetensors(out / "photos-expected.safetensors", tensors, meta)

    rows = []
    for n, f in enumerate(files):
        fd = np.abs(floats[n] - pixels[n].astype(np.float64))
        top = [(int(j), names[int(j)], float(p)) for p, j in zip(top_p[n], top_i[n])]
        dp = float((prob_f[n] - prob[n]).abs().max())
        dl = float((logits_f[n] - logits[n]).norm() / logits[n].norm())
        rows.append((f.name, sizes[n], top, float(fd.max()), float(fd.mean()), dl, dp,
                     int(logits_f[n].argmax()) == int(logits[n].argmax())))
    return rows, spec


def readme(pil_rows, photo_rows, spec):
    o = []
    w = o.append
    w("# Image preprocessing fixtures (generated)\n")
    w(f"Written by `tools/make_image_fixtures.py` (`{REGEN}`, `--check` to verify); do not edit by hand.")
    w(f"Pillow {Image.__version__}, torch {torch.__version__}, torchvision {torchvision.__version__}, "
      f"numpy {np.__version__}.\n")
    w("## `preprocess-pil.safetensors`: PIL on awkward images\n")
    w("Each case `i`: `i.image` U8 [h, w, 4] (RGBA; alpha random where marked, and ignored), `i.spec` F32 [10]")
    w("(resize mode, resize w, resize h, filter, crop, crop w, crop h, crop rounding, channels, size: the enums of")
    w("`src/preprocess.h`), `i.expected` U8 [C, S, S]: `Image.convert(\"RGB\")` (then `\"L\"` for C = 1), "
      "`Image.resize`")
    w("(or `torchvision.transforms.functional.resize` for the torchvision cases), then the centre crop: torchvision's")
    w("`center_crop` (round half to even, zero padding) or Hugging Face's `center_crop` (floor, zero padding),")
    w("re-implemented here from transformers' source. vkvit must reproduce every pixel exactly.\n")
    w("| case | source | content | resize | filter | crop | C | S |\n| --- | --- | --- | --- | --- | --- | --- | --- |")
    for i, wd, ht, content, alpha, s in pil_rows:
        rz = s["resize"]
        rzs = "none" if rz is None else (f"{rz[1]}×{rz[2]}" if rz[0] == "exact" else f"shortest edge {rz[1]}")
        crop = f"{s['crop'][0]}×{s['crop'][1]} ({s['round']})" if s["crop"] else "–"
        w(f"| {i} | {wd}×{ht}{' RGBA' if alpha else ''} | {content} | {rzs} | {s['filter']} | {crop} | {s['C']} | "
          f"{s['S']} |")
    w("\n## `photos-expected.safetensors`: DeiT-Tiny on `../shared/images`\n")
    w(f"Preprocessing from `{MODEL.relative_to(SHARED.parent)}/preprocessor_config.json`: shorter side to "
      f"{spec['resize'][1]} ({spec['filter']}, PIL), Hugging Face centre crop {spec['crop'][0]}, × rescale_factor, "
      "ImageNet mean/std. Tensors: `logits` [N, 1000] and `top5_index`, `top5_prob` [N, 5] from torchvision's")
    w("`VisionTransformer` in float64; `pixel_grid` U8 [N, 3, 56, 56] = PIL's crop at rows/columns 2, 6, …, 222;")
    w("`pixel_stats` [N, 3, 2] = mean and standard deviation of each channel of the whole crop (levels). Photo")
    w("names in the metadata (`photos`).\n")
    w("Resampling differences: vkvit reproduces PIL's 8-bit fixed-point resampling exactly and decodes JPEGs with")
    w("libjpeg-turbo as PIL does, so the model sees PIL's pixels for every photo. For the record, a float")
    w("resampler (torchvision's antialiased float resize, same geometry, no 8-bit rounding) would land this far")
    w("from PIL:\n")
    w("| photo | size | PyTorch top-1 | p | float resize: max / mean |Δpixel| | rel Δlogits | max |Δp| | same top-1 |")
    w("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for name, (wd, ht), top, fmax, fmean, dl, dp, same in photo_rows:
        w(f"| {name} | {wd}×{ht} | {top[0][0]} {top[0][1].split(',')[0]} | {top[0][2]:.4f} | {fmax:.2f} / "
          f"{fmean:.3f} | {dl:.1e} | {dp:.4f} | {'yes' if same else 'NO'} |")
    w("")
    for name, _, top, *_ in photo_rows:
        w(f"- `{name}`: " + "; ".join(f"{j} {n.split(',')[0]} {p:.4f}" for j, n, p in top))
    return "\n".join(o) + "\n"


def generate(out):
    out.mkdir(parents=True, exist_ok=True)
    pil_rows = make_pil_cases(out)
    photo_rows, spec = make_photos(out)
    (out / "photos-README.md").write_text(readme(pil_rows, photo_rows, spec))
    for name, (wd, ht), top, fmax, fmean, dl, dp, same in photo_rows:
        print(f"{name:14s} {wd}x{ht}: {top[0][1][:30]:30s} {top[0][2]:.4f} | float resize vs PIL: max {fmax:.2f} "
              f"mean {fmean:.3f}, rel dlogits {dl:.1e}, max dp {dp:.4f}")
    for f in ("preprocess-pil.safetensors", "photos-expected.safetensors"):
        print(f, (out / f).stat().st_size, "bytes")


def main():
    return mf.cli(__doc__.split("\n")[0], generate, ROOT / "tests" / "data")


if __name__ == "__main__":
    sys.exit(main())
