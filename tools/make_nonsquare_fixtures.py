#!/usr/bin/python3
"""Write the fixtures for non-square input sizes from timm's own code (committed; CI never runs timm or PyTorch).

Run with Debian's PyTorch and SciPy and timm's source (as tools/make_timm_fixtures.py, whose helpers it uses):

    PYTHONPATH=/tmp/timm-src /usr/bin/python3 tools/make_nonsquare_fixtures.py [--out DIR] [--check]

It writes
  tests/data/posembed-nonsquare.safetensors
                       position-embedding grids resampled to and from non-square grids by
                       torch.nn.functional.interpolate (bicubic, antialias False / True) and scipy.ndimage.zoom
                       (order=1), the same keys as posembed.safetensors (tests/test_posembed.c reads both)
  tests/data/timm-nonsquare/
                       a tiny timm ViT saved at a square size (grid 7x7) and the outputs timm computes at
                       non-square sizes (9x7 and 5x11 patches) after loading the file through timm's
                       checkpoint_filter_fn (resample_abs_pos_embed: bicubic, antialias=True, float32)
  tests/data/timm-rect/
                       a tiny distilled DeiT made non-square (img_size=(24, 36): a 6x9 grid), its outputs at its
                       own size, and at 36x28 (9x7) after resample_abs_pos_embed(old_size=(6, 9)) (timm's
                       checkpoint_filter_fn assumes a square checkpoint grid, so the resampling is called the way
                       timm's own code calls it with the grid given)
  tests/data/hf-nonsquare/, tests/data/hf-rect/
                       the same two models renamed to the Hugging Face layouts (ViTForImageClassification,
                       DeiTForImageClassificationWithTeacher; the renaming of transformers' convert_vit_timm_to_pytorch
                       / convert_deit_timm_to_pytorch scripts): hf-nonsquare (image_size 28) run at 36x28 after the
                       resampling Hugging Face's interpolate_pos_encoding does (F.interpolate(size=(h // P, w // P),
                       bicubic, align_corners=False), no antialias), hf-rect with image_size [24, 36] at its own size
  tests/data/preprocess-nonsquare.safetensors
                       images (a photo from ../shared/images scaled down by PIL, and random pixels) preprocessed to
                       non-square sizes by timm's own eval transform (transforms_imagenet_eval with a tuple img_size
                       and crop_pct: ResizeKeepRatio + CenterCrop) and as a Hugging Face image processor does with
                       size {height, width} (PIL resize, its centre crop), as 8-bit pixels
  tests/data/nonsquare-README.md
                       what these are
--check regenerates into a temporary folder and compares byte for byte (make_fixtures.cli).
"""
import json
import sys
from pathlib import Path

import numpy as np
import scipy
import torch

import timm
import timm.layers
from PIL import Image
from timm.data.transforms_factory import transforms_imagenet_eval
from timm.models import vision_transformer as timm_vit

sys.path.insert(0, str(Path(__file__).resolve().parent))
import make_fixtures as mf  # noqa: E402
from make_fixtures import read_safetensors, store, write_safetensors  # noqa: E402
from make_timm_fixtures import hub_config, posembed_data, randomize, timm_outputs  # noqa: E402
from make_image_fixtures import hf_center_crop, u8  # noqa: E402

torch.set_num_threads(1)
ROOT = Path(__file__).resolve().parent.parent
REGEN = "PYTHONPATH=/tmp/timm-src /usr/bin/python3 tools/make_nonsquare_fixtures.py"

# (gh, gw, oh, ow): square -> non-square (DINOv2's 6x6 run at 9x7), non-square -> square, -> transposed, one axis
# kept, shrinking one axis while growing the other, a row, a column.
POS_CASES = [(6, 6, 9, 7), (7, 7, 5, 11), (6, 9, 9, 7), (6, 9, 6, 6), (4, 6, 6, 4), (5, 3, 5, 8), (9, 4, 3, 10),
             (1, 5, 3, 2), (4, 1, 2, 6)]
POS_DIM = 7


MODELS = [
    dict(name="timm-nonsquare", arch="vit_small_patch16_224", seed=1301, own=None, sizes=[(36, 28), (20, 44)],
         args={"img_size": 28, "patch_size": 4, "embed_dim": 48, "depth": 2, "num_heads": 3, "mlp_ratio": 2.5,
               "num_classes": 7},
         note="grid 7x7 saved; run at 36x28 (9x7 patches: one axis grown, one kept) and 20x44 (5x11: one axis "
              "shrunk, where the antialiased kernel matters, one grown)"),
    dict(name="timm-rect", arch="deit_tiny_distilled_patch16_224", seed=1302, own=(24, 36), sizes=[(24, 36), (36, 28)],
         args={"img_size": [24, 36], "patch_size": 4, "embed_dim": 36, "depth": 2, "num_heads": 2, "num_classes": 5},
         note="distilled DeiT built non-square (img_size=(24, 36): a 6x9 grid, class + distillation rows kept); run "
              "at its own size, and at 36x28 (9x7) from its 6x9 grid"),
]
BATCH = 3


def pos_for(state, m, grid0):
    """The checkpoint's position embedding for model m, resampled as timm does it: checkpoint_filter_fn for a square
    checkpoint grid, resample_abs_pos_embed with old_size for a non-square one (the filter would take it as square)."""
    new = list(m.patch_embed.grid_size)
    if grid0[0] == grid0[1]:
        return timm_vit.checkpoint_filter_fn(dict(state), m)
    sd = dict(state)
    if list(grid0) != new:
        sd["pos_embed"] = timm.layers.resample_abs_pos_embed(state["pos_embed"], new, list(grid0),
                                                             m.num_prefix_tokens)
    return sd


def make_model(spec, out):
    d = out / spec["name"]
    d.mkdir(parents=True, exist_ok=True)
    src = timm.create_model(spec["arch"], **spec["args"])
    randomize(src, spec["seed"])
    grid0 = tuple(src.patch_embed.grid_size)
    write_safetensors(d / "model.safetensors", {k: store(v.numpy(), "F32") for k, v in src.state_dict().items()},
                      {"format": "pt"})
    with open(d / "config.json", "w") as f:  # save_config_for_hf's bytes, with a final newline
        f.write(json.dumps(hub_config(src, spec["args"]), indent=2) + "\n")
    tensors, _, _ = read_safetensors(d / "model.safetensors")
    state = {k: torch.from_numpy(v.astype(np.float32)) for k, v in tensors.items()}
    results = []
    for h, w in spec["sizes"]:
        m = timm.create_model(spec["arch"], **dict(spec["args"], img_size=(h, w))).eval()
        m.load_state_dict(pos_for(state, m, grid0))
        m = m.double()
        rng = np.random.Generator(np.random.PCG64(spec["seed"] + 100 * h + w))
        x = torch.from_numpy(rng.standard_normal((BATCH, 3, h, w)))
        logits, emb, att = timm_outputs(m, x)
        assert torch.allclose(logits, m(x), rtol=0, atol=1e-12)
        write_safetensors(d / f"expected-{h}x{w}.safetensors",
                          {"input": store(x.numpy(), "F32"), "logits": store(logits.numpy(), "F32"),
                           "embedding": store(emb.numpy(), "F32"), "cls_attention": store(att.numpy(), "F32")},
                          {"format": "pt"})
        results.append(dict(size=(h, w), grid=(grid0, tuple(m.patch_embed.grid_size)),
                            tokens=int(m.pos_embed.shape[1]), top1=logits.argmax(-1).tolist()))
    return results


# ---- preprocessing ----------------------------------------------------------------------------------------------
PHOTO = ROOT.parent / "shared" / "images" / "chelsea.png"
FILTERS = {"nearest": 0, "bilinear": 1, "bicubic": 2}
PIL_FILTERS = {"nearest": Image.NEAREST, "bilinear": Image.BILINEAR, "bicubic": Image.BICUBIC}
KIND = {"timm": 0, "hf": 1, "timm-resized": 2}
# (image, kind, height, width, crop_pct, interpolation, crop (h, w) or None, the square size a resized spec is from):
# "timm": a timm config with img_size [h, w]; "hf": a preprocessor_config.json with size {height, width} (and
# crop_size); "timm-resized": a square timm config run at h x w (vkvit_model_options.image_height/width).
PRE_CASES = [
    ("photo", "timm", 36, 28, 0.9, "bicubic", None, 0),
    ("photo", "timm", 20, 44, 0.875, "bilinear", None, 0),
    ("noise", "timm", 24, 36, 1.0, "bicubic", None, 0),
    ("photo", "hf", 24, 40, 0, "bilinear", None, 0),
    ("photo", "hf", 30, 20, 0, "bicubic", (24, 16), 0),
    ("photo", "timm-resized", 36, 28, 0.9, "bicubic", None, 28),
    ("tall", "timm-resized", 16, 40, 0.875, "bicubic", None, 24),
]


def pre_image(what, rng):
    if what == "photo":  # a real photo, scaled down so the fixture stays small
        im = Image.open(PHOTO).convert("RGB").resize((121, 80), Image.BICUBIC)
        a = np.asarray(im)
        return np.concatenate([a, np.full(a.shape[:2] + (1,), 255, np.uint8)], axis=2)
    h, w = (53, 37) if what == "noise" else (90, 23)
    a = rng.integers(0, 256, (h, w, 4), dtype=np.uint8)
    a[..., 3] = 255
    return a


def preprocess_data():
    rng = np.random.Generator(np.random.PCG64(1303))
    t = {}
    for i, (what, kind, h, w, pct, interp, crop, square) in enumerate(PRE_CASES):
        a = pre_image(what, rng)
        im = Image.fromarray(a, "RGBA").convert("RGB")
        if kind == "hf":  # ViTImageProcessor: PIL resize to (width, height), then Hugging Face's centre crop
            r = np.asarray(im.resize((w, h), PIL_FILTERS[interp]))
            got = hf_center_crop(r, *crop) if crop else r
        else:  # timm's eval transform for input_size (h, w), uint8 out (the prefetcher's PIL-to-tensor)
            tf = transforms_imagenet_eval(img_size=(h, w), crop_pct=pct, interpolation=interp, use_prefetcher=True)
            got = tf(im).numpy().transpose(1, 2, 0)
        out = crop or (h, w)
        assert got.shape == (out[0], out[1], 3), (i, got.shape)
        t[f"{i}.image"] = u8(a)
        t[f"{i}.case"] = store(np.array([KIND[kind], h, w, pct, FILTERS[interp], crop[0] if crop else 0,
                                         crop[1] if crop else 0, square], np.float64), "F32")
        t[f"{i}.expected"] = u8(np.ascontiguousarray(got.transpose(2, 0, 1)))
    return t


# ---- Hugging Face layouts of the same weights ---------------------------------------------------------------------
HF = [
    dict(name="hf-nonsquare", source="timm-nonsquare", naming="hf-vit", image=28, sizes=[(36, 28)],
         note="timm-nonsquare's weights as ViTForImageClassification (image_size 28), run at 36x28 (7x7 -> 9x7) "
              "with Hugging Face's plain bicubic resampling"),
    dict(name="hf-rect", source="timm-rect", naming="hf-deit-distilled", image=[24, 36], sizes=[(24, 36)],
         note="timm-rect's weights as DeiTForImageClassificationWithTeacher with image_size [24, 36], at its own "
              "size (Hugging Face's interpolate_pos_encoding takes a checkpoint grid as square, so it has no "
              "reference at another size)"),
]


def hf_weights(state, layers):
    """timm state (numpy) -> make_fixtures' canonical names, which export_hf writes in the HF layout."""
    W = {"cls": state["cls_token"], "pos": state["pos_embed"], "patch_w": state["patch_embed.proj.weight"],
         "patch_b": state["patch_embed.proj.bias"], "ln_w": state["norm.weight"], "ln_b": state["norm.bias"],
         "head_w": state["head.weight"], "head_b": state["head.bias"]}
    if "dist_token" in state:
        W["dist"], W["dhead_w"], W["dhead_b"] = state["dist_token"], state["head_dist.weight"], state["head_dist.bias"]
    for i in range(layers):
        b, c = f"blocks.{i}.", f"l{i}."
        q, k, v = np.split(state[b + "attn.qkv.weight"], 3, 0)
        qb, kb, vb = np.split(state[b + "attn.qkv.bias"], 3, 0)
        W.update({c + "q_w": q, c + "k_w": k, c + "v_w": v, c + "q_b": qb, c + "k_b": kb, c + "v_b": vb})
        for timm_name, short in (("norm1", "ln1"), ("attn.proj", "o"), ("norm2", "ln2"), ("mlp.fc1", "fc1"),
                                 ("mlp.fc2", "fc2")):
            W[c + short + "_w"], W[c + short + "_b"] = state[b + timm_name + ".weight"], state[b + timm_name + ".bias"]
    return W


def make_hf(spec, out):
    src = next(m for m in MODELS if m["name"] == spec["source"])
    a = src["args"]
    tensors, _, _ = read_safetensors(out / src["name"] / "model.safetensors")
    state = {k: v.astype(np.float32) for k, v in tensors.items()}
    d = out / spec["name"]
    d.mkdir(parents=True, exist_ok=True)
    mlp = int(a["embed_dim"] * a.get("mlp_ratio", 4.0))
    s = mf.spec(spec["name"], spec["naming"], spec["image"], a["patch_size"], a["embed_dim"], a["num_heads"],
                a["depth"], mlp, a["num_classes"], 1e-6)
    W = hf_weights(state, a["depth"])
    write_safetensors(d / "model.safetensors", {k: store(v, "F32") for k, v in mf.export_hf(W, s).items()},
                      {"format": "pt"})
    (d / "config.json").write_text(mf.hf_config(s))
    tstate = {k: torch.from_numpy(v) for k, v in state.items()}
    for h, w in spec["sizes"]:
        m = timm.create_model(src["arch"], **dict(a, img_size=(h, w))).eval()
        img = spec["image"] if isinstance(spec["image"], list) else [spec["image"]] * 2
        old = [img[0] // a["patch_size"], img[1] // a["patch_size"]]
        sd = dict(tstate)
        if old != list(m.patch_embed.grid_size):  # HF's interpolate_pos_encoding: the same F.interpolate, no antialias
            sd["pos_embed"] = timm.layers.resample_abs_pos_embed(tstate["pos_embed"], list(m.patch_embed.grid_size),
                                                                 old, m.num_prefix_tokens, antialias=False)
        m.load_state_dict(sd)
        m = m.double()
        rng = np.random.Generator(np.random.PCG64(src["seed"] + 7 + 100 * h + w))
        x = torch.from_numpy(rng.standard_normal((BATCH, 3, h, w)))
        logits, emb, att = timm_outputs(m, x)
        write_safetensors(d / f"expected-{h}x{w}.safetensors",
                          {"input": store(x.numpy(), "F32"), "logits": store(logits.numpy(), "F32"),
                           "embedding": store(emb.numpy(), "F32"), "cls_attention": store(att.numpy(), "F32")},
                          {"format": "pt"})


def readme(models):
    o = ["# Non-square fixtures from timm's own code (generated)", "",
         f"Written by `tools/make_nonsquare_fixtures.py` with timm {timm.__version__}, torch {torch.__version__}, "
         f"SciPy {scipy.__version__}; do not edit. Regenerate with", "", "```", REGEN + "           # rewrites them",
         REGEN + " --check   # compares byte for byte", "```", "",
         "## `posembed-nonsquare.safetensors`", "",
         f"As `posembed.safetensors` (see `timm-README.md`): random grids `in.GHxGW-OHxOW` [GH, GW, {POS_DIM}] and "
         "their resamplings by `F.interpolate(mode='bicubic', align_corners=False)` with and without "
         "`antialias=True` (float64, and `_f32` in float32 as timm runs it) and `scipy.ndimage.zoom(order=1)`, for "
         "grids " + ", ".join(f"{a}x{b} → {c}x{e}" for a, b, c, e in POS_CASES) + ".", "",
         "## `timm-nonsquare/`, `timm-rect/`", "",
         "A tiny model made by `timm.create_model(arch, **model_args)` with seeded weights, saved as "
         "`model.safetensors` + `config.json` (`save_config_for_hf`). For each size H x W, `expected-HxW.safetensors` "
         f"holds `input` [{BATCH}, 3, H, W], `logits`, `embedding` (final-LayerNorm class token) and `cls_attention` "
         f"[L, {BATCH}, T] computed in float64 by `timm.create_model(arch, **model_args, img_size=(H, W))` after "
         "loading the file the timm way (a square checkpoint grid through `checkpoint_filter_fn`; a non-square one "
         "through `resample_abs_pos_embed(pos_embed, new_size, old_size)`, which the filter would call with the "
         "grid taken as square; both bicubic, antialias=True, float32). `tests/test_model.c` (check_nonsquare) "
         "loads the checkpoint with `vkvit_model_options.image_height = H, image_width = W`.", "",
         "## `preprocess-nonsquare.safetensors`", "",
         "Per case i: `i.image` U8 [h, w, 4] (RGBA), `i.case` F32 (kind 0 timm / 1 Hugging Face / 2 timm square "
         "config run at H x W, H, W, crop_pct, filter 0 nearest / 1 bilinear / 2 bicubic, crop height, crop width, "
         "the square size of kind 2), `i.expected` U8 [3, H', W']: the pixels timm's `transforms_imagenet_eval("
         "img_size=(H, W), crop_pct, interpolation, use_prefetcher=True)` gives (ResizeKeepRatio to floor(H / "
         "crop_pct) x floor(W / crop_pct), then CenterCrop), or PIL's `resize((W, H))` and Hugging Face's centre crop. "
         "The photo is `../shared/images/chelsea.png` scaled to 121x80 by PIL (bicubic). `tests/test_preprocess.c` "
         "builds the spec the way vkvit does for such a model and requires its C reference and GPU op to give the "
         "same pixels.", "",
         "| case | image | kind | H x W | crop_pct | filter | crop |", "| --- | --- | --- | --- | --- | --- | --- |"]
    for i, (what, kind, h, w, pct, interp, crop, square) in enumerate(PRE_CASES):
        o.append(f"| {i} | {what} | {kind}{f' (from {square})' if square else ''} | {h}x{w} | {pct or '-'} | "
                 f"{interp} | {f'{crop[0]}x{crop[1]}' if crop else '-'} |")
    o += ["",
         "| folder | architecture | model_args | size (H x W) | grid | tokens | top-1 |", "| --- | --- | --- | --- | --- | --- | --- |"]
    for spec in MODELS:
        for r in models[spec["name"]]:
            (g0, g1) = r["grid"]
            o.append(f"| `{spec['name']}` | `{spec['arch']}` | `{json.dumps(spec['args'])}` | {r['size'][0]}x"
                     f"{r['size'][1]} | {g0[0]}x{g0[1]} → {g1[0]}x{g1[1]} | {r['tokens']} | {r['top1']} |")
    o.append("")
    for spec in MODELS + HF:
        o.append(f"- `{spec['name']}`: {spec['note']}.")
    o += ["", "`hf-nonsquare/` and `hf-rect/` hold the same weights as `timm-nonsquare/` and `timm-rect/` in the "
          "Hugging Face layouts (`transformers`' convert_vit_timm_to_pytorch / convert_deit_timm_to_pytorch renaming: "
          "`blocks.i.attn.qkv` split into `attention.attention.{query,key,value}`, `norm1` → `layernorm_before`, "
          "`head_dist` → `distillation_classifier`, ...) with `config.json` as `ViTConfig` / `DeiTConfig` write it; "
          "their expected outputs come from timm's model on those weights, the position embedding resampled as "
          "Hugging Face's `interpolate_pos_encoding` does (`F.interpolate(size=(h // P, w // P), mode='bicubic', "
          "align_corners=False)`, no antialias, float32).", ""]
    return "\n".join(o)


def generate(data):
    data.mkdir(parents=True, exist_ok=True)
    write_safetensors(data / "posembed-nonsquare.safetensors", posembed_data(POS_CASES, POS_DIM, 1300),
                      {"format": "pt"})
    write_safetensors(data / "preprocess-nonsquare.safetensors", preprocess_data(), {"format": "pt"})
    models = {spec["name"]: make_model(spec, data) for spec in MODELS}
    for spec in HF:
        make_hf(spec, data)
    (data / "nonsquare-README.md").write_text(readme(models))
    for spec in MODELS:
        for r in models[spec["name"]]:
            print(f"{spec['name']} at {r['size']}: grid {r['grid']}, tokens {r['tokens']}")


if __name__ == "__main__":
    sys.exit(mf.cli(__doc__.split("\n")[0], generate, ROOT / "tests" / "data"))
