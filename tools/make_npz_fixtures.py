#!/usr/bin/python3
"""Write the Google .npz checkpoint fixture under tests/data/google-vit/ (committed; CI never runs PyTorch).

Run with Debian's PyTorch and timm's source:
    PYTHONPATH=/tmp/timm-src /usr/bin/python3 tools/make_npz_fixtures.py [--out DIR] [--check]

It builds a tiny timm VisionTransformer (hidden 48, 3 heads of 16, 2 blocks, MLP 84, patch 8, 40x40 images: a
5x5 grid, 26 tokens, 7 classes; LayerNorm eps 1e-6, exact GELU, as Google's ViT) with seeded random weights and
writes tests/data/google-vit/:
  ViT-tiny_8.npz        its weights in the layout google-research/vision_transformer publishes (ViT-B_16.npz, ...):
                        Flax names ("Transformer/encoderblock_0/MultiHeadDotProductAttention_1/query/kernel"),
                        kernels [in, out], attention split per head ([D, H, dh], [H, dh], out [H, dh, D]), the patch
                        kernel HWIO [P, P, C, D]; a zip of .npy members written as numpy.savez writes it (stored,
                        zip64 extra fields), with a fixed timestamp so that the file is reproducible
  labels.txt            7 class names (an .npz carries none; vkvit reads labels.txt beside it)
  expected.safetensors  input [3, 3, 40, 40] (already normalised), logits [3, 7], embedding [3, 48] (timm's
                        forward_head(pre_logits=True): the final-LayerNorm class token), cls_attention [2, 3, 26]
                        (each block's class-token attention row, averaged over heads), all fp32
  README.md             this, with the measured numbers
and tests/data/google-prelogits/, a model with the pre-logits layer of Google's ImageNet-21k releases
(imagenet21k/ViT-B_16.npz: pre_logits/kernel [D, R] and bias, a Dense + tanh between the final LayerNorm and the
head), made from torchvision's VisionTransformer(representation_size=R) (heads.pre_logits + Tanh + heads.head;
hidden 60, 5 heads of 12, 2 blocks, MLP 100, patch 6, 42x42 images: a 7x7 grid, 50 tokens, R 37, 11 classes):
  ViT-pre_6.npz         its weights in Google's names and layout, as above, plus pre_logits/{kernel,bias}
  labels.txt            11 class names
  expected.safetensors  input [3, 3, 42, 42], logits [3, 11], embedding [3, 37] (the pre-logits
                        tanh(heads.pre_logits(class token))), cls_attention [2, 3, 50], from torchvision's modules in
                        float64 (tools/make_fixtures.py's run_torchvision)
  README.md             the same, with its numbers
Its layout is proven as far as timm still reads it: timm's _load_weights rebuilds every tensor of the transformer
bit for bit (a timm model with num_classes=0, since timm dropped the representation layer and reads no head of
another width), and the pre-logits and head kernels are read as timm's loader read them before (its
commented-out lines: weight = kernel.T, `_n2p`); timm's blocks so loaded, then those two layers, must give
torchvision's logits to 1e-10.

Where the numbers come from: the .npz is loaded back with timm's own loader for Google's checkpoints
(timm.models.vision_transformer._load_weights) into a freshly initialised model, and every tensor of that model
must equal the original's bit for bit, so the file is in the layout timm reads Google's files in (the script stops
otherwise). That loaded model computes the expected outputs in float64 (stored rounded to fp32); its attention
probabilities are captured at its attn_drop module (timm's non-fused attention path, the only one on torch 1.13).

Deterministic: numpy PCG64 with a fixed seed, torch on one thread; --check regenerates into a temporary folder and
compares byte for byte.
"""
import math
import sys
import zipfile
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_fixtures import ROOT, check_close, cli, run_torchvision, store, write_safetensors  # noqa: E402
from torchvision.models.vision_transformer import VisionTransformer as TorchvisionViT  # noqa: E402

try:
    import timm
    from timm.models.vision_transformer import VisionTransformer, _load_weights
except ImportError:
    sys.exit("timm not found: run with PYTHONPATH=<timm source> (e.g. /tmp/timm-src)")

torch.set_num_threads(1)

NAME = "google-vit"
FILE = "ViT-tiny_8.npz"
DIM, HEADS, LAYERS, MLP, PATCH, IMAGE, CLASSES, CHANNELS = 48, 3, 2, 84, 8, 40, 7, 3
BATCH, SEED = 3, 201
LABELS = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf"]
REGEN = "PYTHONPATH=/tmp/timm-src /usr/bin/python3 tools/make_npz_fixtures.py"


def build_model():
    return VisionTransformer(img_size=IMAGE, patch_size=PATCH, in_chans=CHANNELS, num_classes=CLASSES,
                             embed_dim=DIM, depth=LAYERS, num_heads=HEADS, mlp_ratio=MLP / DIM)


def randomise(model):
    """Every parameter seeded and well scaled: LayerNorm gains 1 + noise, biases and tokens noisy, so that a wrong
    mapping of any tensor moves the outputs."""
    randomise_with(model, SEED, lambda n: n.endswith(("norm1.weight", "norm2.weight")) or n == "norm.weight",
                   lambda n: 2.0 if n.endswith("qkv.weight") else 1.0,  # attention far from uniform
                   lambda n: n in ("cls_token", "pos_embed"))


def randomise_with(model, seed, is_gain, weight_scale, is_token):
    """Seeded values for every tensor in name order: LayerNorm gains (is_gain) 1 + N(0, 0.1^2), other weights
    N(0, weight_scale^2 / fan_in), tokens (is_token) N(0, 0.3^2), biases N(0, 0.05^2)."""
    rng = np.random.Generator(np.random.PCG64(seed))
    sd = model.state_dict()
    for name in sorted(sd):
        shape = tuple(sd[name].shape)
        if is_gain(name):
            v = 1.0 + 0.1 * rng.standard_normal(shape)
        elif name.endswith("weight"):
            v = rng.standard_normal(shape) * weight_scale(name) / math.sqrt(math.prod(shape[1:]))
        elif is_token(name):
            v = 0.3 * rng.standard_normal(shape)
        else:
            v = 0.05 * rng.standard_normal(shape)
        sd[name] = torch.from_numpy(v.astype(np.float32))
    model.load_state_dict(sd)


def to_google(model):
    """timm's tensors in Google's Flax layout and names (google-research/vision_transformer checkpoints)."""
    sd = {k: v.detach().numpy().astype(np.float32) for k, v in model.state_dict().items()}
    g = {"embedding/kernel": sd["patch_embed.proj.weight"].transpose(2, 3, 1, 0),   # [D,C,P,P] -> HWIO
         "embedding/bias": sd["patch_embed.proj.bias"]}
    g.update(transformer_to_google(sd, DIM, HEADS, LAYERS))
    return {k: np.ascontiguousarray(v) for k, v in g.items()}


def transformer_to_google(sd, D, H, layers):
    """The class token, position embedding, blocks, final norm and head of timm's state dict `sd` (numpy) in
    Google's names and Flax layout (kernels [in, out], attention split per head)."""
    dh = D // H
    g = {"cls": sd["cls_token"],                                                       # [1, 1, D]
         "Transformer/posembed_input/pos_embedding": sd["pos_embed"]}                 # [1, T, D]
    for i in range(layers):
        b, p = f"Transformer/encoderblock_{i}/", f"blocks.{i}."
        g[b + "LayerNorm_0/scale"], g[b + "LayerNorm_0/bias"] = sd[p + "norm1.weight"], sd[p + "norm1.bias"]
        qkv_w, qkv_b = sd[p + "attn.qkv.weight"], sd[p + "attn.qkv.bias"]
        for j, n in enumerate(("query", "key", "value")):
            m = b + "MultiHeadDotProductAttention_1/" + n
            g[m + "/kernel"] = qkv_w[j * D:(j + 1) * D].T.reshape(D, H, dh)
            g[m + "/bias"] = qkv_b[j * D:(j + 1) * D].reshape(H, dh)
        g[b + "MultiHeadDotProductAttention_1/out/kernel"] = sd[p + "attn.proj.weight"].T.reshape(H, dh, D)
        g[b + "MultiHeadDotProductAttention_1/out/bias"] = sd[p + "attn.proj.bias"]
        g[b + "LayerNorm_2/scale"], g[b + "LayerNorm_2/bias"] = sd[p + "norm2.weight"], sd[p + "norm2.bias"]
        for r in range(2):
            g[b + f"MlpBlock_3/Dense_{r}/kernel"] = sd[p + f"mlp.fc{r + 1}.weight"].T
            g[b + f"MlpBlock_3/Dense_{r}/bias"] = sd[p + f"mlp.fc{r + 1}.bias"]
    g["Transformer/encoder_norm/scale"], g["Transformer/encoder_norm/bias"] = sd["norm.weight"], sd["norm.bias"]
    g["head/kernel"], g["head/bias"] = sd["head.weight"].T, sd["head.bias"]
    return g


def write_npz(path, arrays):
    """numpy.savez's bytes (stored members, force_zip64, format.write_array) with a fixed timestamp."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as z:
        for key, val in arrays.items():
            info = zipfile.ZipInfo(key + ".npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_STORED
            with z.open(info, "w", force_zip64=True) as fid:
                np.lib.format.write_array(fid, np.asanyarray(val), allow_pickle=False)


def prove_layout(model, path, arrays):
    """timm's Google loader on the file must rebuild the model exactly; returns the loaded model."""
    loaded = np.load(path)
    assert sorted(loaded.files) == sorted(arrays), "np.load sees other members than written"
    for k in arrays:
        assert loaded[k].dtype == np.float32 and np.array_equal(loaded[k], arrays[k]), k
    torch.manual_seed(SEED + 1)
    fresh = build_model()   # timm's own initialisation: differs from the random weights everywhere
    _load_weights(fresh, str(path))
    want, got = model.state_dict(), fresh.state_dict()
    assert want.keys() == got.keys()
    for k in want:
        assert torch.equal(want[k], got[k]), f"timm's _load_weights gives another {k}: the layout is wrong"
    return fresh, len(want)


def run(model, x, dtype):
    """logits, pre-head embedding, class-token attention [L, B, T] from timm's modules."""
    m = build_model().to(dtype)
    m.load_state_dict({k: v.to(dtype) for k, v in model.state_dict().items()})
    m.eval()
    maps = []
    hooks = [b.attn.attn_drop.register_forward_hook(lambda mod, inp, out: maps.append(inp[0][:, :, 0, :].mean(1)))
             for b in m.blocks]
    with torch.no_grad():
        xt = torch.from_numpy(x).to(dtype)
        feats = m.forward_features(xt)
        emb = m.forward_head(feats, pre_logits=True)
        logits = m.forward_head(feats)
        assert torch.equal(logits, m(xt)), "forward_head(forward_features) is not model(x)"
    for h in hooks:
        h.remove()
    assert len(maps) == 2 * LAYERS  # two passes: forward_features + model(x)
    return logits, emb, torch.stack(maps[:LAYERS])


def generate(out):
    d = out / NAME
    d.mkdir(parents=True, exist_ok=True)
    model = build_model().eval()
    randomise(model)
    arrays = to_google(model)
    write_npz(d / FILE, arrays)
    loaded, n_tensors = prove_layout(model, d / FILE, arrays)

    rng = np.random.Generator(np.random.PCG64(SEED + 1000))
    x = rng.uniform(-1.0, 1.0, (BATCH, CHANNELS, IMAGE, IMAGE))    # pixels already in Google's [-1, 1]
    ramp = np.linspace(-1.0, 1.0, IMAGE)
    x[1] = 0.7 * x[1] + 0.3 * ramp[None, :, None]
    x[2] = np.clip(0.5 * x[2] + 0.5 * ramp[None, None, :], -1.0, 1.0)
    x = x.astype(np.float32)
    logits, emb, att = run(loaded, x, torch.float64)
    l32, e32, a32 = run(loaded, x, torch.float32)
    res = {"fp32 logits": check_close("fp32 vs fp64 logits", l32, logits, 1e-5),
           "fp32 embedding": check_close("fp32 vs fp64 embedding", e32, emb, 1e-5),
           "fp32 attention": check_close("fp32 vs fp64 attention", a32, att, 1e-5)}
    write_safetensors(d / "expected.safetensors",
                      {"input": store(x, "F32"), "logits": store(logits.numpy(), "F32"),
                       "embedding": store(emb.numpy(), "F32"), "cls_attention": store(att.numpy(), "F32")},
                      {"format": "pt"})
    (d / "labels.txt").write_text("\n".join(LABELS) + "\n")
    (d / "README.md").write_text(readme(arrays, n_tensors, logits, res, (d / FILE).stat().st_size))
    print(f"{NAME}: {len(arrays)} arrays, {(d / FILE).stat().st_size} B; timm _load_weights rebuilt all {n_tensors} "
          f"tensors exactly; logits std {float(logits.std()):.2f}, top-1 {logits.argmax(1).tolist()}; "
          + ", ".join(f"{k} {v:.1e}" for k, v in res.items()))


# ---- the pre-logits model: torchvision's representation_size, written in Google's layout --------------------------
PRE = {"name": "google-prelogits", "file": "ViT-pre_6.npz", "dim": 60, "heads": 5, "layers": 2, "mlp": 100,
       "patch": 6, "image": 42, "rep": 37, "classes": 11, "seed": 207}
PRE_LABELS = ["ant", "bee", "cat", "dog", "eel", "fox", "gnu", "hen", "ibis", "jay", "koi"]


def build_prelogits():
    s = PRE
    return TorchvisionViT(image_size=s["image"], patch_size=s["patch"], num_layers=s["layers"], num_heads=s["heads"],
                          hidden_dim=s["dim"], mlp_dim=s["mlp"], num_classes=s["classes"],
                          representation_size=s["rep"])   # LayerNorm eps 1e-6, exact GELU: Google's ViT


def randomise_prelogits(model):
    """As randomise, for torchvision's names; the pre-logits layer a little larger, so that tanh bends."""
    randomise_with(model, PRE["seed"], lambda n: (".ln_" in n or n.startswith("encoder.ln.")) and n.endswith("weight"),
                   lambda n: 2.0 if n.endswith("in_proj_weight") else 1.5 if "pre_logits" in n else 1.0,
                   lambda n: n in ("class_token", "encoder.pos_embedding"))


def torchvision_as_timm(t):
    """torchvision's ViT tensors `t` (numpy or torch) under timm's names: its attention's in_proj is timm's fused
    qkv, mlp.0 / mlp.3 its fc1 / fc2; the heads left out."""
    sd = {"cls_token": t["class_token"], "pos_embed": t["encoder.pos_embedding"],
          "patch_embed.proj.weight": t["conv_proj.weight"], "patch_embed.proj.bias": t["conv_proj.bias"],
          "norm.weight": t["encoder.ln.weight"], "norm.bias": t["encoder.ln.bias"]}
    for i in range(PRE["layers"]):
        a, b = f"encoder.layers.encoder_layer_{i}.", f"blocks.{i}."
        for tv, tm in (("ln_1.{}", "norm1.{}"), ("self_attention.in_proj_{}", "attn.qkv.{}"),
                       ("self_attention.out_proj.{}", "attn.proj.{}"), ("ln_2.{}", "norm2.{}"),
                       ("mlp.0.{}", "mlp.fc1.{}"), ("mlp.3.{}", "mlp.fc2.{}")):
            for wb in ("weight", "bias"):
                sd[b + tm.format(wb)] = t[a + tv.format(wb)]
    return sd


def torchvision_to_google(model):
    """torchvision's tensors in Google's names: through timm's names, then to_google's mapping; the pre-logits
    kernel [D, R] = heads.pre_logits.weight.T and the head's [R, K], as Flax stores every Dense kernel."""
    t = {k: v.detach().numpy().astype(np.float32) for k, v in model.state_dict().items()}
    sd = torchvision_as_timm(t)
    sd["head.weight"], sd["head.bias"] = t["heads.head.weight"], t["heads.head.bias"]
    g = {"embedding/kernel": sd["patch_embed.proj.weight"].transpose(2, 3, 1, 0),
         "embedding/bias": sd["patch_embed.proj.bias"]}
    g.update(transformer_to_google(sd, PRE["dim"], PRE["heads"], PRE["layers"]))
    g["pre_logits/kernel"], g["pre_logits/bias"] = t["heads.pre_logits.weight"].T, t["heads.pre_logits.bias"]
    assert len(sd) + 2 == len(t), f"{len(t)} torchvision tensors, {len(sd) + 2} mapped"  # + the pre-logits layer
    return {k: np.ascontiguousarray(v) for k, v in g.items()}


def prove_prelogits(model, path, arrays, x):
    """timm's loader reads the transformer back exactly; the pre-logits and head as its older lines did; that
    model's float64 logits must be torchvision's. Returns the number of timm tensors compared."""
    s = PRE
    loaded = np.load(path)
    assert sorted(loaded.files) == sorted(arrays), "np.load sees other members than written"
    torch.manual_seed(s["seed"] + 1)
    vit = VisionTransformer(img_size=s["image"], patch_size=s["patch"], embed_dim=s["dim"], depth=s["layers"],
                            num_heads=s["heads"], mlp_ratio=s["mlp"] / s["dim"], num_classes=0)
    assert vit.blocks[0].mlp.fc1.out_features == s["mlp"]
    _load_weights(vit, str(path))
    t = model.state_dict()
    want = torchvision_as_timm(t)
    got = vit.state_dict()
    assert want.keys() == got.keys(), sorted(set(want) ^ set(got))
    for k in want:
        assert torch.equal(want[k], got[k]), f"timm's _load_weights gives another {k}: the layout is wrong"
    pre_w, pre_b = (torch.from_numpy(loaded["pre_logits/kernel"]).T, torch.from_numpy(loaded["pre_logits/bias"]))
    head_w, head_b = torch.from_numpy(loaded["head/kernel"]).T, torch.from_numpy(loaded["head/bias"])
    for got_t, name in ((pre_w, "pre_logits.weight"), (pre_b, "pre_logits.bias"), (head_w, "head.weight"),
                        (head_b, "head.bias")):
        assert torch.equal(got_t, t["heads." + name]), f"the .npz's {name} is not torchvision's"
    vit = vit.double().eval()
    with torch.no_grad():
        xt = torch.from_numpy(x).double()
        cls = vit.forward_head(vit.forward_features(xt), pre_logits=True)
        pre = torch.tanh(torch.nn.functional.linear(cls, pre_w.double(), pre_b.double()))
        logits = torch.nn.functional.linear(pre, head_w.double(), head_b.double())
    return len(want), logits, pre


def generate_prelogits(out):
    s = PRE
    d = out / s["name"]
    d.mkdir(parents=True, exist_ok=True)
    model = build_prelogits().eval()
    randomise_prelogits(model)
    arrays = torchvision_to_google(model)
    write_npz(d / s["file"], arrays)

    rng = np.random.Generator(np.random.PCG64(s["seed"] + 1000))
    x = rng.uniform(-1.0, 1.0, (BATCH, CHANNELS, s["image"], s["image"]))
    ramp = np.linspace(-1.0, 1.0, s["image"])
    x[1] = 0.7 * x[1] + 0.3 * ramp[None, :, None]
    x[2] = np.clip(0.5 * x[2] + 0.5 * ramp[None, None, :], -1.0, 1.0)
    x = x.astype(np.float32)
    logits, emb, att = run_torchvision(model, None, x, torch.float64)
    n_tensors, timm_logits, timm_pre = prove_prelogits(model, d / s["file"], arrays, x)
    res = {"timm (loaded from the .npz) logits": check_close("timm vs torchvision logits", timm_logits, logits, 1e-10),
           "pre-logits": check_close("timm vs torchvision pre-logits", timm_pre, emb, 1e-10)}
    m32 = build_prelogits().eval()
    m32.load_state_dict(model.state_dict())
    l32, e32, _ = run_torchvision(m32, None, x, torch.float32)
    res["fp32 logits"] = check_close("fp32 vs fp64 logits", l32, logits, 1e-5)
    res["fp32 pre-logits"] = check_close("fp32 vs fp64 pre-logits", e32, emb, 1e-5)
    write_safetensors(d / "expected.safetensors",
                      {"input": store(x, "F32"), "logits": store(logits.numpy(), "F32"),
                       "embedding": store(emb.numpy(), "F32"), "cls_attention": store(att.numpy(), "F32")},
                      {"format": "pt"})
    (d / "labels.txt").write_text("\n".join(PRE_LABELS) + "\n")
    size = (d / s["file"]).stat().st_size
    grid = s["image"] // s["patch"]
    text = [f"# `{s['name']}`: a Google ViT .npz with a pre-logits layer (generated)", "",
            f"Written by `tools/make_npz_fixtures.py`; do not edit by hand. Regenerate with `{REGEN}`.", "",
            f"`{s['file']}` ({size} bytes): torchvision's `VisionTransformer(representation_size={s['rep']})` "
            f"(hidden {s['dim']}, {s['heads']} heads of {s['dim'] // s['heads']}, {s['layers']} blocks, MLP "
            f"{s['mlp']}, patch {s['patch']}, {s['image']}x{s['image']} images: {grid}x{grid} grid, "
            f"{grid * grid + 1} tokens, {s['classes']} classes; heads = pre_logits (Linear {s['dim']} -> {s['rep']}) "
            "+ Tanh + head) with seeded random weights, in the layout of Google's ImageNet-21k releases: the "
            f"transformer as in `google-vit`, plus `pre_logits/kernel` [{s['dim']}, {s['rep']}] and "
            f"`pre_logits/bias` [{s['rep']}], and `head/kernel` [{s['rep']}, {s['classes']}].", "",
            f"Proven: timm's `_load_weights` rebuilds all {n_tensors} tensors of a timm ViT (num_classes=0) from the "
            "file bit for bit; the pre-logits and head kernels read as timm's loader did before it dropped the layer "
            "(weight = kernel.T) equal torchvision's; and timm's blocks so loaded followed by those two layers give "
            "torchvision's outputs (relative L2): "
            + ", ".join(f"{k} {v:.1e}" for k, v in res.items()) + ".", "",
            "`expected.safetensors` (torchvision's modules in float64, stored fp32): `input` [3, 3, 42, 42] (already "
            f"in [-1, 1]), `logits` [3, {s['classes']}], `embedding` [3, {s['rep']}] (the pre-logits), "
            f"`cls_attention` [{s['layers']}, 3, {grid * grid + 1}].", "",
            f"Top-1 of the three inputs: {logits.argmax(1).tolist()}; logit std {float(logits.std()):.2f}.", ""]
    (d / "README.md").write_text("\n".join(text))
    print(f"{s['name']}: {len(arrays)} arrays, {size} B; timm rebuilt {n_tensors} tensors exactly; "
          + ", ".join(f"{k} {v:.1e}" for k, v in res.items()))


def readme(arrays, n_tensors, logits, res, size):
    lines = [f"# `{NAME}`: a Google ViT .npz (generated)", "",
             f"Written by `tools/make_npz_fixtures.py`; do not edit by hand. Regenerate with `{REGEN}`",
             f"(`--check` regenerates into a temporary folder and compares byte for byte). Generated with torch "
             f"{torch.__version__}, timm {timm.__version__}, numpy {np.__version__}.", "",
             f"`{FILE}` ({size} bytes): a timm `VisionTransformer` with seeded random weights (hidden {DIM}, "
             f"{HEADS} heads of {DIM // HEADS}, {LAYERS} blocks, MLP {MLP}, patch {PATCH}, {IMAGE}x{IMAGE} images: "
             f"{(IMAGE // PATCH) ** 2 + 1} tokens, {CLASSES} classes, LayerNorm eps 1e-6, exact GELU), written in the "
             "layout of google-research/vision_transformer's checkpoints as `numpy.savez` writes them (stored zip "
             "members, zip64 extra fields; a fixed timestamp). No config file: every dimension is in the shapes.", "",
             f"The layout is proven, not assumed: timm's own loader for these files "
             f"(`timm.models.vision_transformer._load_weights`) reads `{FILE}` into a freshly initialised model, and "
             f"all {n_tensors} of its tensors equal the original's bit for bit. That model computes `expected."
             "safetensors` in float64 (stored as fp32): `input` [3, 3, 40, 40] (already in [-1, 1]), `logits` "
             "[3, 7], `embedding` [3, 48] (`forward_head(pre_logits=True)`: the final-LayerNorm class token), "
             "`cls_attention` [2, 3, 26] (each block's class-token attention row, averaged over heads, from timm's "
             "`attn_drop` input).", "",
             "| array | shape |", "| --- | --- |"]
    for k, v in arrays.items():
        if "encoderblock_" in k and not k.startswith("Transformer/encoderblock_0/"):
            continue
        lines.append(f"| `{k}` | {list(v.shape)} |")
    lines += ["", "(and the same for `Transformer/encoderblock_1/`)", "",
              f"Top-1 of the three inputs: {logits.argmax(1).tolist()}; logit std {float(logits.std()):.2f}. "
              "timm's float32 forward against its float64 one (relative L2): "
              + ", ".join(f"{k} {v:.1e}" for k, v in res.items()) + ".", ""]
    return "\n".join(lines)


def generate_all(out):
    generate(out)
    generate_prelogits(out)


def main():
    return cli(__doc__.split("\n")[0], generate_all, ROOT / "tests" / "data")


if __name__ == "__main__":
    sys.exit(main())
