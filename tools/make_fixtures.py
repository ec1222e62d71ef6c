#!/usr/bin/python3
"""Write the PyTorch-computed test fixtures under tests/data/ (committed; CI never runs PyTorch).

Run with Debian's PyTorch:   /usr/bin/python3 tools/make_fixtures.py [--out DIR] [--check]

For every small random-weight model in SPECS it writes tests/data/<name>/:
  model.safetensors   the weights in a real on-disk naming (Hugging Face ViT / DeiT-with-teacher / ViTModel /
                      DeiTModel with a pooler, or timm, with or without a pre-logits layer),
                      written by the small safetensors writer below (same byte layout as the safetensors library)
  config.json         that family's real config format (HF PretrainedConfig JSON, or timm's hub config.json)
  expected.safetensors  input [B,3,H,W], logits [B,K] (not for backbones), embedding [B,D] (or [B,R]: the
                      pre-logits tanh(Linear(class token)) of a model with that layer),
                      cls_attention [L,B,T]; all fp32
and tests/data/deit-tiny-expected.safetensors for the real DeiT-Tiny in ../shared/models, plus tests/data/README.md.

Where the numbers come from: the checkpoint is read back from disk with the reader below, its tensors are mapped
onto torchvision's VisionTransformer (an implementation that is not vkvit's), and torchvision's modules compute
the outputs in float64 (stored rounded to fp32). Independently, a plain-torch forward written from the formulas
runs on the generator's own weights (never on the file), and every output must agree with torchvision's to
~1e-9, so a naming/mapping mistake cannot slip into a fixture. Batch 1 of each image must equal its row of the
batch-2 run.

Deterministic: numpy PCG64 streams with fixed seeds, torch on one thread, float64 math; re-running reproduces
byte-identical files (--check verifies that against what is on disk).
"""
import argparse
import json
import math
import struct
import sys
import tempfile
from functools import partial
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torchvision
from torchvision.models.vision_transformer import VisionTransformer

torch.set_num_threads(1)

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
REGEN = "/usr/bin/python3 tools/make_fixtures.py"

# ----------------------------------------------------------------------------------------------------------
# safetensors: writer (same layout as the safetensors library) and reader
# ----------------------------------------------------------------------------------------------------------
# The library sorts tensors by dtype (descending in its enum order), then by name, lays the data out in that
# order, writes the header compactly with __metadata__ first and pads it with spaces to a multiple of 8 bytes.
_DTYPE_RANK = {"BOOL": 0, "U8": 1, "I8": 2, "I16": 5, "U16": 6, "F16": 7, "BF16": 8, "I32": 9, "U32": 10,
               "F32": 11, "F64": 12, "I64": 13, "U64": 14}
_ITEMSIZE = {"F16": 2, "BF16": 2, "F32": 4, "F64": 8}


def bf16_bits(a):
    """Round float values to bfloat16 (round to nearest even); returns the uint16 bit patterns."""
    bits = np.ascontiguousarray(a, dtype=np.float32).view(np.uint32).astype(np.uint64)
    assert np.all(np.isfinite(a))
    rounded = (bits + 0x7FFF + ((bits >> 16) & 1)) >> 16
    return rounded.astype(np.uint16)


def bf16_to_f32(bits):
    return (bits.astype(np.uint32) << 16).view(np.float32)


class Stored:
    """A tensor as stored: dtype name, shape, little-endian bytes."""

    def __init__(self, dtype, shape, data):
        self.dtype, self.shape, self.data = dtype, list(shape), data


def store(a, dtype):
    a = np.asarray(a)
    if dtype == "F32":
        raw = a.astype("<f4").tobytes()
    elif dtype == "F16":
        raw = a.astype("<f2").tobytes()
    elif dtype == "BF16":
        raw = bf16_bits(a).astype("<u2").tobytes()
    else:
        raise ValueError(dtype)
    return Stored(dtype, a.shape, raw)


def write_safetensors(path, tensors, metadata=None):
    names = sorted(tensors, key=lambda n: (-_DTYPE_RANK[tensors[n].dtype], n))
    header, offset = {}, 0
    if metadata is not None:
        header["__metadata__"] = metadata
    for n in names:
        t = tensors[n]
        size = len(t.data)
        assert size == _ITEMSIZE[t.dtype] * math.prod(t.shape), n
        header[n] = {"dtype": t.dtype, "shape": t.shape, "data_offsets": [offset, offset + size]}
        offset += size
    hb = json.dumps(header, separators=(",", ":"), ensure_ascii=True).encode()
    hb += b" " * ((8 - len(hb) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hb)))
        f.write(hb)
        for n in names:
            f.write(tensors[n].data)


def read_safetensors(path):
    """Returns ({name: float64 numpy array}, {name: dtype}, metadata). Strict about the layout."""
    blob = Path(path).read_bytes()
    (n,) = struct.unpack_from("<Q", blob, 0)
    assert 8 + n <= len(blob), f"{path}: header length past end of file"
    header = json.loads(blob[8:8 + n].decode("utf-8"))
    meta = header.pop("__metadata__", None)
    data = memoryview(blob)[8 + n:]
    out, dtypes, spans = {}, {}, []
    for name, info in header.items():
        dt, shape, (b, e) = info["dtype"], info["shape"], info["data_offsets"]
        count = math.prod(shape)
        assert 0 <= b <= e <= len(data) and e - b == count * _ITEMSIZE[dt], f"{path}: bad range for {name}"
        spans.append((b, e))
        raw = bytes(data[b:e])
        if dt == "F32":
            a = np.frombuffer(raw, "<f4")
        elif dt == "F16":
            a = np.frombuffer(raw, "<f2")
        elif dt == "BF16":
            a = bf16_to_f32(np.frombuffer(raw, "<u2"))
        elif dt == "F64":
            a = np.frombuffer(raw, "<f8")
        else:
            raise ValueError(f"{path}: dtype {dt}")
        out[name] = a.astype(np.float64).reshape(shape)
        dtypes[name] = dt
    spans.sort()
    for (b0, e0), (b1, _) in zip(spans, spans[1:]):
        assert e0 <= b1, f"{path}: overlapping tensors"
    return out, dtypes, meta


# ----------------------------------------------------------------------------------------------------------
# The fixtures
# ----------------------------------------------------------------------------------------------------------
CIFAR10 = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
COLOURS = ["red", "orange", "yellow", "green", "blue", "indigo", "violet"]


def spec(name, naming, image, patch, dim, heads, layers, mlp, classes, eps, act="gelu", dtype="F32", seed=0,
         labels=None, note="", rep=0):
    return dict(name=name, naming=naming, image=image, patch=patch, dim=dim, heads=heads, layers=layers, mlp=mlp,
                classes=classes, eps=eps, act=act, dtype=dtype, seed=seed,
                labels=labels if labels is not None else CIFAR10[:classes], note=note, rep=rep)


# naming: "hf-vit" (ViTForImageClassification), "hf-deit-distilled" (DeiTForImageClassificationWithTeacher),
# "hf-vit-model" / "hf-deit-model" (ViTModel / DeiTModel saved alone: no family prefix, a pooler when rep > 0),
# "timm" (timm VisionTransformer). classes=0 means a backbone without a head; rep = R > 0 a pre-logits layer
# tanh(Linear(D -> R)) on the final-LayerNorm class token (timm's pre_logits.fc, which the head reads; HF's pooler,
# the backbone's output).
SPECS = [
    spec("hf-vit", "hf-vit", 32, 8, 64, 4, 3, 256, 10, 1e-12, seed=101,
         note="Hugging Face ViTForImageClassification, the basic case"),
    spec("hf-deit-distilled", "hf-deit-distilled", 32, 8, 64, 4, 2, 128, 10, 1e-12, seed=102,
         note="Hugging Face DeiTForImageClassificationWithTeacher: class + distillation token, "
              "logits = (cls_classifier(class token) + distillation_classifier(distillation token)) / 2"),
    spec("timm-vit", "timm", 32, 4, 64, 4, 2, 128, 10, 1e-6, seed=103,
         note="timm VisionTransformer naming (fused qkv); 65 tokens. num_heads=4 is NOT hidden/64: it comes from "
              "config.json's model_args (timm's field for non-registry shapes)"),
    spec("odd-tokens", "hf-vit", 36, 6, 48, 3, 2, 96, 7, 1e-12, seed=104, labels=COLOURS,
         note="37 tokens and a 108-wide patch GEMM (multiples of no tile size), 7 classes"),
    spec("dh32", "hf-vit", 32, 8, 64, 2, 2, 128, 10, 1e-12, seed=105,
         note="head dim 32 (2 heads of 32 at hidden 64)"),
    spec("f16", "hf-vit", 32, 8, 64, 4, 2, 128, 10, 1e-12, dtype="F16", seed=106,
         note="every tensor stored as F16; expected values computed from the rounded weights"),
    spec("bf16", "hf-vit", 32, 8, 64, 4, 2, 128, 10, 1e-12, dtype="BF16", seed=107,
         note="every tensor stored as BF16; expected values computed from the rounded weights"),
    spec("backbone", "timm", 32, 8, 64, 1, 2, 128, 0, 1e-6, seed=108,
         note="timm model saved with num_classes=0: no head tensors, no logits; one head (dh 64 = hidden/64)"),
    spec("gelu-tanh", "hf-vit", 32, 8, 32, 2, 2, 128, 5, 1e-6, act="gelu_new", seed=109,
         note='hidden_act "gelu_new": the tanh approximation 0.5x(1+tanh(sqrt(2/pi)(x+0.044715x^3)))'),
    spec("timm-prelogits", "timm", 32, 8, 48, 3, 2, 96, 7, 1e-6, seed=110, labels=COLOURS, rep=40,
         note="older timm's representation layer (representation_size 40 != embed_dim 48): pre_logits.fc + tanh "
              "between the final norm and the head, which reads it ([7, 40]); num_features = 40 as timm <= 0.5 "
              "reported it; the embedding is the pre-logits vector"),
    spec("hf-pooler", "hf-vit-model", 32, 8, 64, 4, 2, 128, 0, 1e-12, seed=111, rep=56,
         note="Hugging Face ViTModel saved alone (no `vit.` prefix) with its pooler (pooler_output_size 56 != "
              "hidden 64, pooler_act tanh), no classifier: the embedding is the pooler output "
              "tanh(pooler.dense(final-LayerNorm class token)); placeholder id2label"),
    spec("hf-deit-pooler", "hf-deit-model", 24, 8, 48, 3, 2, 96, 0, 1e-12, seed=112, rep=48,
         note="Hugging Face DeiTModel saved alone: class + distillation token, pooler on the class token "
              "(pooler_output_size = hidden, the default), no classifier"),
]
BATCH = 2


def eps_str(e):
    m, x = f"{e:.0e}".split("e")
    return f"{m}e{int(x)}"


def n_prefix(s):
    return 2 if s["naming"] in ("hf-deit-distilled", "hf-deit-model") else 1


HF_PREFIX = {"hf-vit": "vit.", "hf-deit-distilled": "deit.", "hf-vit-model": "", "hf-deit-model": ""}


def n_tokens(s):
    return (s["image"] // s["patch"]) ** 2 + n_prefix(s)


def generate_weights(s):
    """Canonical weights (float64, already rounded to the storage dtype). Well-scaled on purpose: LayerNorm weights
    1 + noise, everything else noisy, so a wrong mapping moves the logits a lot."""
    rng = np.random.Generator(np.random.PCG64(s["seed"]))
    D, P, M, K, L = s["dim"], s["patch"], s["mlp"], s["classes"], s["layers"]
    T = n_tokens(s)

    def nrm(shape, std):
        return rng.standard_normal(shape) * std

    W = {"patch_w": nrm((D, 3, P, P), 1.0 / math.sqrt(3 * P * P)), "patch_b": nrm(D, 0.05),
         "cls": nrm((1, 1, D), 0.3)}
    if n_prefix(s) == 2:
        W["dist"] = nrm((1, 1, D), 0.3)
    W["pos"] = nrm((1, T, D), 0.2)
    for i in range(L):
        p = f"l{i}."
        W[p + "ln1_w"], W[p + "ln1_b"] = 1.0 + nrm(D, 0.1), nrm(D, 0.05)
        for m in "qkv":  # q and k larger so that attention is far from uniform
            W[p + m + "_w"] = nrm((D, D), (1.0 if m == "v" else 2.0) / math.sqrt(D))
            W[p + m + "_b"] = nrm(D, 0.05)
        W[p + "o_w"], W[p + "o_b"] = nrm((D, D), 1.0 / math.sqrt(D)), nrm(D, 0.05)
        W[p + "ln2_w"], W[p + "ln2_b"] = 1.0 + nrm(D, 0.1), nrm(D, 0.05)
        W[p + "fc1_w"], W[p + "fc1_b"] = nrm((M, D), 1.0 / math.sqrt(D)), nrm(M, 0.05)
        W[p + "fc2_w"], W[p + "fc2_b"] = nrm((D, M), 1.0 / math.sqrt(M)), nrm(D, 0.05)
    W["ln_w"], W["ln_b"] = 1.0 + nrm(D, 0.1), nrm(D, 0.05)
    R = s["rep"]
    if R:  # tanh's input ~ N(0, 1): neither linear nor saturated
        W["pre_w"], W["pre_b"] = nrm((R, D), 1.0 / math.sqrt(D)), nrm(R, 0.1)
    if K:
        W["head_w"], W["head_b"] = nrm((K, R or D), 0.2), nrm(K, 0.1)
        if n_prefix(s) == 2:
            W["dhead_w"], W["dhead_b"] = nrm((K, D), 0.2), nrm(K, 0.1)
    # round to what the file will hold
    for k, v in W.items():
        if s["dtype"] == "F32":
            W[k] = v.astype(np.float32).astype(np.float64)
        elif s["dtype"] == "F16":
            W[k] = v.astype(np.float16).astype(np.float64)
        else:
            W[k] = bf16_to_f32(bf16_bits(v)).astype(np.float64)
    return W


def generate_input(s):
    rng = np.random.Generator(np.random.PCG64(s["seed"] + 1000))
    H = s["image"]
    x = rng.standard_normal((BATCH, 3, H, H))
    # make the two images differ in character as well as in noise: image 1 gets a smooth colour ramp added
    ramp = np.linspace(-1.0, 1.0, H)
    x[1] += 0.8 * ramp[None, :, None] + 0.5 * ramp[None, None, :] * np.array([1.0, -0.5, 0.25])[:, None, None]
    return x.astype(np.float32)


# ---- canonical -> file naming ----------------------------------------------------------------------------
def export_hf(W, s):
    pre = HF_PREFIX[s["naming"]]
    e = pre + "embeddings."
    t = {e + "cls_token": W["cls"], e + "position_embeddings": W["pos"],
         e + "patch_embeddings.projection.weight": W["patch_w"], e + "patch_embeddings.projection.bias": W["patch_b"]}
    if "dist" in W:
        t[e + "distillation_token"] = W["dist"]
    for i in range(s["layers"]):
        p, c = f"{pre}encoder.layer.{i}.", f"l{i}."
        pairs = {"layernorm_before": "ln1", "attention.attention.query": "q", "attention.attention.key": "k",
                 "attention.attention.value": "v", "attention.output.dense": "o", "layernorm_after": "ln2",
                 "intermediate.dense": "fc1", "output.dense": "fc2"}
        for hf, cn in pairs.items():
            t[p + hf + ".weight"], t[p + hf + ".bias"] = W[c + cn + "_w"], W[c + cn + "_b"]
    t[pre + "layernorm.weight"], t[pre + "layernorm.bias"] = W["ln_w"], W["ln_b"]
    if s["rep"]:
        assert not s["classes"], "HF's pooler is a backbone's output: its classification models have none"
        t[pre + "pooler.dense.weight"], t[pre + "pooler.dense.bias"] = W["pre_w"], W["pre_b"]
    if s["classes"]:
        if "dist" in W:
            t["cls_classifier.weight"], t["cls_classifier.bias"] = W["head_w"], W["head_b"]
            t["distillation_classifier.weight"], t["distillation_classifier.bias"] = W["dhead_w"], W["dhead_b"]
        else:
            t["classifier.weight"], t["classifier.bias"] = W["head_w"], W["head_b"]
    return t


def export_timm(W, s):
    t = {"cls_token": W["cls"], "pos_embed": W["pos"], "patch_embed.proj.weight": W["patch_w"],
         "patch_embed.proj.bias": W["patch_b"], "norm.weight": W["ln_w"], "norm.bias": W["ln_b"]}
    for i in range(s["layers"]):
        p, c = f"blocks.{i}.", f"l{i}."
        t[p + "norm1.weight"], t[p + "norm1.bias"] = W[c + "ln1_w"], W[c + "ln1_b"]
        t[p + "attn.qkv.weight"] = np.concatenate([W[c + "q_w"], W[c + "k_w"], W[c + "v_w"]], 0)
        t[p + "attn.qkv.bias"] = np.concatenate([W[c + "q_b"], W[c + "k_b"], W[c + "v_b"]], 0)
        t[p + "attn.proj.weight"], t[p + "attn.proj.bias"] = W[c + "o_w"], W[c + "o_b"]
        t[p + "norm2.weight"], t[p + "norm2.bias"] = W[c + "ln2_w"], W[c + "ln2_b"]
        t[p + "mlp.fc1.weight"], t[p + "mlp.fc1.bias"] = W[c + "fc1_w"], W[c + "fc1_b"]
        t[p + "mlp.fc2.weight"], t[p + "mlp.fc2.bias"] = W[c + "fc2_w"], W[c + "fc2_b"]
    if s["rep"]:
        t["pre_logits.fc.weight"], t["pre_logits.fc.bias"] = W["pre_w"], W["pre_b"]
    if s["classes"]:
        t["head.weight"], t["head.bias"] = W["head_w"], W["head_b"]
    return t


HF_TORCH_DTYPE = {"F32": "float32", "F16": "float16", "BF16": "bfloat16"}


HF_ARCH = {"hf-vit": "ViTForImageClassification", "hf-deit-distilled": "DeiTForImageClassificationWithTeacher",
           "hf-vit-model": "ViTModel", "hf-deit-model": "DeiTModel"}


def hf_config(s):
    deit = n_prefix(s) == 2
    # a backbone's config holds transformers' placeholder labels (PretrainedConfig's default num_labels = 2)
    labels = s["labels"] if s["classes"] else ["LABEL_0", "LABEL_1"]
    cfg = {
        "architectures": [HF_ARCH[s["naming"]]],
        "attention_probs_dropout_prob": 0.0,
        "encoder_stride": s["patch"],
        "hidden_act": s["act"],
        "hidden_dropout_prob": 0.0,
        "hidden_size": s["dim"],
        "id2label": {str(i): l for i, l in enumerate(labels)},
        "image_size": s["image"],
        "initializer_range": 0.02,
        "intermediate_size": s["mlp"],
        "label2id": {l: i for i, l in enumerate(labels)},
        "layer_norm_eps": s["eps"],
        "model_type": "deit" if deit else "vit",
        "num_attention_heads": s["heads"],
        "num_channels": 3,
        "num_hidden_layers": s["layers"],
        "patch_size": s["patch"],
        "qkv_bias": True,
        "torch_dtype": HF_TORCH_DTYPE[s["dtype"]],
    }
    if s["rep"]:  # ViTConfig / DeiTConfig since transformers 4.41
        cfg["pooler_act"], cfg["pooler_output_size"] = "tanh", s["rep"]
    # the layout transformers' PretrainedConfig.to_json_string() writes
    return json.dumps(cfg, indent=2, sort_keys=True) + "\n"


def timm_config(s):
    assert s["act"] == "gelu" and s["naming"] == "timm"
    cfg = {
        "architecture": f"vit_fixture_patch{s['patch']}_{s['image']}",
        "num_classes": s["classes"],
        "num_features": s["rep"] or s["dim"],  # timm <= 0.5: the representation layer's width when there is one
        "global_pool": "token",
    }
    if s["classes"]:
        cfg["label_names"] = s["labels"]
    cfg["model_args"] = {"img_size": s["image"], "patch_size": s["patch"], "embed_dim": s["dim"],
                         "depth": s["layers"], "num_heads": s["heads"], "mlp_ratio": s["mlp"] / s["dim"],
                         "qkv_bias": True, "class_token": True, "global_pool": "token", "num_classes": s["classes"]}
    if s["rep"]:
        cfg["model_args"]["representation_size"] = s["rep"]
    cfg["pretrained_cfg"] = {
        "input_size": [3, s["image"], s["image"]], "interpolation": "bicubic", "crop_pct": 1.0, "crop_mode": "center",
        "mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5], "num_classes": s["classes"], "pool_size": None,
        "first_conv": "patch_embed.proj", "classifier": "head", "fixed_input_size": True,
    }
    return json.dumps(cfg, indent=2) + "\n"


# ---- file naming -> torchvision ------------------------------------------------------------------------------
def tv_state_from_hf(t, L, prefix, has_head):
    """HF ViT/DeiT tensors -> torchvision VisionTransformer state dict (+ DeiT extras). Consumes every tensor."""
    t = dict(t)
    g = lambda k: torch.from_numpy(t.pop(k))
    e = prefix + "embeddings."
    sd = {"conv_proj.weight": g(e + "patch_embeddings.projection.weight"),
          "conv_proj.bias": g(e + "patch_embeddings.projection.bias"),
          "class_token": g(e + "cls_token"), "encoder.pos_embedding": g(e + "position_embeddings")}
    extra = {}
    if e + "distillation_token" in t:
        extra["dist_token"] = g(e + "distillation_token")
    for i in range(L):
        p, q = f"{prefix}encoder.layer.{i}.", f"encoder.layers.encoder_layer_{i}."
        a = p + "attention.attention."
        for wb in ("weight", "bias"):
            sd[q + "ln_1." + wb] = g(p + "layernorm_before." + wb)
            sd[q + "self_attention.in_proj_" + wb] = torch.cat(
                [g(a + "query." + wb), g(a + "key." + wb), g(a + "value." + wb)], 0)
            sd[q + "self_attention.out_proj." + wb] = g(p + "attention.output.dense." + wb)
            sd[q + "ln_2." + wb] = g(p + "layernorm_after." + wb)
            sd[q + "mlp.0." + wb] = g(p + "intermediate.dense." + wb)
            sd[q + "mlp.3." + wb] = g(p + "output.dense." + wb)
    sd["encoder.ln.weight"], sd["encoder.ln.bias"] = g(prefix + "layernorm.weight"), g(prefix + "layernorm.bias")
    if prefix + "pooler.dense.weight" in t:  # torchvision's representation layer: heads.pre_logits + heads.act (Tanh)
        sd["heads.pre_logits.weight"], sd["heads.pre_logits.bias"] = (g(prefix + "pooler.dense.weight"),
                                                                      g(prefix + "pooler.dense.bias"))
    if has_head:
        if "cls_classifier.weight" in t:
            sd["heads.head.weight"], sd["heads.head.bias"] = g("cls_classifier.weight"), g("cls_classifier.bias")
            extra["dist_head"] = (g("distillation_classifier.weight"), g("distillation_classifier.bias"))
        else:
            sd["heads.head.weight"], sd["heads.head.bias"] = g("classifier.weight"), g("classifier.bias")
    assert not t, f"unmapped tensors: {sorted(t)}"
    return sd, extra


def tv_state_from_timm(t, L, has_head):
    t = dict(t)
    g = lambda k: torch.from_numpy(t.pop(k))
    sd = {"conv_proj.weight": g("patch_embed.proj.weight"), "conv_proj.bias": g("patch_embed.proj.bias"),
          "class_token": g("cls_token"), "encoder.pos_embedding": g("pos_embed")}
    for i in range(L):
        p, q = f"blocks.{i}.", f"encoder.layers.encoder_layer_{i}."
        for wb in ("weight", "bias"):
            sd[q + "ln_1." + wb] = g(p + "norm1." + wb)
            sd[q + "self_attention.in_proj_" + wb] = g(p + "attn.qkv." + wb)  # timm's [q;k;v] == torchvision's
            sd[q + "self_attention.out_proj." + wb] = g(p + "attn.proj." + wb)
            sd[q + "ln_2." + wb] = g(p + "norm2." + wb)
            sd[q + "mlp.0." + wb] = g(p + "mlp.fc1." + wb)
            sd[q + "mlp.3." + wb] = g(p + "mlp.fc2." + wb)
    sd["encoder.ln.weight"], sd["encoder.ln.bias"] = g("norm.weight"), g("norm.bias")
    if "pre_logits.fc.weight" in t:
        sd["heads.pre_logits.weight"], sd["heads.pre_logits.bias"] = g("pre_logits.fc.weight"), g("pre_logits.fc.bias")
    if has_head:
        sd["heads.head.weight"], sd["heads.head.bias"] = g("head.weight"), g("head.bias")
    assert not t, f"unmapped tensors: {sorted(t)}"
    return sd, {}


# ---- torchvision forward --------------------------------------------------------------------------------------
def build_torchvision(image, patch, dim, heads, layers, mlp, classes, eps, act, sd, extra, rep=0):
    """rep > 0: torchvision's representation_size, heads = pre_logits (Linear) + act (Tanh) + head."""
    model = VisionTransformer(image_size=image, patch_size=patch, num_layers=layers, num_heads=heads,
                              hidden_dim=dim, mlp_dim=mlp, num_classes=max(classes, 1),
                              representation_size=rep or None, norm_layer=partial(nn.LayerNorm, eps=eps))
    if "dist_token" in extra:  # DeiT: one more token in the position embedding
        model.encoder.pos_embedding = nn.Parameter(torch.zeros(1, model.seq_length + 1, dim))
    if classes == 0 and rep:  # a backbone whose output is the representation: heads = pre_logits + act
        del model.heads.head
    elif classes == 0:
        model.heads = nn.Identity()
    if act in ("gelu_new", "gelu_pytorch_tanh", "gelu_fast"):
        assert act != "gelu_fast"
        for layer in model.encoder.layers:
            assert isinstance(layer.mlp[1], nn.GELU)
            layer.mlp[1] = nn.GELU(approximate="tanh")
    else:
        assert act == "gelu", act
    model.load_state_dict(sd, strict=True)
    dist = None
    if "dist_token" in extra:  # (token, distillation head or None for a backbone)
        dh = None
        if "dist_head" in extra:
            dh = nn.Linear(dim, classes)
            dh.weight.data.copy_(extra["dist_head"][0])
            dh.bias.data.copy_(extra["dist_head"][1])
        dist = (nn.Parameter(extra["dist_token"].clone()), dh)
    return model.eval(), dist


@torch.no_grad()
def run_torchvision(model, dist, x, dtype=torch.float64):
    """Drives torchvision's own modules; returns logits (or None), embedding [B,D] (the final-LayerNorm class token,
    or [B,R], its pre-logits tanh(heads.pre_logits(.)) where the model has them), cls_attention [L,B,T]."""
    model = model.to(dtype)
    x = torch.as_tensor(x).to(dtype)
    B = x.shape[0]
    tok = model._process_input(x)
    prefix = [model.class_token.expand(B, -1, -1)]
    if dist is not None:
        dist = (dist[0].to(dtype), dist[1].to(dtype) if dist[1] is not None else None)
        prefix.append(dist[0].expand(B, -1, -1))
    h = torch.cat(prefix + [tok], 1) + model.encoder.pos_embedding
    att = []
    for layer in model.encoder.layers:
        y = layer.ln_1(h)
        _, w = layer.self_attention(y, y, y, need_weights=True, average_attn_weights=True)
        att.append(w[:, 0, :])
        h = layer(h)
    h = model.encoder.ln(h)
    cls = h[:, 0]
    pre = hasattr(model.heads, "pre_logits")
    emb = model.heads.act(model.heads.pre_logits(cls)) if pre else cls
    head = getattr(model.heads, "head", None)
    tol = dict(rtol=1e-10, atol=1e-10 if dtype == torch.float64 else 1e-5)
    if head is None:
        logits = None
        if dist is None:  # torchvision's own forward, untouched: heads = Identity, or pre_logits + act
            assert torch.allclose(model(x), emb, **tol)
    elif dist is None:
        logits = head(emb)
        full = model(x)  # torchvision's own forward, untouched
        assert torch.allclose(full, logits, **tol)
    else:
        assert not pre, "timm's distilled models have no representation layer"
        logits = (head(emb) + dist[1](h[:, 1])) / 2
    return logits, emb, torch.stack(att, 0)


# ---- independent plain-torch forward (from the formulas, on the generator's weights) ---------------------------
def plain_forward(W, s, x):
    W = {k: torch.from_numpy(v) for k, v in W.items()}
    x = torch.as_tensor(x).double()
    B, C, H, _ = x.shape
    P, D, Hh, K = s["patch"], s["dim"], s["heads"], s["classes"]
    n, dh = H // P, D // Hh
    patches = x.reshape(B, C, n, P, n, P).permute(0, 2, 4, 1, 3, 5).reshape(B, n * n, C * P * P)
    tok = patches @ W["patch_w"].reshape(D, -1).T + W["patch_b"]
    pre = [W["cls"].expand(B, 1, D)] + ([W["dist"].expand(B, 1, D)] if "dist" in W else [])
    h = torch.cat(pre + [tok], 1) + W["pos"]
    T = h.shape[1]

    def ln(v, w, b):
        mu = v.mean(-1, keepdim=True)
        var = ((v - mu) ** 2).mean(-1, keepdim=True)
        return (v - mu) / torch.sqrt(var + s["eps"]) * w + b

    def act(v):
        if s["act"] == "gelu":
            return 0.5 * v * (1.0 + torch.erf(v / math.sqrt(2.0)))
        return 0.5 * v * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (v + 0.044715 * v ** 3)))

    att = []
    for i in range(s["layers"]):
        c = f"l{i}."
        y = ln(h, W[c + "ln1_w"], W[c + "ln1_b"])
        q, k, v = ((y @ W[c + m + "_w"].T + W[c + m + "_b"]).reshape(B, T, Hh, dh).transpose(1, 2) for m in "qkv")
        sc = q @ k.transpose(-1, -2) / math.sqrt(dh)
        e = torch.exp(sc - sc.max(-1, keepdim=True).values)
        p = e / e.sum(-1, keepdim=True)
        att.append(p.mean(1)[:, 0, :])
        o = (p @ v).transpose(1, 2).reshape(B, T, D)
        h = h + o @ W[c + "o_w"].T + W[c + "o_b"]
        y = ln(h, W[c + "ln2_w"], W[c + "ln2_b"])
        h = h + act(y @ W[c + "fc1_w"].T + W[c + "fc1_b"]) @ W[c + "fc2_w"].T + W[c + "fc2_b"]
    h = ln(h, W["ln_w"], W["ln_b"])
    emb = torch.tanh(h[:, 0] @ W["pre_w"].T + W["pre_b"]) if "pre_w" in W else h[:, 0]
    logits = None
    if K:
        logits = emb @ W["head_w"].T + W["head_b"]
        if "dist" in W:
            logits = (logits + h[:, 1] @ W["dhead_w"].T + W["dhead_b"]) / 2
    return logits, emb, torch.stack(att, 0)


def rel(a, b):
    a, b = torch.as_tensor(a).double(), torch.as_tensor(b).double()
    return float((a - b).norm() / b.norm())


def check_close(what, a, b, tol):
    r = rel(a, b)
    m = float((torch.as_tensor(a).double() - torch.as_tensor(b).double()).abs().max())
    assert r <= tol and math.isfinite(r), f"{what}: rel {r:.3g} > {tol:.1g} (max abs {m:.3g})"
    return r


def f32(t):
    return store(t.detach().cpu().numpy(), "F32") if isinstance(t, torch.Tensor) else store(t, "F32")


# ----------------------------------------------------------------------------------------------------------
def make_small(s, out):
    d = out / s["name"]
    d.mkdir(parents=True, exist_ok=True)
    W = generate_weights(s)
    tensors = export_hf(W, s) if s["naming"].startswith("hf") else export_timm(W, s)
    write_safetensors(d / "model.safetensors", {k: store(v, s["dtype"]) for k, v in tensors.items()},
                      {"format": "pt"})
    (d / "config.json").write_text(hf_config(s) if s["naming"].startswith("hf") else timm_config(s))
    x = generate_input(s)

    # torchvision, fed from the file as written
    back, dtypes, _ = read_safetensors(d / "model.safetensors")
    assert set(dtypes.values()) == {s["dtype"]}
    L, K = s["layers"], s["classes"]
    if s["naming"] == "timm":
        sd, extra = tv_state_from_timm(back, L, K > 0)
    else:
        sd, extra = tv_state_from_hf(back, L, HF_PREFIX[s["naming"]], K > 0)
    model, dist = build_torchvision(s["image"], s["patch"], s["dim"], s["heads"], L, s["mlp"], K, s["eps"],
                                    s["act"], sd, extra, s["rep"])
    logits, emb, att = run_torchvision(model, dist, x)
    T = n_tokens(s)
    assert emb.shape == (BATCH, s["rep"] or s["dim"]) and att.shape == (L, BATCH, T)

    # independent check: plain torch from the generator's weights
    pl, pe, pa = plain_forward(W, s, x)
    res = {"emb": check_close(f"{s['name']} embedding", emb, pe, 1e-9),
           "att": check_close(f"{s['name']} cls_attention", att, pa, 1e-9)}
    if K:
        res["logits"] = check_close(f"{s['name']} logits", logits, pl, 1e-9)
    # batches must not bleed: each image alone gives its row of the batch-2 run
    for b in range(BATCH):
        l1, e1, a1 = run_torchvision(model, dist, x[b:b + 1])
        check_close(f"{s['name']} batch1[{b}] embedding", e1[0], emb[b], 1e-12)
        check_close(f"{s['name']} batch1[{b}] cls_attention", a1[:, 0], att[:, b], 1e-12)
        if K:
            check_close(f"{s['name']} batch1[{b}] logits", l1[0], logits[b], 1e-12)
    assert rel(emb[0], emb[1]) > 0.1, "the two images should give different outputs"
    # how far an fp32 evaluation of the same model lands from the float64 answer (the floor for the C tests)
    l32, e32, _ = run_torchvision(model, dist, x, torch.float32)
    res["fp32"] = rel(l32 if K else e32, logits if K else emb)

    exp = {"input": store(x, "F32"), "embedding": f32(emb), "cls_attention": f32(att)}
    if K:
        exp["logits"] = f32(logits)
    write_safetensors(d / "expected.safetensors", exp, {"format": "pt"})
    res["logit_std"] = float(logits.std()) if K else float("nan")
    res["att_max"] = float(att[:, :, 1:].max())
    res["top1"] = logits.argmax(1).tolist() if K else None
    res["size"] = sum(f.stat().st_size for f in d.iterdir())
    return res


# ---- the real DeiT-Tiny ---------------------------------------------------------------------------------------
def preprocess(path, short=256, crop=224, mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225)):
    from PIL import Image
    im = Image.open(path).convert("RGB")
    w, h = im.size
    if w <= h:
        nw, nh = short, int(short * h / w)
    else:
        nw, nh = int(short * w / h), short
    im = im.resize((nw, nh), Image.BICUBIC)
    top, left = (nh - crop) // 2, (nw - crop) // 2
    im = im.crop((left, top, left + crop, top + crop))
    a = np.asarray(im, dtype=np.float64) / 255.0
    a = (a - np.array(mean)) / np.array(std)
    return a.transpose(2, 0, 1).astype(np.float32), (w, h, nw, nh)


DEIT_IMAGES = ["chelsea.png", "coffee.png"]


def make_deit_tiny(out):
    mdir = SHARED / "models" / "deit-tiny-imagenet"
    cfg = json.loads((mdir / "config.json").read_text())
    D, L, Hh, M = cfg["hidden_size"], cfg["num_hidden_layers"], cfg["num_attention_heads"], cfg["intermediate_size"]
    img, P, eps = cfg["image_size"], cfg["patch_size"], cfg["layer_norm_eps"]
    K = len(cfg["id2label"])
    hf, _, _ = read_safetensors(mdir / "model.safetensors")
    tm, _, _ = read_safetensors(mdir / "timm" / "model.safetensors")
    sd, extra = tv_state_from_hf(hf, L, "vit.", True)
    sd_t, _ = tv_state_from_timm(tm, L, True)
    assert sd.keys() == sd_t.keys() and all(torch.equal(sd[k], sd_t[k]) for k in sd), "HF and timm layouts differ"
    model, _ = build_torchvision(img, P, D, Hh, L, M, K, eps, cfg["hidden_act"], sd, extra)

    xs, sizes = zip(*(preprocess(SHARED / "images" / f) for f in DEIT_IMAGES))
    x = np.stack(xs, 0)
    logits, emb, att = run_torchvision(model, None, x)

    # independent check with the plain forward on the same weights (HF names -> canonical)
    W = {"patch_w": hf["vit.embeddings.patch_embeddings.projection.weight"],
         "patch_b": hf["vit.embeddings.patch_embeddings.projection.bias"], "cls": hf["vit.embeddings.cls_token"],
         "pos": hf["vit.embeddings.position_embeddings"], "ln_w": hf["vit.layernorm.weight"],
         "ln_b": hf["vit.layernorm.bias"], "head_w": hf["classifier.weight"], "head_b": hf["classifier.bias"]}
    for i in range(L):
        p, c = f"vit.encoder.layer.{i}.", f"l{i}."
        for hfn, cn in {"layernorm_before": "ln1", "attention.attention.query": "q", "attention.attention.key": "k",
                        "attention.attention.value": "v", "attention.output.dense": "o", "layernorm_after": "ln2",
                        "intermediate.dense": "fc1", "output.dense": "fc2"}.items():
            W[c + cn + "_w"], W[c + cn + "_b"] = hf[p + hfn + ".weight"], hf[p + hfn + ".bias"]
    s = dict(patch=P, dim=D, heads=Hh, classes=K, layers=L, eps=eps, act=cfg["hidden_act"])
    pl, pe, pa = plain_forward(W, s, x)
    res = {"logits": check_close("deit-tiny logits", logits, pl, 1e-9),
           "emb": check_close("deit-tiny embedding", emb, pe, 1e-9),
           "att": check_close("deit-tiny cls_attention", att, pa, 1e-9)}
    for b in range(len(x)):
        l1, _, _ = run_torchvision(model, None, x[b:b + 1])
        check_close(f"deit-tiny batch1[{b}] logits", l1[0], logits[b], 1e-12)
    l32, _, _ = run_torchvision(model, None, x, torch.float32)
    res["fp32"] = rel(l32, logits)

    write_safetensors(out / "deit-tiny-expected.safetensors",
                      {"input": store(x, "F32"), "logits": f32(logits), "embedding": f32(emb),
                       "cls_attention": f32(att)}, {"format": "pt"})
    names = (mdir / "labels.txt").read_text().splitlines()
    prob = torch.softmax(logits, -1)
    # a wrong mapping would not recognise these: a domestic cat (281..285) and an espresso (967)
    assert 281 <= int(logits[0].argmax()) <= 285 and int(logits[1].argmax()) == 967, logits.argmax(1)
    top = []
    for b, f in enumerate(DEIT_IMAGES):
        v, i = prob[b].topk(5)
        top.append((f, sizes[b], [(int(j), names[int(j)], float(p)) for p, j in zip(v, i)]))
    return res, top


# ---- README -----------------------------------------------------------------------------------------------------
def readme(results, deit_res, deit_top):
    o = []
    w = o.append
    w("# Test fixtures (generated)\n")
    w("Written by `tools/make_fixtures.py`; do not edit by hand (this file is generated too). Regenerate with\n")
    w("```\n" + REGEN + "            # rewrites tests/data/ (byte-identical when nothing changed)")
    w(REGEN + " --check    # regenerates into a temp folder and compares byte for byte")
    w("```\n")
    w("It needs Debian's PyTorch and torchvision (`python3-torch`, `python3-torchvision`), `python3-pil`, and")
    w("`../shared/models/deit-tiny-imagenet` + `../shared/images`. CI never runs it: the outputs are committed.")
    w(f"Generated with torch {torch.__version__}, torchvision {torchvision.__version__}, numpy {np.__version__}.\n")
    w("## Where the expected numbers come from\n")
    w("Each checkpoint is written to disk, read back with the script's own safetensors reader, and its tensors are")
    w("mapped onto **torchvision's `VisionTransformer`** (`conv_proj`, `class_token`, `encoder.pos_embedding`,")
    w("`encoder.layers.encoder_layer_N.{ln_1, self_attention.in_proj_weight/in_proj_bias (q;k;v stacked),")
    w("self_attention.out_proj, ln_2, mlp.0, mlp.3}`, `encoder.ln`, `heads.head`), built with")
    w("`norm_layer=partial(nn.LayerNorm, eps=<config eps>)`. torchvision's modules compute everything in **float64**;")
    w("the results are stored rounded to fp32. The DeiT distillation token and second head, and the tanh GELU")
    w("(`mlp[1] = nn.GELU(approximate='tanh')`), are driven around torchvision's own modules. `cls_attention` comes")
    w("from `nn.MultiheadAttention(..., need_weights=True, average_attn_weights=True)` on each layer's `ln_1` output.")
    w("Where torchvision's `model(x)` applies, the script also asserts it equals the driven result.\n")
    w("Independently, a plain-torch forward written from the formulas (pre-LN blocks, LayerNorm with biased")
    w("variance, softmax(QKᵀ/√dh), exact-erf or tanh GELU, head on the final-LN class token, distilled logits = mean")
    w("of the two heads) runs on the generator's weights, never on the file; every output must agree with")
    w("torchvision's to a relative 1e-9, and every image run alone (batch 1) must equal its row of the batch-2 run")
    w("to 1e-12, or the script stops.\n")
    w("## Small random-weight checkpoints: `tests/data/<name>/`\n")
    w("Each folder: `model.safetensors` (real naming, written like the safetensors library writes: tensors sorted,")
    w("header padded with spaces to 8 bytes, `__metadata__ {\"format\":\"pt\"}`), `config.json` (that family's real")
    w("format: HF `PretrainedConfig` JSON, or timm's hub `config.json` with `model_args` and `pretrained_cfg`), and")
    w("`expected.safetensors`, all fp32:\n")
    w("| tensor | shape | what |\n| --- | --- | --- |")
    w("| `input` | [2, 3, H, W] | two different images (seeded noise; the second with a colour ramp), already normalised |")
    w("| `logits` | [2, K] | absent for `backbone` |")
    w("| `embedding` | [2, D] | final-LayerNorm class token (for the distilled model: the class token's, not the distillation token's) |")
    w("| `cls_attention` | [L, 2, T] | per layer, the class token's (query row 0) attention probabilities over all T tokens, averaged over heads |\n")
    w("| folder | naming | image | patch | D | heads | dh | layers | MLP | classes | tokens | eps | act | dtype | size |")
    w("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for s in SPECS:
        r = results[s["name"]]
        w(f"| `{s['name']}` | {s['naming']} | {s['image']} | {s['patch']} | {s['dim']} | {s['heads']} | "
          f"{s['dim'] // s['heads']} | {s['layers']} | {s['mlp']} | {s['classes'] or '– (backbone)'} | "
          f"{n_tokens(s)} | {eps_str(s['eps'])} | {s['act']} | {s['dtype']} | {r['size'] // 1024} KiB |")
    w("")
    for s in SPECS:
        w(f"- `{s['name']}`: {s['note']}.")
    w("\nNaming: `hf-vit` = `ViTForImageClassification` (`vit.embeddings.*`, `vit.encoder.layer.N.attention.attention."
      "{query,key,value}.*`, …, `vit.layernorm.*`, `classifier.*`); `hf-deit-distilled` = "
      "`DeiTForImageClassificationWithTeacher` (`deit.*` incl. `deit.embeddings.distillation_token`, position "
      "embedding for patches + 2 tokens in the order class, distillation, patches; `cls_classifier.*`, "
      "`distillation_classifier.*`); `timm` = timm `VisionTransformer` (`cls_token`, `pos_embed`, `patch_embed.proj.*`, "
      "`blocks.N.{norm1, attn.qkv (fused [3D, D], rows q;k;v, heads contiguous within each), attn.proj, norm2, mlp.fc1, "
      "mlp.fc2}.*`, `norm.*`, `head.*`).\n")
    w("The timm configs carry `model_args` (`img_size`, `patch_size`, `embed_dim`, `depth`, `num_heads`, `mlp_ratio`,")
    w("…) as timm's `push_to_hub` writes them for a model whose shape its architecture name does not fix. `timm-vit`")
    w("needs it: its 4 heads are not hidden/64; `backbone` (1 head = 64/64) loads either way. The input size is also")
    w("in `pretrained_cfg.input_size`.\n")
    w("Weights are N(0, 1/√fan_in) for patch, v, out, fc1, fc2 and N(0, 2/√fan_in) for q and k (so attention is far")
    w("from uniform), class/distillation token N(0, 0.3), position embedding N(0, 0.2), heads N(0, 0.2), LayerNorm")
    w("weights 1 + N(0, 0.1), biases N(0, 0.05..0.1): a wrong mapping changes the logits by O(1). For `f16`/`bf16`")
    w("the expected values come from the rounded weights.\n")
    w("Cross-check results of the last generation (relative L2 error, whole tensor):\n")
    w("| folder | torchvision vs plain: logits | embedding | cls_attention | fp32 torchvision vs fp64 expected | logit std | top-1 (img 0, 1) |")
    w("| --- | --- | --- | --- | --- | --- | --- |")
    for s in SPECS:
        r = results[s["name"]]
        if s["classes"]:
            lg, std, top = f"{r['logits']:.1e}", f"{r['logit_std']:.2f}", str(r["top1"])
        else:
            lg = std = top = "–"
        w(f"| `{s['name']}` | {lg} | {r['emb']:.1e} | {r['att']:.1e} | {r['fp32']:.1e} | {std} | {top} |")
    w("\nThe fp32 column is how far PyTorch's own fp32 evaluation lands from the float64 fixture: the floor any fp32")
    w("implementation can expect, well under the 1e-4 bound in TESTING.md.\n")
    w("## The real DeiT-Tiny: `deit-tiny-expected.safetensors`\n")
    w("For `../shared/models/deit-tiny-imagenet` (not copied here). Tensors, fp32:\n")
    w("| tensor | shape | what |\n| --- | --- | --- |")
    w("| `input` | [2, 3, 224, 224] | " + ", ".join(f"`../shared/images/{f}`" for f in DEIT_IMAGES) +
      ": PIL bicubic resize of the shorter side to 256, centre crop 224 (offsets (size−224)//2), /255, "
      "ImageNet mean (0.485, 0.456, 0.406) / std (0.229, 0.224, 0.225) |")
    w("| `logits` | [2, 1000] | torchvision `VisionTransformer` in float64 with these weights |")
    w("| `embedding` | [2, 192] | final-LayerNorm class token |")
    w("| `cls_attention` | [12, 2, 197] | head-averaged class-token attention of every layer |\n")
    w("The weights were read from the HF layout; the timm layout (`timm/model.safetensors`) maps to exactly the same")
    w("torchvision state dict (asserted), so both layouts must give these logits. Cross-check: torchvision vs plain")
    w(f"forward: logits {deit_res['logits']:.1e}, embedding {deit_res['emb']:.1e}, cls_attention {deit_res['att']:.1e};")
    w(f"fp32 torchvision vs the fp64 fixture: {deit_res['fp32']:.1e}.\n")
    w("The input is the preprocessed tensor, so the vkvit image path (next issue) can be compared with it too,")
    w("within a resampling tolerance (PIL's bicubic filter is antialiased on downscaling).\n")
    for f, (w0, h0, nw, nh), top in deit_top:
        w(f"Top-5 for `{f}` ({w0}×{h0} → {nw}×{nh} → 224×224):\n")
        w("| rank | class | label | probability |\n| --- | --- | --- | --- |")
        for k, (j, name, p) in enumerate(top):
            w(f"| {k + 1} | {j} | {name} | {p:.4f} |")
        w("")
    return "\n".join(o)


def generate(out):
    out.mkdir(parents=True, exist_ok=True)
    results = {}
    for s in SPECS:
        results[s["name"]] = r = make_small(s, out)
        lg = f"{r['logits']:.1e}" if "logits" in r else "   -   "
        print(f"{s['name']:18s} T={n_tokens(s):3d} tv-vs-plain logits {lg} emb {r['emb']:.1e} att {r['att']:.1e} "
              f"| fp32 {r['fp32']:.1e} | logit std {r['logit_std']:.2f} max cls-att {r['att_max']:.2f} "
              f"top1 {r['top1']} | {r['size']} B", flush=True)
    deit_res, deit_top = make_deit_tiny(out)
    print(f"deit-tiny          tv-vs-plain logits {deit_res['logits']:.1e} emb {deit_res['emb']:.1e} "
          f"att {deit_res['att']:.1e} | fp32 {deit_res['fp32']:.1e}")
    for f, _, top in deit_top:
        print(f"  {f}: " + "; ".join(f"{j} {n} {p:.3f}" for j, n, p in top))
    (out / "README.md").write_text(readme(results, deit_res, deit_top))
    total = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    print(f"total {total} bytes in {out}")


def cli(description, generate, default_out):
    """The command line both fixture scripts share: write into --out, or with --check regenerate into
    a temporary folder and compare every file generate() writes with --out, byte for byte."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--out", type=Path, default=default_out)
    ap.add_argument("--check", action="store_true", help="regenerate into a temp dir and compare with --out")
    a = ap.parse_args()
    if not a.check:
        generate(a.out)
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        generate(Path(tmp))
        want = sorted(p.relative_to(tmp) for p in Path(tmp).rglob("*") if p.is_file())
        bad = [str(p) for p in want if not (a.out / p).is_file() or (a.out / p).read_bytes() != (Path(tmp) / p).read_bytes()]
        if bad:
            print("differs from", a.out, ":", ", ".join(bad))
            return 1
        print("identical:", len(want), "files")
    return 0


def main():
    return cli(__doc__.split("\n")[0], generate, ROOT / "tests" / "data")


if __name__ == "__main__":
    sys.exit(main())
