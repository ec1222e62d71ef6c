#!/usr/bin/python3
"""Write the DINOv2 / DeiT III (LayerScale, register tokens) fixtures under tests/data/dino/ (committed).

Run with Debian's PyTorch and timm's source:
    PYTHONPATH=/tmp/timm-src /usr/bin/python3 tools/make_dino_fixtures.py [--out DIR] [--check]

Three tiny timm models, each built by timm.create_model from the real architecture function with its dimensions
shrunk through model_args (embed_dim 36, 3 heads, 2 blocks, mlp_ratio 2.75 -> MLP 99, 5 classes or none), every
parameter seeded random (LayerScale gammas around 0.6 with noise, so the fold at load is tested):
  deit3     deit3_small_patch16_224 (no_embed_class, init_values): patch 8, 40 px (a 5x5 grid), a classifier
  dinov2    vit_small_patch14_dinov2 (init_values): patch 14, 70 px (5x5), a backbone (num_classes 0)
  reg4      vit_small_patch14_reg4_dinov2 (4 register tokens, no_embed_class, init_values): patch 14, 70 px,
            a classifier
  dinov2-6, reg4-6  the same two saved at 84 px (a 6x6 grid) and run only at 9 rows x 7 columns of patches (126 px
            high, 98 wide: expected-126x98.safetensors), the position embedding resampled per axis: timm's loader
            into a model built at img_size (126, 98); HF's interpolate_pos_encoding with size=(9, 7) (both
            Dinov2Embeddings and Dinov2WithRegistersEmbeddings interpolate to (height // patch, width // patch);
            antialias for the registers' only)
Files, per model and layout:
  dino/<name>/timm/  model.safetensors (timm's state dict) + config.json (architecture + model_args)
  dino/dinov2/hf/    Dinov2Model's names, renamed from timm's by the table of transformers'
                     convert_dinov2_to_hf.py (create_rename_keys, read_in_q_k_v: qkv split into query/key/value;
                     ls1.gamma -> layer_scale1.lambda1; norm -> layernorm; embeddings.mask_token written as zeros,
                     as HF saves it); config model_type dinov2
  dino/reg4/hf/      Dinov2WithRegistersForImageClassification: the same renaming, register_tokens, and HF's
                     position embedding [1, 1 + N, D] whose class row HF adds to cls_token before inserting the
                     registers (timm's _convert_dinov2 folds it into cls_token): cls_hf + pos_hf[0] = cls_timm
                     exactly (values on a coarse binary grid); the classifier [5, 2D] seeded anew, its logits
                     computed in torch as HF's forward does: cat(cls, mean of the patch tokens after the final
                     LayerNorm, registers excluded) . W^T + b, from timm's forward_features
  expected-<S>.safetensors in each layout folder: input [3, 3, S, S] (normalised), embedding [3, D] (the
      final-LayerNorm class token), logits [3, 5] (where there is a classifier), *_b1 (image 0 alone, batch 1);
      float64 runs, stored fp32. S is the checkpoint's size and an interpolated one (7x7 grid): timm's loader
      resamples the position embedding with checkpoint_filter_fn (resample_abs_pos_embed: bicubic, antialias);
      Hugging Face's interpolate_pos_encoding with F.interpolate(size=, mode='bicubic', align_corners=False) in
      float32, antialias=True for Dinov2WithRegisters only (transformers' modeling_dinov2.py and
      modeling_dinov2_with_registers.py), reproduced here by the same call and run through timm's blocks.
      dinov2/hf also at 56 px (a 4x4 grid): what HF computes behind an image processor whose crop_size is 56
      (facebook/dinov2-* crop 224 from a config's 518).
transformers is not installed: the HF names and config keys are from its source, not proven by loading.
Deterministic (numpy PCG64 with fixed seeds, torch on one thread); --check regenerates and compares byte for byte.
"""
import json
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_fixtures import ROOT, check_close, cli, store, write_safetensors  # noqa: E402

try:
    import timm
    from timm.models.vision_transformer import checkpoint_filter_fn
except ImportError:
    sys.exit("timm not found: run with PYTHONPATH=<timm source> (e.g. /tmp/timm-src)")

torch.set_num_threads(1)

DIM, HEADS, LAYERS, RATIO, CLASSES, BATCH = 36, 3, 2, 2.75, 5, 3
REGEN = "PYTHONPATH=/tmp/timm-src /usr/bin/python3 tools/make_dino_fixtures.py"
SPECS = [
    dict(name="deit3", arch="deit3_small_patch16_224", patch=8, grid=5, classes=CLASSES, seed=1301, hf=None),
    dict(name="dinov2", arch="vit_small_patch14_dinov2", patch=14, grid=5, classes=0, seed=1302, hf="dinov2"),
    dict(name="reg4", arch="vit_small_patch14_reg4_dinov2", patch=14, grid=5, classes=CLASSES, seed=1303,
         hf="dinov2_with_registers"),
    # saved at a 6x6 grid, run at 9 rows x 7 columns of patches (126 px high, 98 wide): per-axis resampling
    dict(name="dinov2-6", arch="vit_small_patch14_dinov2", patch=14, grid=6, classes=0, seed=1304, hf="dinov2",
         also=(9, 7)),
    dict(name="reg4-6", arch="vit_small_patch14_reg4_dinov2", patch=14, grid=6, classes=CLASSES, seed=1305,
         hf="dinov2_with_registers", also=(9, 7)),
]
ALSO = 7  # the interpolated grid
CROP = 4  # dinov2/hf also at a 4x4 grid (56 px): HF's Dinov2 behind a processor cropping to 56 (config: 70)


def model_args(s, image):
    """image: a side, or (height, width)."""
    return dict(img_size=tuple(image) if isinstance(image, tuple) else image, patch_size=s["patch"], embed_dim=DIM,
                depth=LAYERS, num_heads=HEADS, mlp_ratio=RATIO, num_classes=s["classes"])


def build(s, image):
    return timm.create_model(s["arch"], pretrained=False, **model_args(s, image)).eval()


def randomise(model, seed):
    rng = np.random.Generator(np.random.PCG64(seed))
    sd = model.state_dict()
    for name in sorted(sd):
        shape = tuple(sd[name].shape)
        if name.endswith(".gamma"):
            v = 0.6 + 0.3 * rng.standard_normal(shape)
        elif name.endswith("norm1.weight") or name.endswith("norm2.weight") or name == "norm.weight":
            v = 1.0 + 0.2 * rng.standard_normal(shape)
        elif name.endswith(".weight"):
            fan_in = int(np.prod(shape[1:]))
            v = rng.standard_normal(shape) * (2.0 if "qkv" in name else 1.0) / np.sqrt(fan_in)
        elif name in ("cls_token", "reg_token"):
            v = np.round(0.3 * rng.standard_normal(shape) * 256) / 256  # a coarse grid: cls_hf + pos_hf[0] exact
        elif name == "pos_embed":
            v = 0.3 * rng.standard_normal(shape)
        else:
            v = 0.1 * rng.standard_normal(shape)
        sd[name] = torch.from_numpy(v.astype(np.float32))
    model.load_state_dict(sd)
    return {k: v.clone() for k, v in sd.items()}


def make_input(image, seed):
    h, w = image if isinstance(image, tuple) else (image, image)
    rng = np.random.Generator(np.random.PCG64(seed))
    x = rng.uniform(-1.0, 1.0, (BATCH, 3, h, w))
    ramp = np.linspace(-1.0, 1.0, h)
    x[1] = 0.7 * x[1] + 0.3 * ramp[None, :, None]
    return x.astype(np.float32)


def run(s, sd, x, image, dtype, head=None):
    """(embedding, logits) of timm's model at `image` px holding sd (pos_embed already at that grid), in dtype;
    head = (W, b) for HF's DINOv2 classifier over [cls | mean of the patch tokens]."""
    m = build(s, image).to(dtype)
    m.load_state_dict({k: v.to(dtype) for k, v in sd.items()})
    with torch.no_grad():
        xt = torch.from_numpy(x).to(dtype)
        feats = m.forward_features(xt)
        emb = m.forward_head(feats, pre_logits=True)
        if head is not None:
            lead = 1 + m.num_reg_tokens
            cat = torch.cat([feats[:, 0], feats[:, lead:].mean(dim=1)], dim=1)
            logits = cat @ head[0].to(dtype).T + head[1].to(dtype)
        else:
            logits = m.forward_head(feats) if s["classes"] else None
    return emb, logits


# ---- the position embedding at another grid, as each publisher computes it ---------------------------------------
def timm_resized(s, sd, image):
    """timm's loader: checkpoint_filter_fn into a model built at the new size (resample_abs_pos_embed)."""
    return checkpoint_filter_fn({k: v.clone() for k, v in sd.items()}, build(s, image))


def hf_resized(s, sd, hf_pos, grid):
    """HF's interpolate_pos_encoding on its [1, 1 + N, D] embedding, then as timm's model holds it; grid: a side,
    or (rows, columns): size=(height // patch, width // patch) in both of HF's DINOv2 embeddings."""
    g0 = int(round((hf_pos.shape[1] - 1) ** 0.5))
    patch = hf_pos[:, 1:].reshape(1, g0, g0, DIM).permute(0, 3, 1, 2)
    patch = F.interpolate(patch.to(torch.float32), size=grid if isinstance(grid, tuple) else (grid, grid),
                          mode="bicubic", align_corners=False, antialias=s["hf"] == "dinov2_with_registers")
    patch = patch.permute(0, 2, 3, 1).reshape(1, -1, DIM)
    out = dict(sd)
    out["pos_embed"] = patch if s["hf"] == "dinov2_with_registers" else torch.cat([hf_pos[:, :1], patch], dim=1)
    return out


# ---- Hugging Face's names -------------------------------------------------------------------------------------------
def to_hf(s, sd, rng):
    """timm's tensors in Dinov2Model / Dinov2WithRegistersForImageClassification names (convert_dinov2_to_hf.py)."""
    sd, D = dict(sd), DIM
    regs = s["hf"] == "dinov2_with_registers"
    base = "dinov2_with_registers." if regs and s["classes"] else "dinov2." if s["classes"] else ""
    out = {base + "embeddings.mask_token": torch.zeros(1, D)}
    pos = sd.pop("pos_embed")
    if regs:  # HF adds pos[0] to the class token; timm's checkpoint holds the sum (a coarse grid: exact)
        row = torch.from_numpy(np.round(rng.standard_normal((1, 1, D)) * 16).astype(np.float32) / 16)
        cls = sd.pop("cls_token")
        out[base + "embeddings.cls_token"] = cls - row
        assert torch.equal(out[base + "embeddings.cls_token"] + row, cls)
        pos = torch.cat([row, pos], dim=1)
        out[base + "embeddings.register_tokens"] = sd.pop("reg_token")
    else:
        out[base + "embeddings.cls_token"] = sd.pop("cls_token")
    out[base + "embeddings.position_embeddings"] = pos
    ren = {"patch_embed.proj.weight": "embeddings.patch_embeddings.projection.weight",
           "patch_embed.proj.bias": "embeddings.patch_embeddings.projection.bias",
           "norm.weight": "layernorm.weight", "norm.bias": "layernorm.bias"}
    for i in range(LAYERS):
        t, h = f"blocks.{i}.", f"encoder.layer.{i}."
        for a, b in (("norm1", "norm1"), ("attn.proj", "attention.output.dense"), ("norm2", "norm2"),
                     ("mlp.fc1", "mlp.fc1"), ("mlp.fc2", "mlp.fc2")):
            for wb in ("weight", "bias"):
                ren[f"{t}{a}.{wb}"] = f"{h}{b}.{wb}"
        ren[t + "ls1.gamma"], ren[t + "ls2.gamma"] = h + "layer_scale1.lambda1", h + "layer_scale2.lambda1"
    for old, new in ren.items():
        out[base + new] = sd.pop(old)
    for i in range(LAYERS):
        w, b = sd.pop(f"blocks.{i}.attn.qkv.weight"), sd.pop(f"blocks.{i}.attn.qkv.bias")
        for j, n in enumerate(("query", "key", "value")):
            a = f"{base}encoder.layer.{i}.attention.attention.{n}."
            out[a + "weight"], out[a + "bias"] = w[j * D:(j + 1) * D], b[j * D:(j + 1) * D]
    head = None
    sd.pop("head.weight", None), sd.pop("head.bias", None)  # timm's head reads the class token: not HF's
    if s["classes"]:
        w = torch.from_numpy((rng.standard_normal((s["classes"], 2 * D)) / np.sqrt(2 * D)).astype(np.float32))
        b = torch.from_numpy((0.1 * rng.standard_normal(s["classes"])).astype(np.float32))
        out["classifier.weight"], out["classifier.bias"], head = w, b, (w, b)
    assert not sd, f"timm tensors without an HF name: {sorted(sd)}"
    return out, pos, head


def timm_config(s):
    image = s["patch"] * s["grid"]
    cfg = {"architecture": s["arch"], "num_classes": s["classes"], "num_features": DIM, "global_pool": "token",
           "model_args": model_args(s, image),
           "pretrained_cfg": {"input_size": [3, image, image], "interpolation": "bicubic", "crop_pct": 1.0,
                              "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225],
                              "num_classes": s["classes"]}}
    return json.dumps(cfg, indent=2) + "\n"


def hf_config(s):
    regs = s["hf"] == "dinov2_with_registers"
    arch = ("Dinov2WithRegisters" if regs else "Dinov2") + ("ForImageClassification" if s["classes"] else "Model")
    cfg = {"architectures": [arch], "model_type": s["hf"], "hidden_size": DIM, "num_hidden_layers": LAYERS,
           "num_attention_heads": HEADS, "mlp_ratio": RATIO, "hidden_act": "gelu", "layer_norm_eps": 1e-6,
           "image_size": s["patch"] * s["grid"], "patch_size": s["patch"], "num_channels": 3, "qkv_bias": True,
           "layerscale_value": 1.0, "use_swiglu_ffn": False}
    if regs:
        cfg["num_register_tokens"] = 4
    if s["classes"]:
        cfg["id2label"] = {str(i): f"class_{i}" for i in range(s["classes"])}
    return json.dumps(cfg, indent=2) + "\n"


def expected(s, sd, image, seed, head=None):
    x = make_input(image, seed)
    emb, logits = run(s, sd, x, image, torch.float64, head)
    e32, l32 = run(s, sd, x, image, torch.float32, head)
    eb1, lb1 = run(s, sd, x[:1], image, torch.float64, head)
    res = {"fp32 embedding": check_close("fp32 vs fp64 embedding", e32, emb, 1e-4)}
    check_close("batch 1 vs row 0 of batch 3", eb1, emb[:1], 1e-12)
    t = {"input": store(x, "F32"), "embedding": store(emb.numpy(), "F32"), "embedding_b1": store(eb1.numpy(), "F32")}
    if logits is not None:
        res["fp32 logits"] = check_close("fp32 vs fp64 logits", l32, logits, 1e-4)
        t["logits"], t["logits_b1"] = store(logits.numpy(), "F32"), store(lb1.numpy(), "F32")
    return t, res


def write(d, name, tensors):
    d.mkdir(parents=True, exist_ok=True)
    write_safetensors(d / name, {k: store(v.numpy(), "F32") if isinstance(v, torch.Tensor) else v
                                 for k, v in sorted(tensors.items())}, {"format": "pt"})


def px(s, grid):
    """The run size of a grid (a side, or (rows, columns)), its files' tag and its input's seed."""
    if isinstance(grid, tuple):
        h, w = grid[0] * s["patch"], grid[1] * s["patch"]
        return (h, w), f"{h}x{w}", s["seed"] + 1000 * h + w
    return grid * s["patch"], str(grid * s["patch"]), s["seed"] + grid * s["patch"]


def generate(out):
    notes = []
    for s in SPECS:
        d, image = out / "dino" / s["name"], s["patch"] * s["grid"]
        also, tag, seed = px(s, s.get("also", ALSO))
        torch.manual_seed(s["seed"])
        sd = randomise(build(s, image), s["seed"])
        write(d / "timm", "model.safetensors", sd)
        (d / "timm" / "config.json").write_text(timm_config(s))
        own = [] if "also" in s else [(image, str(image), s["seed"] + image, sd)]  # the 6x6 ones: 9x7 only
        for size, name, sz, state in own + [(also, tag, seed, timm_resized(s, sd, also))]:
            t, res = expected(s, state, size, sz)
            write(d / "timm", f"expected-{name}.safetensors", t)
            notes.append(f"{s['name']}/timm at {name} px: " + ", ".join(f"{k} {v:.1e}" for k, v in res.items()))
        if s["hf"]:
            rng = np.random.Generator(np.random.PCG64(s["seed"] + 7))
            hf, hf_pos, head = to_hf(s, sd, rng)
            write(d / "hf", "model.safetensors", hf)
            (d / "hf" / "config.json").write_text(hf_config(s))
            runs = own + [(also, tag, seed, hf_resized(s, sd, hf_pos, s.get("also", ALSO)))]
            if s["name"] == "dinov2":  # as HF runs it behind an image processor cropping to CROP x patch
                c = CROP * s["patch"]
                runs.append((c, str(c), s["seed"] + c, hf_resized(s, sd, hf_pos, CROP)))
            for size, name, sz, state in runs:
                t, res = expected(s, state, size, sz, head)
                write(d / "hf", f"expected-{name}.safetensors", t)
                notes.append(f"{s['name']}/hf at {name} px: " + ", ".join(f"{k} {v:.1e}" for k, v in res.items()))
    for n in notes:
        print(n)
    (out / "dino" / "README.md").write_text(
        "# `dino`: tiny DeiT III and DINOv2 (with and without registers) in timm and HF layouts (generated)\n\n"
        f"Written by `tools/make_dino_fixtures.py` (its docstring says what each file holds); do not edit by hand. "
        f"Regenerate with `{REGEN}` (`--check` compares byte for byte). Generated with torch {torch.__version__}, "
        f"timm {timm.__version__}, numpy {np.__version__}.\n\nPyTorch float32 vs float64 (relative L2):\n\n"
        + "".join(f"- {n}\n" for n in notes))


def main():
    return cli(__doc__.split("\n")[0], generate, ROOT / "tests" / "data")


if __name__ == "__main__":
    sys.exit(main())
