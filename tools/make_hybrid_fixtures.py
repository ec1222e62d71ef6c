#!/usr/bin/python3
"""Write the hybrid (ResNet stem + ViT) fixtures under tests/data/hybrid/ (committed; CI never runs PyTorch).

Run with Debian's PyTorch and timm's source:
    PYTHONPATH=/tmp/timm-src /usr/bin/python3 tools/make_hybrid_fixtures.py [--out DIR] [--check]

Two tiny timm hybrids with seeded random weights, built as timm builds vit_base_r50_s16_224 (ResNetV2 with
preact=False, stem_type='same', StdConv2dSame with eps 1e-8, GroupNorm 32 groups; HybridEmbed, then timm's
VisionTransformer: hidden 48, 3 heads, 2 blocks, MLP 84, 7 classes, LayerNorm eps 1e-6, exact GELU) but smaller:
  r3     ResNet stages (2, 1, 1), widths 128/128/256 (bottlenecks of 32/32/64: 1 to 8 channels per group; stage 2
         projects for its stride alone, 128 -> 128), a 32-channel root; 64x64 images -> stem stride 16 -> a 4x4
         grid, a 1x1 projection (patch 1): 17 tokens
  root   the root alone (conv + GroupNorm + ReLU + max-pool: stride 4, as timm's vit_tiny_r_s16_p8), then a 4x4
         projection: 48x48 images -> 12x12 features -> a 3x3 grid, 10 tokens
Each is written as each publisher writes it, and a file per layout proves the names:
  hybrid/<name>/timm/    model.safetensors + config.json, timm's names (patch_embed.backbone.stages.0.blocks.0...)
  hybrid/<name>/google/  <name>.npz in the layout of google-research/vision_transformer's R50+ViT-B_16.npz
                         (conv_root, gn_root, block{n}/unit{m}/conv1..3, gn1..3, conv_proj, gn_proj; kernels HWIO);
                         proven by timm's own loader for those files (vision_transformer._load_weights), which
                         must rebuild every tensor of the model bit for bit
  hybrid/r3/hf/          model.safetensors + config.json in Hugging Face's ViTHybrid names
                         (vit.embeddings.patch_embeddings.backbone.bit.encoder.stages.0.layers.0.conv1.weight ...),
                         renamed by the table of transformers' convert_vit_hybrid_timm_to_pytorch.py (transformers is
                         not installed: the names and config keys are from its source, not proven by loading);
                         config.json as ViTHybridConfig.save_pretrained writes it (sorted keys, backbone_config a
                         BitConfig with global_padding "SAME", stage_names, out_features / out_indices)
  hybrid/<name>/expected.safetensors   timm's outputs in float64, stored fp32: input [3, 3, S, S] (already
                         normalised), logits [3, 7], embedding [3, 48], cls_attention [2, 3, T], features [3, F, F, Cf]
                         (the stem's output, NHWC), logits_b1 [1, 7] (image 0 alone, a batch-1 timm run), and the
                         root conv standardised by each publisher's formula ([O][C][7][7]): ws_timm (captured from
                         timm's StdConv2dSame as it calls conv2d: (w - mean) / sqrt(var + 1e-8)) and ws_google
                         (vit_jax models_resnet.weight_standardize: (w - mean) / (std + 1e-5), jax not installable
                         here, so in numpy)
  hybrid/r3/expected-56.safetensors    the same weights run by timm at 56x56 (odd maps on the way: 28, 14, 7, 4;
                         the same 4x4 grid, so the same position embedding)
The raw conv weights have standard deviations of about 0.5 to 2 (weight standardisation makes their scale
irrelevant to timm): at that scale Google's eps (1e-5 added to the std) and timm's (1e-8 inside the square root)
give weights 1e-5 apart, so timm's logits stand for vit_jax's too (measured below), while the ws_* tensors still
tell the two formulas apart.

Deterministic: numpy PCG64 with fixed seeds, torch on one thread; --check regenerates into a temporary folder and
compares byte for byte.
"""
import json
import math
import sys
from functools import partial
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_fixtures import ROOT, check_close, cli, store, write_safetensors  # noqa: E402
from make_npz_fixtures import transformer_to_google, write_npz  # noqa: E402

try:
    import timm
    from timm.layers import HybridEmbed, StdConv2dSame
    from timm.models.resnetv2 import ResNetV2, create_resnetv2_stem
    from timm.models.vision_transformer import VisionTransformer, _load_weights
except ImportError:
    sys.exit("timm not found: run with PYTHONPATH=<timm source> (e.g. /tmp/timm-src)")

torch.set_num_threads(1)

DIM, HEADS, LAYERS, MLP, CLASSES, BATCH = 48, 3, 2, 84, 7, 3
LABELS = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf"]
REGEN = "PYTHONPATH=/tmp/timm-src /usr/bin/python3 tools/make_hybrid_fixtures.py"
SPECS = [
    dict(name="r3", stages=(2, 1, 1), widths=(128, 128, 256), root=32, image=64, patch=1, seed=301, also=56),
    dict(name="root", stages=(), widths=(), root=32, image=48, patch=4, seed=302, also=None),
]


def build(s, image=None):
    """The hybrid as timm's _resnetv2 + _create_vision_transformer_hybrid build it, at another size."""
    conv = partial(StdConv2dSame, eps=1e-8)
    if s["stages"]:
        backbone = ResNetV2(layers=s["stages"], channels=s["widths"], stem_chs=s["root"], num_classes=0,
                            global_pool="", preact=False, stem_type="same", conv_layer=conv)
    else:
        backbone = create_resnetv2_stem(3, s["root"], stem_type="same", preact=False, conv_layer=conv)
    return VisionTransformer(img_size=image or s["image"], patch_size=s["patch"], num_classes=CLASSES,
                             embed_dim=DIM, depth=LAYERS, num_heads=HEADS, mlp_ratio=MLP / DIM,
                             embed_layer=partial(HybridEmbed, backbone=backbone)).eval()


def randomise(model, seed):
    """Every parameter seeded: conv kernels with a per-channel offset and scale (the standardisation must remove
    both), GroupNorm and LayerNorm gains 1 + noise, biases and tokens noisy, so a wrong mapping moves the outputs."""
    rng = np.random.Generator(np.random.PCG64(seed))
    sd = model.state_dict()
    for name in sorted(sd):
        shape = tuple(sd[name].shape)
        conv = name.startswith("patch_embed.backbone.") and name.endswith(".weight") and len(shape) == 4
        if conv:
            o = shape[0]
            offset, scale = rng.uniform(-1, 1, (o, 1, 1, 1)), rng.uniform(0.5, 2.0, (o, 1, 1, 1))
            v = scale * (rng.standard_normal(shape) + offset)
        elif name.endswith("norm1.weight") or name.endswith("norm2.weight") or name.endswith("norm3.weight") or \
                name.endswith("norm.weight"):
            v = 1.0 + 0.2 * rng.standard_normal(shape)
        elif name.endswith(".weight"):
            fan_in = math.prod(shape[1:])
            scale = 2.0 if name.endswith("qkv.weight") else 1.0  # attention far from uniform
            v = rng.standard_normal(shape) * scale / math.sqrt(fan_in)
        elif name in ("cls_token", "pos_embed"):
            v = 0.3 * rng.standard_normal(shape)
        else:
            v = 0.1 * rng.standard_normal(shape)
        sd[name] = torch.from_numpy(v.astype(np.float32))
    model.load_state_dict(sd)


def numpy_state(model):
    return {k: np.ascontiguousarray(v.detach().numpy().astype(np.float32)) for k, v in model.state_dict().items()}


# ---- the three publishers' names ------------------------------------------------------------------------------
def hwio(w):
    return np.ascontiguousarray(w.transpose(2, 3, 1, 0))


def to_google(s, sd):
    """timm's tensors in the names and Flax layout of Google's R50+ViT .npz files (vit_jax models_vit.py,
    models_resnet.py: conv_root, gn_root, block{n}/unit{m}/...; kernels HWIO, attention split per head)."""
    bb = "patch_embed.backbone." + ("stem." if s["stages"] else "")
    g = {"conv_root/kernel": hwio(sd[bb + "conv.weight"]), "gn_root/scale": sd[bb + "norm.weight"],
         "gn_root/bias": sd[bb + "norm.bias"]}
    for i, n in enumerate(s["stages"]):
        for j in range(n):
            t, p = f"patch_embed.backbone.stages.{i}.blocks.{j}.", f"block{i + 1}/unit{j + 1}/"
            for r in (1, 2, 3):
                g[p + f"conv{r}/kernel"] = hwio(sd[t + f"conv{r}.weight"])
                g[p + f"gn{r}/scale"], g[p + f"gn{r}/bias"] = sd[t + f"norm{r}.weight"], sd[t + f"norm{r}.bias"]
            if t + "downsample.conv.weight" in sd:
                g[p + "conv_proj/kernel"] = hwio(sd[t + "downsample.conv.weight"])
                g[p + "gn_proj/scale"] = sd[t + "downsample.norm.weight"]
                g[p + "gn_proj/bias"] = sd[t + "downsample.norm.bias"]
    g["embedding/kernel"], g["embedding/bias"] = hwio(sd["patch_embed.proj.weight"]), sd["patch_embed.proj.bias"]
    g.update(transformer_to_google(sd, DIM, HEADS, LAYERS))
    return {k: np.ascontiguousarray(v) for k, v in g.items()}


def to_hf(s, sd):
    """timm's tensors in ViTHybridForImageClassification's names: the table of transformers'
    models/vit_hybrid/convert_vit_hybrid_timm_to_pytorch.py (create_rename_keys, read_in_q_k_v)."""
    sd, D = dict(sd), DIM
    bit, e = "vit.embeddings.patch_embeddings.backbone.bit.", "vit.embeddings."
    ren = {"cls_token": e + "cls_token", "pos_embed": e + "position_embeddings",
           "patch_embed.proj.weight": e + "patch_embeddings.projection.weight",
           "patch_embed.proj.bias": e + "patch_embeddings.projection.bias",
           "patch_embed.backbone.stem.conv.weight": bit + "embedder.convolution.weight",
           "patch_embed.backbone.stem.norm.weight": bit + "embedder.norm.weight",
           "patch_embed.backbone.stem.norm.bias": bit + "embedder.norm.bias",
           "norm.weight": "vit.layernorm.weight", "norm.bias": "vit.layernorm.bias",
           "head.weight": "classifier.weight", "head.bias": "classifier.bias"}
    for i, n in enumerate(s["stages"]):
        for j in range(n):
            t, h = f"patch_embed.backbone.stages.{i}.blocks.{j}.", f"{bit}encoder.stages.{i}.layers.{j}."
            for m in ("conv1.weight", "norm1.weight", "norm1.bias", "conv2.weight", "norm2.weight", "norm2.bias",
                      "conv3.weight", "norm3.weight", "norm3.bias", "downsample.conv.weight",
                      "downsample.norm.weight", "downsample.norm.bias"):
                if t + m in sd:
                    ren[t + m] = h + m
    for i in range(LAYERS):
        t, h = f"blocks.{i}.", f"vit.encoder.layer.{i}."
        for a, b in (("norm1", "layernorm_before"), ("attn.proj", "attention.output.dense"),
                     ("norm2", "layernorm_after"), ("mlp.fc1", "intermediate.dense"), ("mlp.fc2", "output.dense")):
            for wb in ("weight", "bias"):
                ren[f"{t}{a}.{wb}"] = f"{h}{b}.{wb}"
    out = {new: sd.pop(old) for old, new in ren.items()}
    for i in range(LAYERS):
        w, b = sd.pop(f"blocks.{i}.attn.qkv.weight"), sd.pop(f"blocks.{i}.attn.qkv.bias")
        for j, n in enumerate(("query", "key", "value")):
            a = f"vit.encoder.layer.{i}.attention.attention.{n}."
            out[a + "weight"], out[a + "bias"] = w[j * D:(j + 1) * D], b[j * D:(j + 1) * D]
    assert not sd, f"timm tensors without an HF name: {sorted(sd)}"
    return out


def timm_config(s):
    cfg = {"architecture": f"vit_fixture_{s['name']}_p{s['patch']}_{s['image']}", "num_classes": CLASSES,
           "num_features": DIM, "global_pool": "token", "label_names": LABELS,
           "model_args": {"img_size": s["image"], "patch_size": s["patch"], "embed_dim": DIM, "depth": LAYERS,
                          "num_heads": HEADS, "mlp_ratio": MLP / DIM, "num_classes": CLASSES},
           "pretrained_cfg": {"input_size": [3, s["image"], s["image"]], "interpolation": "bicubic",
                              "crop_pct": 1.0, "crop_mode": "center", "mean": [0.5, 0.5, 0.5],
                              "std": [0.5, 0.5, 0.5], "num_classes": CLASSES,
                              "first_conv": "patch_embed.backbone.stem.conv", "classifier": "head",
                              "fixed_input_size": True}}
    return json.dumps(cfg, indent=2) + "\n"


def hf_config(s):
    """config.json as ViTHybridConfig.save_pretrained writes it (to_json_string: sorted keys, indent 2): its own
    fields, layer_norm_eps as timm's (HF's default is 1e-12; timm's 1e-6 is what these weights were run with), and
    backbone_config the BitConfig of convert_vit_hybrid_timm_to_pytorch.py (global_padding "same", which BitConfig
    upper-cases, layer_type "bottleneck", out_features the last stage, embedding_dynamic_padding) at this model's
    sizes, with the fields BitConfig derives (stage_names, out_indices). PretrainedConfig's generic keys
    (generation defaults, torch_dtype, transformers_version) are left out: vkvit reads none of them."""
    n = len(s["stages"])
    grid = s["image"] // 16 if s["stages"] else s["image"] // 4
    bit = {"depths": list(s["stages"]), "drop_path_rate": 0.0, "embedding_dynamic_padding": True,
           "embedding_size": s["root"], "global_padding": "SAME", "hidden_act": "relu",
           "hidden_sizes": list(s["widths"]), "layer_type": "bottleneck", "model_type": "bit", "num_channels": 3,
           "num_groups": 32, "out_features": [f"stage{n}"], "out_indices": [n], "output_stride": 32,
           "stage_names": ["stem"] + [f"stage{i + 1}" for i in range(n)], "width_factor": 1}
    cfg = {"architectures": ["ViTHybridForImageClassification"], "attention_probs_dropout_prob": 0.0,
           "backbone_config": bit, "backbone_featmap_shape": [1, s["widths"][-1], grid, grid],
           "hidden_act": "gelu", "hidden_dropout_prob": 0.0, "hidden_size": DIM,
           "id2label": {str(i): n for i, n in enumerate(LABELS)}, "image_size": s["image"],
           "initializer_range": 0.02, "intermediate_size": MLP, "label2id": {n: i for i, n in enumerate(LABELS)},
           "layer_norm_eps": 1e-6, "model_type": "vit-hybrid", "num_attention_heads": HEADS, "num_channels": 3,
           "num_hidden_layers": LAYERS, "patch_size": s["patch"], "qkv_bias": True}
    return json.dumps(cfg, indent=2, sort_keys=True) + "\n"


def prove_google(s, model, path, arrays):
    """timm's loader for Google's checkpoints must rebuild the model exactly from the file."""
    loaded = np.load(path)
    assert sorted(loaded.files) == sorted(arrays), "np.load sees other members than written"
    torch.manual_seed(s["seed"] + 1)
    fresh = build(s)   # timm's own initialisation: differs from the random weights everywhere
    _load_weights(fresh, str(path))
    want, got = model.state_dict(), fresh.state_dict()
    assert want.keys() == got.keys()
    for k in want:
        assert torch.equal(want[k], got[k]), f"timm's _load_weights gives another {k}: the layout is wrong"
    return len(want)


# ---- what timm computes -------------------------------------------------------------------------------------------
def run(s, model, x, dtype, image=None):
    """logits, pre-head embedding, class-token attention [L, B, T], stem features NHWC, from timm's modules."""
    m = build(s, image).to(dtype)
    m.load_state_dict({k: v.to(dtype) for k, v in model.state_dict().items()})
    maps, feats = [], []
    hooks = [b.attn.attn_drop.register_forward_hook(lambda mod, inp, out: maps.append(inp[0][:, :, 0, :].mean(1)))
             for b in m.blocks]
    hooks.append(m.patch_embed.backbone.register_forward_hook(lambda mod, inp, out: feats.append(out)))
    with torch.no_grad():
        xt = torch.from_numpy(x).to(dtype)
        tokens = m.forward_features(xt)
        emb = m.forward_head(tokens, pre_logits=True)
        logits = m.forward_head(tokens)
        assert torch.equal(logits, m(xt)), "forward_head(forward_features) is not model(x)"
    for h in hooks:
        h.remove()
    assert len(maps) == 2 * LAYERS and len(feats) == 2
    return logits, emb, torch.stack(maps[:LAYERS]), feats[0].permute(0, 2, 3, 1)


def standardised_root(model, x):
    """The root conv's weight as timm's StdConv2dSame hands it to conv2d (captured, not recomputed)."""
    seen = []
    real = torch.nn.functional.conv2d

    def spy(inp, weight, *args, **kw):
        seen.append(weight.detach().clone())
        return real(inp, weight, *args, **kw)
    torch.nn.functional.conv2d = spy
    try:
        with torch.no_grad():
            model.patch_embed.backbone(torch.from_numpy(x[:1]))
    finally:
        torch.nn.functional.conv2d = real
    return seen[0].numpy()


def google_standardise(w):
    """vit_jax models_resnet.weight_standardize(w, axis=[0, 1, 2], eps=1e-5) on the HWIO kernel, i.e. over
    (C, kh, kw) of each output channel here; jnp.std is the biased (ddof 0) deviation."""
    w = w.astype(np.float64)
    w = w - w.mean(axis=(1, 2, 3), keepdims=True)
    return (w / (w.std(axis=(1, 2, 3), keepdims=True) + 1e-5)).astype(np.float32)


def make_input(s, image, seed):
    rng = np.random.Generator(np.random.PCG64(seed))
    x = rng.uniform(-1.0, 1.0, (BATCH, 3, image, image))    # pixels already normalised to [-1, 1]
    ramp = np.linspace(-1.0, 1.0, image)
    x[1] = 0.7 * x[1] + 0.3 * ramp[None, :, None]
    x[2] = np.clip(0.5 * x[2] + 0.5 * ramp[None, None, :], -1.0, 1.0)
    return x.astype(np.float32)


def expected(s, model, image, seed):
    x = make_input(s, image, seed)
    logits, emb, att, feats = run(s, model, x, torch.float64, image)
    l32, e32, a32, f32 = run(s, model, x, torch.float32, image)
    b1 = run(s, model, x[:1], torch.float64, image)[0]
    res = {"fp32 logits": check_close("fp32 vs fp64 logits", l32, logits, 1e-4),
           "fp32 embedding": check_close("fp32 vs fp64 embedding", e32, emb, 1e-4),
           "fp32 features": check_close("fp32 vs fp64 features", f32, feats, 1e-4)}
    check_close("batch 1 vs row 0 of batch 3", b1, logits[:1], 1e-12)
    t = {"input": store(x, "F32"), "logits": store(logits.numpy(), "F32"), "embedding": store(emb.numpy(), "F32"),
         "cls_attention": store(att.numpy(), "F32"), "features": store(feats.contiguous().numpy(), "F32"),
         "logits_b1": store(b1.numpy(), "F32")}
    return x, logits, t, res


def generate(out):
    notes = []
    for s in SPECS:
        d = out / "hybrid" / s["name"]
        for sub in ("timm", "google") + (("hf",) if s["stages"] else ()):
            (d / sub).mkdir(parents=True, exist_ok=True)
        torch.manual_seed(s["seed"])
        model = build(s)
        randomise(model, s["seed"])
        sd = numpy_state(model)
        write_safetensors(d / "timm" / "model.safetensors", {k: store(v, "F32") for k, v in sorted(sd.items())},
                          {"format": "pt"})
        (d / "timm" / "config.json").write_text(timm_config(s))
        google = to_google(s, sd)
        npz = d / "google" / f"{s['name']}.npz"
        write_npz(npz, google)
        n_tensors = prove_google(s, model, npz, google)
        (d / "google" / "labels.txt").write_text("\n".join(LABELS) + "\n")
        if s["stages"]:
            hf = to_hf(s, sd)
            write_safetensors(d / "hf" / "model.safetensors", {k: store(v, "F32") for k, v in sorted(hf.items())},
                              {"format": "pt"})
            (d / "hf" / "config.json").write_text(hf_config(s))

        x, logits, t, res = expected(s, model, s["image"], s["seed"] + 1000)
        root = "patch_embed.backbone." + ("stem." if s["stages"] else "") + "conv.weight"
        ws_timm, ws_google = standardised_root(model, x), google_standardise(sd[root])
        t["ws_timm"], t["ws_google"] = store(ws_timm, "F32"), store(ws_google, "F32")
        gap = check_close("Google's vs timm's standardisation", ws_google, ws_timm, 1e-4)
        write_safetensors(d / "expected.safetensors", t, {"format": "pt"})
        note = dict(s, tensors=len(sd), google=len(google), n_tensors=n_tensors, logits=logits, res=res, gap=gap,
                    tokens=int(model.pos_embed.shape[1]), grid=model.patch_embed.grid_size[0],
                    feat=model.patch_embed.feature_size[0], feat_dim=model.patch_embed.feature_dim)
        if s["also"]:
            _, la, ta, ra = expected(s, model, s["also"], s["seed"] + 2000)
            write_safetensors(d / f"expected-{s['also']}.safetensors", ta, {"format": "pt"})
            note.update(also_res=ra, also_logits=la)
        notes.append(note)
        print(f"{s['name']}: {len(sd)} timm tensors, {len(google)} Google arrays (timm _load_weights rebuilt all "
              f"{n_tensors} exactly); {note['tokens']} tokens; logits std {float(logits.std()):.2f}, top-1 "
              f"{logits.argmax(1).tolist()}; " + ", ".join(f"{k} {v:.1e}" for k, v in res.items())
              + f"; Google vs timm standardised root conv {gap:.1e}")
    (out / "hybrid" / "README.md").write_text(readme(notes))


def readme(notes):
    lines = ["# `hybrid`: tiny ResNet + ViT hybrids in timm, Google and Hugging Face layouts (generated)", "",
             f"Written by `tools/make_hybrid_fixtures.py`; do not edit by hand (its docstring says what each file "
             f"holds). Regenerate with `{REGEN}` (`--check` regenerates into a temporary folder and compares byte "
             f"for byte). Generated with torch {torch.__version__}, timm {timm.__version__}, numpy "
             f"{np.__version__}.", "",
             "| fixture | ResNet | image | features | grid, tokens | layouts | timm tensors | Google arrays |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for n in notes:
        resnet = (f"root {n['root']}, stages {list(n['stages'])}, widths {list(n['widths'])}" if n["stages"]
                  else f"root {n['root']} only")
        lines.append(f"| `{n['name']}` | {resnet} | {n['image']} | {n['feat']}x{n['feat']}x{n['feat_dim']}, "
                     f"patch {n['patch']} | {n['grid']}x{n['grid']}, {n['tokens']} | timm, Google"
                     f"{', HF' if n['stages'] else ''} | {n['tensors']} | {n['google']} |")
    lines += ["", "Each `google/*.npz` is proven, not assumed: timm's `vision_transformer._load_weights` reads it into "
              "a freshly initialised model and every tensor equals the original's bit for bit. The HF names follow "
              "transformers' `convert_vit_hybrid_timm_to_pytorch.py` (not loaded: transformers is not installed).", ""]
    for n in notes:
        lines.append(f"`{n['name']}`: top-1 {n['logits'].argmax(1).tolist()}, logit std {float(n['logits'].std()):.2f};"
                     " timm float32 vs float64 (relative L2): "
                     + ", ".join(f"{k} {v:.1e}" for k, v in n["res"].items())
                     + f"; the root conv standardised as vit_jax does vs as timm does: {n['gap']:.1e}.")
        if "also_res" in n:
            lines.append(f"At {n['also']}x{n['also']}: top-1 {n['also_logits'].argmax(1).tolist()}; "
                         + ", ".join(f"{k} {v:.1e}" for k, v in n["also_res"].items()) + ".")
        lines.append("")
    return "\n".join(lines)


def main():
    return cli(__doc__.split("\n")[0], generate, ROOT / "tests" / "data")


if __name__ == "__main__":
    sys.exit(main())
