#!/usr/bin/python3
"""Write the CLIP and SigLIP vision-tower fixtures under tests/data/clip/, siglip/ (committed; CI never runs PyTorch).

Run with Debian's PyTorch and timm's source:
    PYTHONPATH=/tmp/timm-src /usr/bin/python3 tools/make_clip_fixtures.py [--out DIR] [--check]

Two tiny CLIP image towers with seeded random weights, built by timm.create_model from the real architectures
with their arguments shrunk through model_args (everything else as timm registers it: pre_norm=True, a patch
conv without bias, LayerNorm eps 1e-5, the class token, global_pool 'token', the head as the projection):
  quickgelu  vit_base_patch16_clip_quickgelu_224 (OpenAI's weights: act_layer quick_gelu, x sigmoid(1.702 x))
  gelu       vit_base_patch32_clip_224 (OpenCLIP's LAION weights: exact GELU)
each shrunk to hidden 45 (3 heads of 15), 2 blocks, MLP 180, a projection of 23, 35x35 images in 5x5 patches (an
odd 7x7 grid, 50 tokens). The head's bias is zero, as timm's _convert_openai_clip makes it from OpenAI's `proj`
(no bias), so timm's output IS the CLIP image embedding: proj^T . post_layernorm(class token).

Written in Hugging Face's names (transformers is not installed: the names are those of its modeling_clip.py and
convert_clip_original_pytorch_to_hf.py, which maps OpenAI's visual.* as timm's _convert_openai_clip does, read
backwards; to_hf below is the table):
  clip/quickgelu/  config.json (CLIPVisionModelWithProjection, model_type clip_vision_model, hidden_act
                   quick_gelu) + model.safetensors (vision_model.*, visual_projection.weight)
  clip/gelu/       config.json of a whole CLIPModel (model_type clip: the tower's numbers in vision_config,
                   projection_dim at the top, hidden_act gelu) + model.safetensors with a stand-in text tower
                   (text_model.*, text_projection.weight, logit_scale: random, the shapes of a 1-block text
                   model), which vkvit must leave unused
  clip/quickgelu/vision-model/  the tower without its projection as a CLIPVisionModel (config architectures
                   CLIPVisionModel, no visual_projection.weight): its output is the pooled class token
  clip/<name>/timm/  the same weights in timm's own names (model.safetensors, the state dict) and config.json as
                   timm writes it (timm.models._hub.save_config_for_hf, model_args included): timm runs the head
                   as its classifier, so there its outputs ("logits") are the embedding
  clip/quickgelu/timm-tower/  the same timm state dict with config.json as timm writes it for the tower at an
                   image-tower tag: create_model(pretrained_cfg_overlay=dict(num_classes=23)), so pretrained_cfg
                   (tag metaclip_2pt5b, the architecture's default) says num_classes 23 as the model has, as
                   timm's hub configs of vit_*_clip_*.openai / .laion2b towers do (num_classes 512 = the embedding
                   width): by that rule (docs/clip.md) vkvit runs the head as the projection, the embedding
  clip/<name>/expected.safetensors  timm's outputs in float64, stored fp32: input [3, 3, 35, 35] (already
                   normalised), embedding [3, 23] (timm's model(x): the projection), pooled [3, 45] (the
                   post_layernorm class token: forward_head(pre_logits=True)), cls_attention [2, 3, 50] (the class
                   token's attention, mean over heads), embedding_b1 [1, 23] (image 0 alone, a batch-1 run)

SigLIP (tests/data/siglip/tower): timm's vit_base_patch16_siglip_224 (no class token, global_pool 'map': timm's
AttentionPoolLatent, LayerNorm eps 1e-6, a patch conv with bias) shrunk the same way with num_classes 0 and
act_layer gelu_tanh (timm registers exact GELU; HF's SigLIP towers, and big_vision's, use the tanh form),
so timm's output is the pooled vector: the final norm on every token, then the probe attending over all of them
(q from the latent, kv from the tokens), proj, x + MLP(LN(x)). Written in HF's SiglipVisionModel names by to_hf_siglip
(modeling_siglip.py / convert_siglip_to_hf.py: head.probe, head.attention.in_proj_weight = [q; kv] as
nn.MultiheadAttention packs [q; k; v], head.attention.out_proj, head.layernorm, head.mlp) and in timm's (timm/):
  siglip/tower/expected.safetensors  input [3, 3, 35, 35], embedding [3, 45] (timm's model(x)), embedding_b1 [1, 45]

Deterministic: numpy PCG64 with fixed seeds, torch on one thread; --check regenerates into a temporary folder and
compares byte for byte.
"""
import json
import math
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_fixtures import ROOT, check_close, cli, store, write_safetensors  # noqa: E402

try:
    import timm
    from timm.models._hub import save_config_for_hf
except ImportError:
    sys.exit("timm not found: run with PYTHONPATH=<timm source> (e.g. /tmp/timm-src)")

torch.set_num_threads(1)

DIM, HEADS, LAYERS, MLP_RATIO, PROJ, IMAGE, PATCH, BATCH = 45, 3, 2, 4.0, 23, 35, 5, 3
REGEN = "PYTHONPATH=/tmp/timm-src /usr/bin/python3 tools/make_clip_fixtures.py"
SPECS = [
    dict(name="quickgelu", arch="vit_base_patch16_clip_quickgelu_224", act="quick_gelu", full=False, seed=1301),
    dict(name="gelu", arch="vit_base_patch32_clip_224", act="gelu", full=True, seed=1302),
]
MODEL_ARGS = dict(img_size=IMAGE, patch_size=PATCH, embed_dim=DIM, depth=LAYERS, num_heads=HEADS,
                  mlp_ratio=MLP_RATIO, num_classes=PROJ)


def build(s):
    m = timm.create_model(s["arch"], pretrained=False, **MODEL_ARGS).eval()
    # the architecture's own arguments, as this script relies on them
    assert m.norm_pre.__class__.__name__ == "LayerNorm" and m.norm_pre.eps == 1e-5, "pre_norm LayerNorm eps 1e-5"
    assert m.patch_embed.proj.bias is None, "CLIP's patch conv has no bias"
    assert m.cls_token is not None and m.global_pool == "token"
    act = type(m.blocks[0].mlp.act).__name__
    assert act == ("QuickGELU" if s["act"] == "quick_gelu" else "GELU"), act
    return m


def randomise(model, seed):
    """Every parameter seeded (LayerNorm gains 1 + noise, biases and tokens noisy, the head's bias zero as
    _convert_openai_clip makes it), so a wrong mapping moves the outputs."""
    rng = np.random.Generator(np.random.PCG64(seed))
    sd = model.state_dict()
    for name in sorted(sd):
        shape = tuple(sd[name].shape)
        if name == "head.bias":
            v = np.zeros(shape)
        elif "norm" in name and name.endswith(".weight"):
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


# ---- timm -> Hugging Face --------------------------------------------------------------------------------------
# timm's _convert_openai_clip renames OpenAI's visual.* (conv1 -> patch_embed.proj, class_embedding -> cls_token,
# positional_embedding -> pos_embed, ln_pre -> norm_pre, transformer.resblocks.i -> blocks.i, ln_1/2 -> norm1/2,
# attn.in_proj_* -> attn.qkv.*, attn.out_proj -> attn.proj, mlp.c_fc/c_proj -> mlp.fc1/fc2, ln_post -> norm,
# proj^T -> head.weight with a zero bias); transformers' convert_clip_original_pytorch_to_hf.py maps the same
# OpenAI tensors to vision_model.* (in_proj split into q/k/v in that order) and proj^T to visual_projection.weight.
BLOCK = {"norm1": "layer_norm1", "norm2": "layer_norm2", "attn.proj": "self_attn.out_proj", "mlp.fc1": "mlp.fc1",
         "mlp.fc2": "mlp.fc2"}


def to_hf(sd):
    hf = {"vision_model.embeddings.class_embedding": sd["cls_token"].reshape(DIM),
          "vision_model.embeddings.position_embedding.weight": sd["pos_embed"][0],
          "vision_model.embeddings.patch_embedding.weight": sd["patch_embed.proj.weight"],
          "vision_model.pre_layrnorm.weight": sd["norm_pre.weight"],
          "vision_model.pre_layrnorm.bias": sd["norm_pre.bias"],
          "vision_model.post_layernorm.weight": sd["norm.weight"],
          "vision_model.post_layernorm.bias": sd["norm.bias"],
          "visual_projection.weight": sd["head.weight"]}
    assert not sd["head.bias"].any(), "HF's visual_projection has no bias"
    for i in range(LAYERS):
        pre, out = f"blocks.{i}.", f"vision_model.encoder.layers.{i}."
        for part, kind in (("weight", sd[pre + "attn.qkv.weight"]), ("bias", sd[pre + "attn.qkv.bias"])):
            q, k, v = np.split(kind, 3, axis=0)
            hf[out + "self_attn.q_proj." + part], hf[out + "self_attn.k_proj." + part] = q, k
            hf[out + "self_attn.v_proj." + part] = v
        for src, dst in BLOCK.items():
            for part in ("weight", "bias"):
                hf[out + dst + "." + part] = sd[pre + src + "." + part]
    used = {"cls_token", "pos_embed", "patch_embed.proj.weight", "norm_pre.weight", "norm_pre.bias", "norm.weight",
            "norm.bias", "head.weight", "head.bias"}
    used |= {f"blocks.{i}.{n}.{p}" for i in range(LAYERS) for n in list(BLOCK) + ["attn.qkv"]
             for p in ("weight", "bias")}
    assert used == set(sd), f"timm tensors not mapped: {sorted(set(sd) - used)}"
    return {k: np.ascontiguousarray(v) for k, v in hf.items()}


def text_tower(seed):
    """A stand-in for a whole CLIPModel's text tower (names of modeling_clip.CLIPTextModel, 1 block of width 16,
    vocabulary 11, 5 positions), random: vkvit must leave it unused."""
    rng = np.random.Generator(np.random.PCG64(seed))
    w, t = 16, {}
    shapes = {"text_model.embeddings.token_embedding.weight": (11, w),
              "text_model.embeddings.position_embedding.weight": (5, w),
              "text_model.final_layer_norm.weight": (w,), "text_model.final_layer_norm.bias": (w,),
              "text_projection.weight": (PROJ, w), "logit_scale": ()}
    for n in ("q_proj", "k_proj", "v_proj", "out_proj"):
        shapes[f"text_model.encoder.layers.0.self_attn.{n}.weight"] = (w, w)
        shapes[f"text_model.encoder.layers.0.self_attn.{n}.bias"] = (w,)
    for name, shape in sorted(shapes.items()):
        t[name] = rng.standard_normal(shape).astype(np.float32)
    return t


def to_hf_siglip(sd):
    hf = {"vision_model.embeddings.patch_embedding.weight": sd["patch_embed.proj.weight"],
          "vision_model.embeddings.patch_embedding.bias": sd["patch_embed.proj.bias"],
          "vision_model.embeddings.position_embedding.weight": sd["pos_embed"][0],
          "vision_model.post_layernorm.weight": sd["norm.weight"], "vision_model.post_layernorm.bias": sd["norm.bias"],
          "vision_model.head.probe": sd["attn_pool.latent"],
          "vision_model.head.attention.in_proj_weight": np.concatenate([sd["attn_pool.q.weight"],
                                                                        sd["attn_pool.kv.weight"]]),
          "vision_model.head.attention.in_proj_bias": np.concatenate([sd["attn_pool.q.bias"], sd["attn_pool.kv.bias"]])}
    for src, dst in (("proj", "attention.out_proj"), ("norm", "layernorm"), ("mlp.fc1", "mlp.fc1"),
                     ("mlp.fc2", "mlp.fc2")):
        for part in ("weight", "bias"):
            hf[f"vision_model.head.{dst}.{part}"] = sd[f"attn_pool.{src}.{part}"]
    for i in range(LAYERS):
        pre, out = f"blocks.{i}.", f"vision_model.encoder.layers.{i}."
        for part in ("weight", "bias"):
            q, k, v = np.split(sd[pre + "attn.qkv." + part], 3, axis=0)
            hf[out + "self_attn.q_proj." + part], hf[out + "self_attn.k_proj." + part] = q, k
            hf[out + "self_attn.v_proj." + part] = v
            for src, dst in BLOCK.items():
                hf[out + dst + "." + part] = sd[pre + src + "." + part]
    used = {"patch_embed.proj.weight", "patch_embed.proj.bias", "pos_embed", "norm.weight", "norm.bias",
            "attn_pool.latent"}
    used |= {f"attn_pool.{n}.{p}" for n in ("q", "kv", "proj", "norm", "mlp.fc1", "mlp.fc2")
             for p in ("weight", "bias")}
    used |= {f"blocks.{i}.{n}.{p}" for i in range(LAYERS) for n in list(BLOCK) + ["attn.qkv"]
             for p in ("weight", "bias")}
    assert used == set(sd), f"timm tensors not mapped: {sorted(set(sd) ^ used)}"
    return {k: np.ascontiguousarray(v) for k, v in hf.items()}


def siglip_config():
    return json.dumps({"architectures": ["SiglipVisionModel"], "model_type": "siglip_vision_model",
                       "hidden_size": DIM, "intermediate_size": int(DIM * MLP_RATIO), "num_hidden_layers": LAYERS,
                       "num_attention_heads": HEADS, "num_channels": 3, "image_size": IMAGE, "patch_size": PATCH,
                       "hidden_act": "gelu_pytorch_tanh", "layer_norm_eps": 1e-6, "attention_dropout": 0.0},
                      indent=2) + "\n"


def make_siglip(out):
    s = dict(arch="vit_base_patch16_siglip_224", seed=1401)
    d = out / "siglip" / "tower"
    (d / "timm").mkdir(parents=True, exist_ok=True)
    args = dict(MODEL_ARGS, num_classes=0, act_layer="gelu_tanh")  # timm's arch has exact GELU; HF's towers tanh
    torch.manual_seed(s["seed"])

    def make(dtype=torch.float32):
        return timm.create_model(s["arch"], pretrained=False, **args).eval().to(dtype)
    model = make()
    assert model.cls_token is None and model.global_pool == "map" and model.patch_embed.proj.bias is not None
    act = model.blocks[0].mlp.act
    assert (type(act).__name__ == "GELUTanh" or getattr(act, "approximate", "") == "tanh") and model.norm.eps == 1e-6
    randomise(model, s["seed"])
    sd = numpy_state(model)
    write_safetensors(d / "model.safetensors", {k: store(v, "F32") for k, v in sorted(to_hf_siglip(sd).items())},
                      {"format": "pt"})
    (d / "config.json").write_text(siglip_config())
    write_safetensors(d / "timm" / "model.safetensors", {k: store(v, "F32") for k, v in sorted(sd.items())},
                      {"format": "pt"})
    with tempfile.TemporaryDirectory() as tmp:
        p = Path(tmp) / "config.json"
        save_config_for_hf(model, p, model_args=args)
        (d / "timm" / "config.json").write_text(json.dumps(json.loads(p.read_text()), indent=2) + "\n")
    x = make_input(s["seed"] + 1000)

    def run(xs, dtype):
        m = make(dtype)
        m.load_state_dict({k: v.to(dtype) for k, v in model.state_dict().items()})
        with torch.no_grad():
            return m(torch.from_numpy(xs).to(dtype))
    emb, e32, b1 = run(x, torch.float64), run(x, torch.float32), run(x[:1], torch.float64)
    res = check_close("fp32 vs fp64 embedding", e32, emb, 1e-4)
    check_close("batch 1 vs row 0 of batch 3", b1, emb[:1], 1e-12)
    write_safetensors(d / "expected.safetensors", {"input": store(x, "F32"), "embedding": store(emb.numpy(), "F32"),
                                                    "embedding_b1": store(b1.numpy(), "F32")}, {"format": "pt"})
    print(f"siglip: embedding std {float(emb.std()):.2f}; timm fp32 vs fp64 {res:.1e}")
    (out / "siglip" / "README.md").write_text(
        "# `siglip`: a tiny SigLIP vision tower in Hugging Face's and timm's layouts (generated)\n\n"
        f"Written by `tools/make_clip_fixtures.py` (its docstring says what each file holds and the timm -> HF "
        f"renaming); regenerate with `{REGEN}`. Generated with torch {torch.__version__}, timm {timm.__version__}, "
        f"numpy {np.__version__}.\n\n`tower`: timm's `{s['arch']}` + model_args: hidden {DIM}, {HEADS} heads, "
        f"{LAYERS} blocks, MLP {int(DIM * MLP_RATIO)}, {IMAGE}x{IMAGE} images in {PATCH}x{PATCH} patches (49 tokens, "
        f"no class token), the attention-pooling head; embedding std {float(emb.std()):.2f}, timm float32 vs "
        f"float64 {res:.1e}.\n")


def vision_config(s):
    return {"hidden_size": DIM, "intermediate_size": int(DIM * MLP_RATIO), "projection_dim": PROJ,
            "num_hidden_layers": LAYERS, "num_attention_heads": HEADS, "num_channels": 3, "image_size": IMAGE,
            "patch_size": PATCH, "hidden_act": s["act"], "layer_norm_eps": 1e-5, "attention_dropout": 0.0,
            "initializer_range": 0.02, "initializer_factor": 1.0}


def hf_config(s):
    if s["full"]:
        cfg = {"architectures": ["CLIPModel"], "model_type": "clip", "projection_dim": PROJ,
               "logit_scale_init_value": 2.6592, "text_config": {"model_type": "clip_text_model", "hidden_size": 16},
               "vision_config": dict(vision_config(s), model_type="clip_vision_model")}
    else:
        cfg = dict(vision_config(s), architectures=["CLIPVisionModelWithProjection"], model_type="clip_vision_model")
    return json.dumps(cfg, indent=2) + "\n"


def timm_config(model):
    """config.json exactly as timm's push_to_hub / save_for_hf writes it (of the model as built: its
    pretrained_cfg included)."""
    with tempfile.TemporaryDirectory() as tmp:
        p = Path(tmp) / "config.json"
        save_config_for_hf(model, p, model_args=MODEL_ARGS)
        return json.dumps(json.loads(p.read_text()), indent=2) + "\n"


# ---- timm's outputs --------------------------------------------------------------------------------------------
def run(s, model, x, dtype):
    """The projection (timm's model(x)), the post_layernorm class token, class-token attention [L, B, T]."""
    m = build(s).to(dtype)
    m.load_state_dict({k: v.to(dtype) for k, v in model.state_dict().items()})
    maps = []
    hooks = [b.attn.attn_drop.register_forward_hook(lambda mod, inp, out: maps.append(inp[0][:, :, 0, :].mean(1)))
             for b in m.blocks]
    with torch.no_grad():
        xt = torch.from_numpy(x).to(dtype)
        tokens = m.forward_features(xt)
        pooled = m.forward_head(tokens, pre_logits=True)
        emb = m.forward_head(tokens)
        assert torch.equal(emb, m(xt)), "forward_head(forward_features) is not model(x)"
    for h in hooks:
        h.remove()
    assert len(maps) == 2 * LAYERS
    return emb, pooled, torch.stack(maps[:LAYERS])


def make_input(seed):
    rng = np.random.Generator(np.random.PCG64(seed))
    x = rng.uniform(-1.8, 2.1, (BATCH, 3, IMAGE, IMAGE))  # pixels already normalised (CLIP's mean/std span)
    ramp = np.linspace(-1.0, 1.0, IMAGE)
    x[1] = 0.7 * x[1] + 0.3 * ramp[None, :, None]
    return x.astype(np.float32)


def generate(out):
    notes = []
    for s in SPECS:
        d = out / "clip" / s["name"]
        d.mkdir(parents=True, exist_ok=True)
        torch.manual_seed(s["seed"])
        model = build(s)
        randomise(model, s["seed"])
        sd = numpy_state(model)
        hf = to_hf(sd)
        if s["full"]:
            hf.update(text_tower(s["seed"] + 500))
        write_safetensors(d / "model.safetensors", {k: store(v, "F32") for k, v in sorted(hf.items())},
                          {"format": "pt"})
        (d / "config.json").write_text(hf_config(s))
        if not s["full"]:
            (d / "vision-model").mkdir(exist_ok=True)
            write_safetensors(d / "vision-model" / "model.safetensors",
                              {k: store(v, "F32") for k, v in sorted(hf.items()) if k != "visual_projection.weight"},
                              {"format": "pt"})
            cfg = json.loads(hf_config(s))
            cfg["architectures"] = ["CLIPVisionModel"]
            (d / "vision-model" / "config.json").write_text(json.dumps(cfg, indent=2) + "\n")
        (d / "timm").mkdir(exist_ok=True)
        write_safetensors(d / "timm" / "model.safetensors", {k: store(v, "F32") for k, v in sorted(sd.items())},
                          {"format": "pt"})
        (d / "timm" / "config.json").write_text(timm_config(model))
        if not s["full"]:  # the image tower at its tag: pretrained_cfg's num_classes is the model's
            tower = timm.create_model(s["arch"], pretrained=False, pretrained_cfg_overlay=dict(num_classes=PROJ),
                                      **MODEL_ARGS)
            assert tower.pretrained_cfg["num_classes"] == PROJ and "_ft_" not in tower.pretrained_cfg["tag"]
            (d / "timm-tower").mkdir(exist_ok=True)
            write_safetensors(d / "timm-tower" / "model.safetensors",
                              {k: store(v, "F32") for k, v in sorted(sd.items())}, {"format": "pt"})
            (d / "timm-tower" / "config.json").write_text(timm_config(tower))
        x = make_input(s["seed"] + 1000)
        emb, pooled, att = run(s, model, x, torch.float64)
        e32, p32, _ = run(s, model, x, torch.float32)
        b1 = run(s, model, x[:1], torch.float64)[0]
        res = {"embedding": check_close("fp32 vs fp64 embedding", e32, emb, 1e-4),
               "pooled": check_close("fp32 vs fp64 pooled", p32, pooled, 1e-4)}
        check_close("batch 1 vs row 0 of batch 3", b1, emb[:1], 1e-12)
        t = {"input": store(x, "F32"), "embedding": store(emb.numpy(), "F32"), "pooled": store(pooled.numpy(), "F32"),
             "cls_attention": store(att.numpy(), "F32"), "embedding_b1": store(b1.numpy(), "F32")}
        write_safetensors(d / "expected.safetensors", t, {"format": "pt"})
        notes.append(dict(s, tensors=len(hf), res=res, std=float(emb.std())))
        print(f"{s['name']}: {len(hf)} HF tensors; embedding std {float(emb.std()):.2f}; timm fp32 vs fp64 "
              + ", ".join(f"{k} {v:.1e}" for k, v in res.items()))
    (out / "clip" / "README.md").write_text(readme(notes))
    make_siglip(out)


def readme(notes):
    lines = ["# `clip`: tiny CLIP vision towers in Hugging Face's layout (generated)", "",
             f"Written by `tools/make_clip_fixtures.py`; do not edit by hand (its docstring says what each file "
             f"holds and the timm -> HF renaming). Regenerate with `{REGEN}` (`--check` regenerates into a temporary "
             f"folder and compares byte for byte). Generated with torch {torch.__version__}, timm "
             f"{timm.__version__}, numpy {np.__version__}.", "",
             "| fixture | timm architecture | activation | HF config | tensors |", "| --- | --- | --- | --- | --- |"]
    for n in notes:
        kind = "CLIPModel (model_type clip, + a text tower)" if n["full"] else "CLIPVisionModelWithProjection"
        lines.append(f"| `{n['name']}` | `{n['arch']}` + model_args | {n['act']} | {kind} | {n['tensors']} |")
    lines += ["", "Each also in timm's names under `<fixture>/timm/` (state dict + timm's config.json).", "",
              f"Every tower: hidden {DIM}, {HEADS} heads, {LAYERS} blocks, MLP {int(DIM * MLP_RATIO)}, "
              f"projection {PROJ}, {IMAGE}x{IMAGE} images in {PATCH}x{PATCH} patches (7x7 grid, 50 tokens), "
              "LayerNorm eps 1e-5.", ""]
    for n in notes:
        lines.append(f"`{n['name']}`: embedding std {n['std']:.2f}; timm float32 vs float64 (relative L2): "
                     + ", ".join(f"{k} {v:.1e}" for k, v in n["res"].items()) + ".")
    return "\n".join(lines) + "\n"


def main():
    return cli(__doc__.split("\n")[0], generate, ROOT / "tests" / "data")


if __name__ == "__main__":
    sys.exit(main())
