#!/usr/bin/python3
"""Write the fixtures that come from timm's own code (committed; CI never runs timm or PyTorch).

Run with Debian's PyTorch and SciPy and timm's source (not a Debian package; any checkout of
huggingface/pytorch-image-models, e.g. unpacked at /tmp/timm-src):

    PYTHONPATH=/tmp/timm-src /usr/bin/python3 tools/make_timm_fixtures.py [--check]

It writes
  src/timm_archs.h                 every architecture registered in timm's vision_transformer.py and deit.py, and
                                   their deprecated names: the arguments timm's model function passes to
                                   VisionTransformer(...) (captured, not read from the source), for config.c
  tests/data/timm-configs.json     config.json files as timm writes them (timm.models._hub.save_config_for_hf)
                                   for every one of those architectures and for architectures with model_args,
                                   each with the dimensions of the model timm.create_model builds from it, the
                                   fields that make it a model vkvit does not run, or timm's own error
  tests/data/posembed.safetensors  position-embedding grids and their resamplings by
                                   torch.nn.functional.interpolate (bicubic, antialias False / True) and
                                   scipy.ndimage.zoom(order=1)
  tests/data/timm-resize/, tests/data/timm-deit-resize/
                                   a tiny timm model (random weights) saved at one image size, and the outputs
                                   timm computes at other sizes after loading it the timm way (checkpoint_filter_fn
                                   resamples the position embedding)
  tests/data/timm-README.md        what all this is
--check regenerates into a temporary folder and compares byte for byte. Deterministic: seeded numpy streams,
torch on one thread, float64 forwards.
"""
import argparse
import functools
import warnings
import inspect
import json
import math
import sys
import tempfile
from pathlib import Path

import numpy as np
import scipy
import scipy.ndimage
import torch
import torch.nn.functional as F

import timm
import timm.layers
from timm.models import deit as timm_deit
from timm.models import vision_transformer as timm_vit
from timm.models._hub import save_config_for_hf
from timm.models._registry import _module_to_deprecated_models

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_fixtures import read_safetensors, store, write_safetensors  # noqa: E402

torch.set_num_threads(1)
warnings.filterwarnings("ignore", message="Mapping deprecated model name")
ROOT = Path(__file__).resolve().parent.parent
REGEN = "PYTHONPATH=/tmp/timm-src /usr/bin/python3 tools/make_timm_fixtures.py"
MODULES = ["vision_transformer", "deit"]

# ----------------------------------------------------------------------------------------------------------
# What timm passes to VisionTransformer for each architecture
# ----------------------------------------------------------------------------------------------------------
VIT_INIT = {k: p.default for k, p in inspect.signature(timm_vit.VisionTransformer.__init__).parameters.items()
            if p.default is not inspect.Parameter.empty}
LN_EPS = inspect.signature(timm.layers.LayerNorm.__init__).parameters["eps"].default
# Arguments that do not change what a model computes at inference (or only at other input sizes).
IGNORED = {"dynamic_img_size", "drop_rate", "pos_drop_rate", "patch_drop_rate", "proj_drop_rate", "attn_drop_rate",
           "drop_path_rate", "weight_init", "fix_init", "pool_include_prefix", "device", "dtype", "cache_dir"}
# The fields of a row of src/timm_archs.h; everything else that differs from VisionTransformer's default goes to
# the row's `other` text.
ROW_FIELDS = {"img_size", "patch_size", "in_chans", "num_classes", "embed_dim", "depth", "num_heads", "mlp_ratio",
              "qkv_bias", "class_token", "reg_tokens", "no_embed_class", "global_pool", "init_values", "pre_norm",
              "fc_norm", "act_layer", "norm_layer"}


class _Captured(Exception):
    pass


def capture(name):
    """(class name, kwargs) that timm.create_model(name) hands to the model class."""
    def recording(cls):
        def init(self, *args, **kwargs):
            raise _Captured(cls.__name__, kwargs)
        return type(cls.__name__, (cls,), {"__init__": init})
    saved = (timm_vit.VisionTransformer, timm_deit.VisionTransformer, timm_deit.VisionTransformerDistilled)
    timm_vit.VisionTransformer = timm_deit.VisionTransformer = recording(saved[0])
    timm_deit.VisionTransformerDistilled = recording(saved[2])
    try:
        timm.create_model(name)
    except _Captured as c:
        return c.args
    finally:
        timm_vit.VisionTransformer, timm_deit.VisionTransformer, timm_deit.VisionTransformerDistilled = saved
    raise RuntimeError(f"{name}: no VisionTransformer built")


def describe(v):
    """A constructor argument as text: classes and partials by name."""
    if isinstance(v, functools.partial):
        kw = ", ".join(f"{k}={describe(x)}" for k, x in sorted(v.keywords.items()))
        return f"{v.func.__name__}({kw})"
    if isinstance(v, type):
        return v.__name__
    return repr(v)


def square(v, what, name):
    v = tuple(v) if isinstance(v, (tuple, list)) else (v, v)
    assert v[0] == v[1], f"{name}: {what} {v} is not square"
    return int(v[0])


def arch_row(name):
    cls, kw = capture(name)
    unknown = set(kw) - set(VIT_INIT) - IGNORED
    assert not unknown, f"{name}: arguments this script does not know: {unknown}"
    a = dict(VIT_INIT, **kw)
    norm, eps = a["norm_layer"], 0.0
    if norm is None or norm == "layernorm":
        eps = LN_EPS
    elif isinstance(norm, functools.partial) and norm.func is timm.layers.LayerNorm and set(norm.keywords) == {"eps"}:
        eps = norm.keywords["eps"]
    act = a["act_layer"]
    other = [f"{k}={describe(v)}" for k, v in kw.items()
             if k not in ROW_FIELDS and k not in IGNORED and v != VIT_INIT[k]]
    if eps == 0.0:
        other.insert(0, f"norm_layer={describe(norm)}")
    return dict(name=name, embed_dim=a["embed_dim"], depth=a["depth"], num_heads=a["num_heads"],
                mlp_ratio=float(a["mlp_ratio"]), patch=square(a["patch_size"], "patch_size", name),
                img=square(a["img_size"], "img_size", name), in_chans=int(a["in_chans"]),
                num_classes=int(a["num_classes"]), eps=float(eps), qkv_bias=bool(a["qkv_bias"]),
                distilled=cls == "VisionTransformerDistilled", class_token=bool(a["class_token"]),
                reg_tokens=int(a["reg_tokens"]), no_embed_class=bool(a["no_embed_class"]),
                global_pool=a["global_pool"], init_values=float(a["init_values"] or 0.0), pre_norm=bool(a["pre_norm"]),
                fc_norm=-1 if a["fc_norm"] is None else int(bool(a["fc_norm"])),
                act="" if act is None else act if isinstance(act, str) else act.__name__,
                other=", ".join(other))


def arch_names():
    """The registered architectures, and the deprecated names timm still builds (some point at pretrained tags
    that no longer exist: timm.create_model fails for those, and so they are not architectures)."""
    names = sorted(timm.list_models(module=MODULES))
    deprecated = {}
    for m in MODULES:
        deprecated.update(_module_to_deprecated_models.get(m, {}))
    buildable = {}
    for old, new in sorted(deprecated.items()):
        try:
            capture(old)
            buildable[old] = new
        except RuntimeError:
            pass
    return names, buildable, sorted(set(deprecated) - set(buildable))


def c_string(s):
    return "NULL" if s is None else json.dumps(s)


def c_double(v):
    r = repr(float(v))
    return r if ("." in r or "e" in r) else r + ".0"


def write_arch_header(path, rows):
    o = ["/* timm's ViT and DeiT architectures: what each model function passes to VisionTransformer(...), with",
         " * VisionTransformer's own defaults filled in. GENERATED by tools/make_timm_fixtures.py from timm "
         f"{timm.__version__}",
         " * (timm.create_model(name) run with the model class replaced by a recorder); do not edit. Included by",
         " * config.c only; tests/test_config.c checks every row against the model timm builds.",
         " * Fields: name, embed_dim, depth, num_heads, patch_size, img_size and in_chans (the default pretrained",
         " * tag's input_size), num_classes (the default tag's), mlp_ratio, LayerNorm eps (0: the norm is not a",
         " * LayerNorm), qkv_bias, distilled (VisionTransformerDistilled), class_token, reg_tokens, no_embed_class,",
         " * global_pool, init_values (0 = None), pre_norm, fc_norm (-1 = None), act_layer (\"\" = None: GELU),",
         " * other (the arguments that differ from VisionTransformer's defaults and have no field here; NULL if",
         " * none). timm_init_defaults: VisionTransformer's own defaults, for names timm does not register. */",
         "",
         "static const timm_arch timm_init_defaults =",
         row_text(dict(arch_row_defaults(), name=None)) + ";",
         "",
         "static const timm_arch timm_archs[] = {"]
    o += [row_text(r) + "," for r in rows]
    o += ["};", ""]
    path.write_text("\n".join(o))


def arch_row_defaults():
    a = VIT_INIT
    return dict(embed_dim=a["embed_dim"], depth=a["depth"], num_heads=a["num_heads"], mlp_ratio=float(a["mlp_ratio"]),
                patch=square(a["patch_size"], "patch_size", "defaults"), img=square(a["img_size"], "img", "defaults"),
                in_chans=a["in_chans"], num_classes=a["num_classes"], eps=float(LN_EPS), qkv_bias=a["qkv_bias"], distilled=False, class_token=a["class_token"],
                reg_tokens=a["reg_tokens"], no_embed_class=a["no_embed_class"], global_pool=a["global_pool"],
                init_values=0.0, pre_norm=a["pre_norm"], fc_norm=-1, act="", other="")


def row_text(r, indent="    "):
    """One initializer, wrapped at field boundaries (a long `other` as adjacent string literals split after its
    commas) so that no line passes 120 columns with the comma after it."""
    b = lambda v: "true" if v else "false"
    fields = [c_string(r["name"]), r["embed_dim"], r["depth"], r["num_heads"], r["patch"], r["img"], r["in_chans"],
              r["num_classes"], c_double(r["mlp_ratio"]), c_double(r["eps"]), b(r["qkv_bias"]), b(r["distilled"]),
              b(r["class_token"]), r["reg_tokens"], b(r["no_embed_class"]), c_string(r["global_pool"]),
              c_double(r["init_values"]), b(r["pre_norm"]), r["fc_norm"], c_string(r["act"])]
    words = [f"{f}," for f in fields]
    if r["other"]:
        chunks = [""]
        for part in r["other"].split(", "):
            if chunks[-1] and len(chunks[-1]) + len(part) > 80:
                chunks.append("")
            chunks[-1] += (", " if chunks[-1] else "") + part
        words += [json.dumps(c + (", " if k + 1 < len(chunks) else "")) for k, c in enumerate(chunks)]
    else:
        words.append("NULL")
    words[0] = "{" + words[0]
    words[-1] += "}"
    lines, line = [], indent
    for w in words:
        if line.strip() and len(line) + 1 + len(w) > 119:
            lines.append(line)
            line = indent + "    "
        line += ("" if not line.strip() else " ") + w
    lines.append(line)
    return "\n".join(lines)


# ----------------------------------------------------------------------------------------------------------
# The model timm builds: its dimensions, and what in it vkvit does not run
# ----------------------------------------------------------------------------------------------------------
def model_dims(m):
    blk = m.blocks[0] if len(m.blocks) else None
    attn, mlp = getattr(blk, "attn", None), getattr(blk, "mlp", None)
    act = getattr(mlp, "act", None)
    gelu = None
    if isinstance(act, torch.nn.GELU):
        gelu = "tanh" if act.approximate == "tanh" else "erf"
    elif type(act).__name__ == "GELUTanh":
        gelu = "tanh"
    elif type(act).__name__ == "GELU":
        gelu = "erf"
    elif type(act).__name__ == "QuickGELU":
        gelu = "quick"
    w = m.patch_embed.proj.weight
    return dict(hidden=int(w.shape[0]), channels=int(w.shape[1]), patch=int(w.shape[2]),
                image=int(m.patch_embed.img_size[0]), layers=len(m.blocks),
                heads=int(getattr(attn, "num_heads", 0)),
                mlp=int(mlp.fc1.out_features) if hasattr(mlp, "fc1") else 0,
                classes=int(m.num_classes), distilled=getattr(m, "dist_token", None) is not None,
                qkv_bias=hasattr(attn, "qkv") and attn.qkv.bias is not None,
                eps=float(m.norm.eps) if hasattr(m.norm, "eps") else 0.0, gelu=gelu,
                pre_norm=not isinstance(m.norm_pre, torch.nn.Identity),
                tokens=int(m.patch_embed.num_patches + m.num_prefix_tokens))


def unsupported(m, d):
    """The VisionTransformer arguments whose values make `m` a model vkvit does not run: read off the modules."""
    ident = lambda mod: isinstance(mod, torch.nn.Identity)
    out = []
    blk = m.blocks[0] if len(m.blocks) else None
    pool = getattr(m, "attn_pool", None)
    siglip = m.cls_token is None and m.global_pool == "map" and type(pool).__name__ == "AttentionPoolLatent" and \
        pool.latent_len == 1 and pool.pos_embed is None and isinstance(pool.q_norm, torch.nn.Identity) and \
        pool.pool == "token" and isinstance(pool.q, torch.nn.Linear) and pool.mlp is not None  # SigLIP's head
    if m.patch_embed.img_size[0] % m.patch_embed.patch_size[0]:
        out.append("patch_size")  # a grid that leaves pixels out (vit_so400m_patch14_siglip_384)
    if m.cls_token is None and not siglip:
        out.append("class_token")
    if (m.global_pool != "token" or pool is not None) and not siglip:
        out.append("global_pool")
    if not ident(m.norm_pre) and not isinstance(m.norm_pre, (timm.layers.LayerNorm, torch.nn.LayerNorm)):
        out.append("pre_norm")
    if not ident(m.fc_norm):
        out.append("fc_norm")
    if ident(m.norm) and ident(m.fc_norm):
        out.append("final_norm")
    if not isinstance(m.norm, (timm.layers.LayerNorm, torch.nn.LayerNorm)) and not ident(m.norm):
        out.append("norm_layer")
    if m.pos_embed is None:
        out.append("pos_embed")
    if getattr(m.patch_embed, "norm", None) is not None and not ident(m.patch_embed.norm):
        out.append("embed_norm_layer")
    if getattr(m.patch_embed, "dynamic_img_pad", False):
        out.append("dynamic_img_pad")
    if blk is not None:
        if type(blk) is not timm_vit.Block:
            out.append("block_fn")
        elif type(blk.mlp) is not timm.layers.Mlp:
            out.append("mlp_layer")
        elif d["gelu"] is None:
            out.append("act_layer")
        if type(blk).__name__ == "Block" and type(blk.attn) is not timm.layers.Attention:
            out.append("attn_layer")
        elif type(blk).__name__ == "Block":
            if not ident(blk.attn.q_norm):
                out.append("qk_norm")
            if not ident(blk.attn.norm):
                out.append("scale_attn_norm")
            if blk.attn.proj.bias is None:
                out.append("proj_bias")
        if hasattr(getattr(blk, "mlp", None), "norm") and not ident(blk.mlp.norm):
            out.append("scale_mlp_norm")
    return out


def hub_config(m, args):
    """config.json exactly as timm's push_to_hub / save_for_hf writes it."""
    with tempfile.TemporaryDirectory() as tmp:
        p = Path(tmp) / "config.json"
        save_config_for_hf(m, p, model_args=args or None)
        return json.loads(p.read_text())


def config_case(what, arch, args, config=None):
    """One case of tests/data/timm-configs.json."""
    try:
        m = timm.create_model(arch, device="meta", **args)
    except Exception as e:  # noqa: BLE001 - timm refusing is the expected answer here
        return dict(what=what, config=config or {"architecture": arch, "model_args": args},
                    timm_error=f"{type(e).__name__}: {e}")
    d = model_dims(m)
    case = dict(what=what, config=config or hub_config(m, args))
    bad = unsupported(m, d)
    if bad:
        case["unsupported"] = bad
    else:
        case["expect"] = d
    return case


# Architectures with model_args: the cases a table of defaults alone would get wrong (inputs, not expectations).
OVERRIDES = [
    ("embed_dim only: mlp = mlp_ratio x the new width", "vit_small_patch16_224", {"embed_dim": 96}),
    ("embed_dim 64 with vit_small's 6 heads: timm refuses", "vit_small_patch16_224", {"embed_dim": 64}),
    ("embed_dim 64 and heads 4", "vit_small_patch16_224", {"embed_dim": 64, "num_heads": 4}),
    ("a tiny timm model as vkvit's fixtures write it", "vit_base_patch16_224",
     {"img_size": 28, "patch_size": 4, "embed_dim": 48, "depth": 2, "num_heads": 3, "mlp_ratio": 2.5,
      "num_classes": 7}),
    ("mlp_ratio x embed_dim not an integer: timm truncates", "vit_tiny_patch16_224",
     {"embed_dim": 30, "num_heads": 3, "mlp_ratio": 2.55, "depth": 1}),
    ("vit_giant's mlp_ratio 48/11 on another width", "vit_giant_patch14_224",
     {"embed_dim": 88, "num_heads": 4, "depth": 2}),
    ("img_size and patch_size as [h, w]", "vit_tiny_patch16_224", {"img_size": [48, 48], "patch_size": [8, 8]}),
    ("distilled DeiT at another size", "deit_tiny_distilled_patch16_224", {"img_size": 48, "patch_size": 8}),
    ("num_classes 0: a backbone", "deit_small_patch16_224", {"num_classes": 0, "depth": 3}),
    ("qkv_bias back on for the MIIL model", "vit_base_patch16_224_miil", {"qkv_bias": True}),
    ("qkv_bias off", "vit_tiny_patch16_224", {"qkv_bias": False}),
    ("a GAP model given its class token back", "vit_base_patch16_gap_224",
     {"class_token": True, "global_pool": "token"}),
    ("SigLIP given a class token: plain ViT with tanh GELU", "vit_base_patch32_siglip_256",
     {"class_token": True, "global_pool": "token", "num_classes": 10}),
    ("act_layer gelu_tanh", "vit_tiny_patch16_224", {"act_layer": "gelu_tanh"}),
    ("act_layer gelu", "vit_tiny_patch16_224", {"act_layer": "gelu"}),
    ("norm_layer layernorm", "vit_tiny_patch16_224", {"norm_layer": "layernorm"}),
    ("dynamic_img_size and drop rates change nothing at inference", "vit_tiny_patch16_224",
     {"dynamic_img_size": True, "drop_rate": 0.1, "drop_path_rate": 0.1}),
    ("init_values None on DeiT III: no LayerScale, still no_embed_class", "deit3_small_patch16_224",
     {"init_values": None}),
    ("act_layer quick_gelu", "vit_tiny_patch16_224", {"act_layer": "quick_gelu"}),
    ("act_layer silu", "vit_tiny_patch16_224", {"act_layer": "silu"}),
    ("class_token False", "vit_tiny_patch16_224", {"class_token": False, "global_pool": "avg"}),
    ("reg_tokens 4", "vit_tiny_patch16_224", {"reg_tokens": 4}),
    ("no_embed_class", "vit_tiny_patch16_224", {"no_embed_class": True}),
    ("global_pool avg", "vit_tiny_patch16_224", {"global_pool": "avg"}),
    ("global_pool map", "vit_tiny_patch16_224", {"global_pool": "map"}),
    ("init_values (LayerScale)", "vit_tiny_patch16_224", {"init_values": 1e-5}),
    ("pre_norm", "vit_tiny_patch16_224", {"pre_norm": True}),
    ("fc_norm True", "vit_tiny_patch16_224", {"fc_norm": True}),
    ("final_norm False", "vit_tiny_patch16_224", {"final_norm": False}),
    ("qk_norm", "vit_tiny_patch16_224", {"qk_norm": True}),
    ("proj_bias False", "vit_tiny_patch16_224", {"proj_bias": False}),
    ("norm_layer rmsnorm", "vit_tiny_patch16_224", {"norm_layer": "rmsnorm"}),
    ("an argument VisionTransformer does not take: timm refuses", "vit_tiny_patch16_224", {"embed_dims": 64}),
    ("heads not dividing the width: timm refuses", "vit_tiny_patch16_224", {"num_heads": 5}),
]


def config_cases():
    names, deprecated, broken = arch_names()
    cases = [config_case(f"{n} as registered", n, {}) for n in names]
    for old, new in deprecated.items():
        cases.append(config_case(f"{old}, deprecated name of {new}", old, {}, config={"architecture": old}))
    for old in broken:
        cases.append(config_case(f"{old}, a deprecated name timm no longer builds", old, {},
                                 config={"architecture": old}))
    cases += [config_case(f"{arch} + {json.dumps(args)}: {what}", arch, args) for what, arch, args in OVERRIDES]
    return cases


# ----------------------------------------------------------------------------------------------------------
# Position-embedding resampling references
# ----------------------------------------------------------------------------------------------------------
POS_CASES = [(7, 7, 5, 5), (3, 3, 11, 11), (14, 14, 24, 24), (24, 24, 14, 14), (4, 6, 9, 5), (5, 5, 5, 5),
             (2, 2, 1, 1), (1, 1, 3, 3), (16, 16, 7, 7),
             (37, 37, 16, 16), (37, 37, 32, 32)]  # DINOv2's 518 px grid (patch 14) run at 224 and 448 px
POS_DIM = 5


def posembed_data(cases=POS_CASES, dim=POS_DIM, seed=1200):
    t = {}
    rng = np.random.Generator(np.random.PCG64(seed))
    for gh, gw, oh, ow in cases:
        grid = rng.standard_normal((gh, gw, dim)).astype(np.float32)
        key = f"{gh}x{gw}-{oh}x{ow}"
        t[f"in.{key}"] = store(grid, "F32")
        x = torch.from_numpy(grid).permute(2, 0, 1)[None]  # timm: [1, D, gh, gw] in float32
        for mode, aa in (("bicubic", False), ("bicubic_aa", True)):
            for suffix, xt in (("", x.double()), ("_f32", x)):  # PyTorch's algorithm in float64, and as timm runs it
                y = F.interpolate(xt, size=(oh, ow), mode="bicubic", align_corners=False, antialias=aa)
                t[f"{mode}{suffix}.{key}"] = store(y[0].permute(1, 2, 0).numpy(), "F32")
        z = scipy.ndimage.zoom(grid.astype(np.float64), (oh / gh, ow / gw, 1), order=1)
        assert z.shape == (oh, ow, dim), (key, z.shape)
        t[f"zoom.{key}"] = store(z, "F32")
    return t


# ----------------------------------------------------------------------------------------------------------
# Tiny timm models saved at one size, run at others
# ----------------------------------------------------------------------------------------------------------
RESIZE = [
    dict(name="timm-resize", arch="vit_small_patch16_224", seed=1201, sizes=[20, 44],
         args={"img_size": 28, "patch_size": 4, "embed_dim": 48, "depth": 2, "num_heads": 3, "mlp_ratio": 2.5,
               "num_classes": 7},
         note="grid 7 saved; run at 20 (grid 5: shrinking, where timm's antialiased bicubic differs most from "
              "plain bicubic) and 44 (grid 11)"),
    dict(name="timm-deit-resize", arch="deit_tiny_distilled_patch16_224", seed=1202, sizes=[44, 20],
         args={"img_size": 12, "patch_size": 4, "embed_dim": 36, "depth": 2, "num_heads": 2, "num_classes": 5},
         note="distilled DeiT (class + distillation token rows kept), grid 3 saved; run at 44 (grid 11) and 20 "
              "(grid 5)"),
]
BATCH = 2


def randomize(model, seed):
    """Well-scaled random weights (timm's init is too small for a resampling mistake to show): LayerNorm weights
    1 + N(0, 0.1), biases N(0, 0.05), tokens N(0, 0.3), the position embedding N(0, 0.5), matrices N(0, 1/fan_in)
    (q and k twice that, so attention is far from uniform)."""
    rng = np.random.Generator(np.random.PCG64(seed))
    sd = {}
    for k, v in model.state_dict().items():
        shape = tuple(v.shape)
        if k.endswith("norm1.weight") or k.endswith("norm2.weight") or k == "norm.weight":
            a = 1.0 + 0.1 * rng.standard_normal(shape)
        elif k.endswith(".bias"):
            a = 0.05 * rng.standard_normal(shape)
        elif k in ("cls_token", "dist_token"):
            a = 0.3 * rng.standard_normal(shape)
        elif k == "pos_embed":
            a = 0.5 * rng.standard_normal(shape)
        else:
            fan_in = int(np.prod(shape[1:]))
            a = rng.standard_normal(shape) / math.sqrt(fan_in)
            if k.endswith("attn.qkv.weight"):
                a[: 2 * shape[1]] *= 2.0
        sd[k] = torch.from_numpy(a.astype(np.float32))
    model.load_state_dict(sd)


@torch.no_grad()
def timm_outputs(m, x):
    """logits, the final-LayerNorm class token, and the class token's head-averaged attention per layer, from timm's
    own modules (the attention probabilities from each block's qkv, as timm's Attention computes them)."""
    h = m.norm_pre(m._pos_embed(m.patch_embed(x)))
    att = []
    for blk in m.blocks:
        a, y = blk.attn, blk.norm1(h)
        B, T, C = y.shape
        q, k, _ = a.qkv(y).reshape(B, T, 3, a.num_heads, a.head_dim).permute(2, 0, 3, 1, 4).unbind(0)
        p = ((q * a.scale) @ k.transpose(-2, -1)).softmax(-1)
        att.append(p.mean(1)[:, 0, :])
        h = blk(h)
    feats = m.norm(h)
    assert torch.allclose(feats, m.forward_features(x), rtol=0, atol=1e-12)
    return m.forward_head(feats), feats[:, 0], torch.stack(att, 0)


def make_resize(spec, out):
    d = out / spec["name"]
    d.mkdir(parents=True, exist_ok=True)
    src = timm.create_model(spec["arch"], **spec["args"])
    randomize(src, spec["seed"])
    write_safetensors(d / "model.safetensors", {k: store(v.numpy(), "F32") for k, v in src.state_dict().items()},
                      {"format": "pt"})
    with open(d / "config.json", "w") as f:  # save_config_for_hf's bytes, with a final newline
        cfg = hub_config(src, spec["args"])
        f.write(json.dumps(cfg, indent=2) + "\n")
    # Read back from disk and load the timm way at each size.
    tensors, _, _ = read_safetensors(d / "model.safetensors")
    state = {k: torch.from_numpy(v.astype(np.float32)) for k, v in tensors.items()}
    results = []
    for size in spec["sizes"]:
        args = dict(spec["args"], img_size=size)
        m = timm.create_model(spec["arch"], **args).eval()
        m.load_state_dict(timm_vit.checkpoint_filter_fn(dict(state), m))  # resample_abs_pos_embed, float32
        m = m.double()
        rng = np.random.Generator(np.random.PCG64(spec["seed"] + size))
        x = torch.from_numpy(rng.standard_normal((BATCH, 3, size, size)))
        logits, emb, att = timm_outputs(m, x)
        assert torch.allclose(logits, m(x), rtol=0, atol=1e-12)
        write_safetensors(d / f"expected-{size}.safetensors",
                          {"input": store(x.numpy(), "F32"), "logits": store(logits.numpy(), "F32"),
                           "embedding": store(emb.numpy(), "F32"), "cls_attention": store(att.numpy(), "F32")},
                          {"format": "pt"})
        # How far the plain (not antialiased) bicubic resampling would land: what the fixture can tell apart.
        g0, g1 = spec["args"]["img_size"] // spec["args"]["patch_size"], size // spec["args"]["patch_size"]
        prefix = m.num_prefix_tokens
        plain = dict(state)
        plain["pos_embed"] = timm.layers.resample_abs_pos_embed(state["pos_embed"], [g1, g1], [g0, g0], prefix,
                                                                antialias=False)
        m2 = timm.create_model(spec["arch"], **args).eval()
        m2.load_state_dict(plain)
        l2, _, _ = timm_outputs(m2.double(), x)
        results.append(dict(size=size, grid=(g0, g1), tokens=int(m.pos_embed.shape[1]),
                            plain=float((l2 - logits).norm() / logits.norm()),
                            top1=logits.argmax(-1).tolist()))
    return results


# ----------------------------------------------------------------------------------------------------------
def readme(cases, resize):
    n_arch = sum(1 for c in cases if c["what"].endswith("as registered"))
    ok = sum(1 for c in cases if "expect" in c)
    o = ["# Fixtures from timm's own code (generated)", "",
         f"Written by `tools/make_timm_fixtures.py` with timm {timm.__version__}, torch {torch.__version__}, "
         f"SciPy {scipy.__version__}; do not edit. Regenerate with", "", "```", REGEN + "           # rewrites them",
         REGEN + " --check   # compares byte for byte", "```", "",
         "## `timm-configs.json` (and `src/timm_archs.h`)", "",
         f"{len(cases)} cases: the {n_arch} architectures registered in timm's `vision_transformer.py` and `deit.py`, "
         "their deprecated names, and architectures with `model_args` overrides. Each holds the `config.json` timm's "
         "`save_config_for_hf` writes for the model `timm.create_model(architecture, **model_args)` builds (a "
         "deprecated name: just `{\"architecture\": name}`; a model timm cannot build: the architecture and its "
         "model_args), and one of: `expect`, the dimensions read off that model's modules (patch embedding weight, "
         "blocks, heads, fc1 width, sequence tokens (patches + class, distillation and register tokens), "
         "classifier, LayerNorm eps, GELU form); `unsupported`, the VisionTransformer arguments that make it a model "
         "vkvit does not run (read off the modules: no class token, pre-norm, pooling other than the class token, "
         "...); or `timm_error`, "
         f"what timm raised. {ok} cases are models vkvit runs. `tests/test_config.c` parses every config and "
         "compares.", "",
         "## `posembed.safetensors`", "",
         f"Random grids `in.GHxGW-OHxOW` [GH, GW, {POS_DIM}] (float32) and their resamplings to OH x OW: "
         "`bicubic.*` = `torch.nn.functional.interpolate(mode='bicubic', align_corners=False)` (what Hugging Face's "
         "`interpolate_pos_encoding` calls), `bicubic_aa.*` = the same with `antialias=True` (timm's "
         "`resample_abs_pos_embed` default, used by `checkpoint_filter_fn`), both run on the grid in float64; "
         "`bicubic_f32.*`, `bicubic_aa_f32.*` = the same run in float32 as timm runs them (PyTorch's own float32 "
         "rounding makes these differ from the float64 runs by up to ~1e-6 relative); `zoom.*` = "
         "`scipy.ndimage.zoom(grid, (OH/GH, OW/GW, 1), order=1)` in float64 (Google's vit_jax / big_vision). "
         "`tests/test_posembed.c` compares `src/posembed.c` with each.", "",
         "## `timm-resize/`, `timm-deit-resize/`", "",
         "A tiny model made by `timm.create_model(arch, **model_args)` with seeded weights, saved as "
         "`model.safetensors` + `config.json` (`save_config_for_hf`) at the size in its model_args. For each other "
         "size S, `expected-S.safetensors` holds `input` [2, 3, S, S], `logits`, `embedding` (final-LayerNorm class "
         "token) and `cls_attention` [L, 2, T] computed in float64 by `timm.create_model(arch, **model_args, "
         "img_size=S)` after loading the file through timm's `checkpoint_filter_fn` (which resamples `pos_embed` "
         "with `resample_abs_pos_embed`: bicubic, antialias=True, in float32). `tests/test_model.c` loads the "
         "checkpoint with `vkvit_model_options.image_size = S`.", "",
         "| folder | architecture | model_args | size → grid | tokens | logits with plain bicubic instead | top-1 |",
         "| --- | --- | --- | --- | --- | --- | --- |"]
    for spec in RESIZE:
        for r in resize[spec["name"]]:
            o.append(f"| `{spec['name']}` | `{spec['arch']}` | `{json.dumps(spec['args'])}` | {r['size']} → "
                     f"{r['grid'][0]}² → {r['grid'][1]}² | {r['tokens']} | {r['plain']:.1e} | {r['top1']} |")
    o.append("")
    for spec in RESIZE:
        o.append(f"- `{spec['name']}`: {spec['note']}.")
    o += ["", "The 'plain bicubic' column is how far the logits move when the position embedding is resampled "
          "without antialiasing: the difference the fixture can see.", ""]
    return "\n".join(o)


def generate(root):
    (root / "src").mkdir(parents=True, exist_ok=True)
    data = root / "tests" / "data"
    data.mkdir(parents=True, exist_ok=True)
    names, deprecated, _ = arch_names()
    write_arch_header(root / "src" / "timm_archs.h", [arch_row(n) for n in names + list(deprecated)])
    cases = config_cases()
    doc = {"timm": timm.__version__, "torch": torch.__version__, "cases": cases}
    (data / "timm-configs.json").write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n")
    write_safetensors(data / "posembed.safetensors", posembed_data(), {"format": "pt"})
    resize = {spec["name"]: make_resize(spec, data) for spec in RESIZE}
    (data / "timm-README.md").write_text(readme(cases, resize))
    for spec in RESIZE:
        for r in resize[spec["name"]]:
            print(f"{spec['name']} at {r['size']}: tokens {r['tokens']}, plain-bicubic logits differ by {r['plain']:.2e}")
    print(f"{len(cases)} config cases, {sum('expect' in c for c in cases)} runnable")


def files(root):
    return sorted(p.relative_to(root) for p in root.rglob("*") if p.is_file())


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--check", action="store_true", help="regenerate into a temp dir and compare")
    a = ap.parse_args()
    if not a.check:
        generate(ROOT)
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        generate(Path(tmp))
        bad = [str(p) for p in files(Path(tmp))
               if not (ROOT / p).is_file() or (ROOT / p).read_bytes() != (Path(tmp) / p).read_bytes()]
        if bad:
            print("differs:", ", ".join(bad))
            return 1
        print("identical:", len(files(Path(tmp))), "files")
    return 0


if __name__ == "__main__":
    sys.exit(main())
