#!/usr/bin/python3
"""Write the patch-token fixtures (tests/data/timm-tokens; committed; CI never runs timm or PyTorch).

    PYTHONPATH=/tmp/timm-src /usr/bin/python3 tools/make_token_fixtures.py [--check]

For each case a tiny timm model with seeded random weights (make_timm_fixtures.randomize) is saved as
model.safetensors + config.json (save_config_for_hf), and expected.safetensors holds
  input       [3, 3, S, S]   random normalised pixels
  tokens      [3, T, D]      timm's forward_features(input): every token after the final LayerNorm (class token,
                             distillation token, patches in raster order), what vkvit_get_patch_tokens returns
  embedding   [3, D]         tokens[:, 0]
  logits      [3, K]         forward_head of those tokens (the model's forward)
all computed in float64 and stored as float32. --check regenerates into a temporary folder and compares byte for byte.
"""
import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

import timm

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_fixtures import store, write_safetensors  # noqa: E402
from make_timm_fixtures import files, hub_config, randomize  # noqa: E402

torch.set_num_threads(1)
ROOT = Path(__file__).resolve().parent.parent
BATCH = 3
CASES = [
    # Odd widths, an odd grid (5 x 5 patches), 3 heads of 5.
    dict(name="vit", arch="vit_small_patch16_224", seed=1301,
         args={"img_size": 20, "patch_size": 4, "embed_dim": 15, "depth": 2, "num_heads": 3, "mlp_ratio": 2.0,
               "num_classes": 6}),
    # A distillation token between the class token and the patches; grid 3 x 3.
    dict(name="deit", arch="deit_tiny_distilled_patch16_224", seed=1302,
         args={"img_size": 15, "patch_size": 5, "embed_dim": 14, "depth": 2, "num_heads": 2, "num_classes": 4}),
]


@torch.no_grad()
def make(case, out):
    d = out / case["name"]
    d.mkdir(parents=True, exist_ok=True)
    m = timm.create_model(case["arch"], **case["args"]).eval()
    randomize(m, case["seed"])
    write_safetensors(d / "model.safetensors", {k: store(v.numpy(), "F32") for k, v in m.state_dict().items()},
                      {"format": "pt"})
    (d / "config.json").write_text(json.dumps(hub_config(m, case["args"]), indent=2) + "\n")
    m = m.double()
    S = case["args"]["img_size"]
    rng = np.random.Generator(np.random.PCG64(case["seed"]))
    x = torch.from_numpy(rng.standard_normal((BATCH, 3, S, S)))
    tokens = m.forward_features(x)
    logits = m.forward_head(tokens)
    assert torch.allclose(logits, m(x), rtol=0, atol=1e-12)
    write_safetensors(d / "expected.safetensors",
                      {"input": store(x.numpy(), "F32"), "tokens": store(tokens.numpy(), "F32"),
                       "embedding": store(tokens[:, 0].numpy(), "F32"), "logits": store(logits.numpy(), "F32")},
                      {"format": "pt"})
    return tuple(tokens.shape)


def generate(root):
    data = root / "tests" / "data" / "timm-tokens"
    data.mkdir(parents=True, exist_ok=True)
    lines = ["# Patch-token fixtures from timm's own code (generated)", "",
             f"Written by `tools/make_token_fixtures.py` with timm {timm.__version__}, torch {torch.__version__}; "
             "do not edit. Each folder: a tiny timm model with seeded random weights (`model.safetensors`, "
             "`config.json` as `save_config_for_hf` writes it) and `expected.safetensors`: `input` [3, 3, S, S], "
             "`tokens` = `forward_features(input)` [3, T, D] (all tokens after the final LayerNorm), `embedding` = "
             "`tokens[:, 0]`, `logits`; computed in float64, stored as float32. `tests/test_patch_tokens.c` reads "
             "them.", "", "| folder | architecture | model_args | tokens [B, T, D] |", "| --- | --- | --- | --- |"]
    for c in CASES:
        shape = make(c, data)
        lines.append(f"| `{c['name']}` | `{c['arch']}` | `{json.dumps(c['args'])}` | {list(shape)} |")
    (data / "README.md").write_text("\n".join(lines) + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--check", action="store_true", help="regenerate into a temp dir and compare")
    a = ap.parse_args()
    if not a.check:
        generate(ROOT)
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        generate(Path(tmp))
        bad = [str(p) for p in files(Path(tmp)) if not (ROOT / p).is_file()
               or (ROOT / p).read_bytes() != (Path(tmp) / p).read_bytes()]
        if bad:
            print("differs:", ", ".join(bad))
            return 1
        print("identical:", len(files(Path(tmp))), "files")
    return 0


if __name__ == "__main__":
    sys.exit(main())
