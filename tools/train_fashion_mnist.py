#!/usr/bin/python3
"""Train vkvit's bundled default model: a small Vision Transformer on Fashion-MNIST, on the CPU.

Run with Debian's PyTorch (python3-torch, python3-torchvision, python3-pil; dataset-fashion-mnist for the data;
libopenblas0-openmp makes it several times faster):

    /usr/bin/python3 tools/train_fashion_mnist.py

It OVERWRITES models/fashion-vit/ and examples/images/ (the twelve PNGs and their README.md):
  models/fashion-vit/model.safetensors            fp32 weights, Hugging Face ViTForImageClassification naming
  models/fashion-vit/config.json                  HF ViTConfig with the ten class names
  models/fashion-vit/preprocessor_config.json     HF ViTImageProcessor: 28x28, rescale 1/255, mean/std below
  models/fashion-vit/torch_predictions.safetensors  PyTorch's top-1 (I32 [10000]) and logits (F32 [10000,10]) for
                                                  every test image, in file order
  models/fashion-vit/README.md                    what it is, how it was made, its accuracy
  examples/images/*.png + README.md               twelve test-set images PyTorch classifies correctly

The model is torchvision's VisionTransformer (an implementation that is not vkvit's) with a 1-channel patch
projection. The predictions are computed from the EXPORTED file: the safetensors file is read back, mapped onto a
fresh torchvision VisionTransformer (tools/make_fixtures.py's reader and HF->torchvision mapping) and run in eval
mode in fp32, so a naming or mapping mistake cannot hide between training and export.

Data: the IDX files of Debian's dataset-fashion-mnist (/usr/share/datasets/fashion-mnist), read with gzip+struct.
Seeded and deterministic (torch.use_deterministic_algorithms, fixed thread count): the same machine and library
versions reproduce the same weights; other BLAS builds may differ in the last bits and so in the final weights.
"""
import argparse
import gzip
import json
import math
import struct
import sys
import time
from functools import partial
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torchvision.models.vision_transformer import VisionTransformer

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import make_fixtures as mf  # noqa: E402  (safetensors reader, HF -> torchvision mapping)

THREADS = 2
torch.set_num_threads(THREADS)  # after importing make_fixtures, which sets 1

DATA = Path("/usr/share/datasets/fashion-mnist")
CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
SLUGS = ["t-shirt-top", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "ankle-boot"]
IMAGE = 28
EPS = 1e-6
CMD = "/usr/bin/python3 tools/train_fashion_mnist.py"


# ----------------------------------------------------------------------------------------------------------
# data
# ----------------------------------------------------------------------------------------------------------
def read_idx(path):
    """An IDX file (gzip): magic 0x0000 <type 0x08 = ubyte> <ndim>, ndim big-endian uint32 sizes, then data."""
    blob = gzip.open(path, "rb").read()
    zero, dtype, ndim = struct.unpack_from(">HBB", blob, 0)
    if zero != 0 or dtype != 0x08:
        raise ValueError(f"{path}: not an unsigned-byte IDX file")
    dims = struct.unpack_from(">" + "I" * ndim, blob, 4)
    off = 4 + 4 * ndim
    count = math.prod(dims)
    if len(blob) - off != count:
        raise ValueError(f"{path}: {len(blob) - off} data bytes for shape {dims}")
    return np.frombuffer(blob, np.uint8, count, off).reshape(dims)


def load_split(split):
    prefix = "train" if split == "train" else "t10k"
    images = read_idx(DATA / f"{prefix}-images-idx3-ubyte.gz")
    labels = read_idx(DATA / f"{prefix}-labels-idx1-ubyte.gz")
    assert images.shape[1:] == (IMAGE, IMAGE) and labels.shape == images.shape[:1]
    return torch.from_numpy(images.copy()), torch.from_numpy(labels.astype(np.int64))


def normalise(u8, mean, std):
    """Exactly ViTImageProcessor's arithmetic on a 28x28 image: x/255 (rescale), then (x - mean)/std; fp32."""
    x = u8.to(torch.float32).unsqueeze(1) * torch.tensor(1.0 / 255.0, dtype=torch.float32)
    return (x - torch.tensor(mean, dtype=torch.float32)) / torch.tensor(std, dtype=torch.float32)


# ----------------------------------------------------------------------------------------------------------
# model
# ----------------------------------------------------------------------------------------------------------
def build(a):
    m = VisionTransformer(image_size=IMAGE, patch_size=a.patch, num_layers=a.layers, num_heads=a.heads,
                          hidden_dim=a.hidden, mlp_dim=a.mlp, num_classes=len(CLASSES),
                          norm_layer=partial(nn.LayerNorm, eps=EPS))
    # one input channel; torchvision's own initialisation for conv_proj
    m.conv_proj = nn.Conv2d(1, a.hidden, a.patch, a.patch)
    fan_in = m.conv_proj.in_channels * a.patch * a.patch
    nn.init.trunc_normal_(m.conv_proj.weight, std=math.sqrt(1.0 / fan_in))
    nn.init.zeros_(m.conv_proj.bias)
    return m


def hf_from_tv(sd, layers):
    """torchvision VisionTransformer state dict -> Hugging Face ViTForImageClassification tensors (numpy fp32).
    The inverse of make_fixtures.tv_state_from_hf; consumes every tensor."""
    sd = {k: v.detach().to(torch.float32).cpu().numpy() for k, v in sd.items()}
    g = sd.pop
    e = "vit.embeddings."
    t = {e + "cls_token": g("class_token"), e + "position_embeddings": g("encoder.pos_embedding"),
         e + "patch_embeddings.projection.weight": g("conv_proj.weight"),
         e + "patch_embeddings.projection.bias": g("conv_proj.bias")}
    for i in range(layers):
        p, q = f"vit.encoder.layer.{i}.", f"encoder.layers.encoder_layer_{i}."
        a = p + "attention.attention."
        for wb in ("weight", "bias"):
            t[p + "layernorm_before." + wb] = g(q + "ln_1." + wb)
            qw, kw, vw = np.split(g(q + "self_attention.in_proj_" + wb), 3, axis=0)
            t[a + "query." + wb], t[a + "key." + wb], t[a + "value." + wb] = qw, kw, vw
            t[p + "attention.output.dense." + wb] = g(q + "self_attention.out_proj." + wb)
            t[p + "layernorm_after." + wb] = g(q + "ln_2." + wb)
            t[p + "intermediate.dense." + wb] = g(q + "mlp.0." + wb)
            t[p + "output.dense." + wb] = g(q + "mlp.3." + wb)
    t["vit.layernorm.weight"], t["vit.layernorm.bias"] = g("encoder.ln.weight"), g("encoder.ln.bias")
    t["classifier.weight"], t["classifier.bias"] = g("heads.head.weight"), g("heads.head.bias")
    assert not sd, f"unmapped tensors: {sorted(sd)}"
    return {k: np.ascontiguousarray(v) for k, v in t.items()}


# ----------------------------------------------------------------------------------------------------------
# safetensors writer (the layout of make_fixtures.write_safetensors / the safetensors library) for F32 and I32
# ----------------------------------------------------------------------------------------------------------
_LE = {"F32": "<f4", "I32": "<i4"}


def write_safetensors(path, arrays, metadata=None):
    """arrays: {name: (dtype, numpy array)}. Sorted by dtype (the library's order) then name; header padded to 8."""
    names = sorted(arrays, key=lambda n: (-mf._DTYPE_RANK[arrays[n][0]], n))
    header, blobs, offset = {}, [], 0
    if metadata is not None:
        header["__metadata__"] = metadata
    for n in names:
        dt, a = arrays[n]
        raw = np.ascontiguousarray(a).astype(_LE[dt]).tobytes()
        header[n] = {"dtype": dt, "shape": list(a.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    hb = json.dumps(header, separators=(",", ":"), ensure_ascii=True).encode()
    hb += b" " * ((8 - len(hb) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hb)))
        f.write(hb)
        for b in blobs:
            f.write(b)


def blas_library():
    """The BLAS library PyTorch's matrix products actually run on (Debian's torch calls libblas.so.3, which the
    alternatives system points at OpenBLAS or the slow reference BLAS)."""
    torch.ones(64, 64) @ torch.ones(64, 64)
    libs = set()
    for line in Path("/proc/self/maps").read_text().splitlines():
        path = line.split()[-1]
        if Path(path).name.startswith("libblas"):
            libs.add(str(Path(path).resolve()))
    return ", ".join(sorted(libs)) or "unknown"


def hf_config(a):
    cfg = {
        "architectures": ["ViTForImageClassification"],
        "attention_probs_dropout_prob": 0.0,
        "encoder_stride": a.patch,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.0,
        "hidden_size": a.hidden,
        "id2label": {str(i): c for i, c in enumerate(CLASSES)},
        "image_size": IMAGE,
        "initializer_range": 0.02,
        "intermediate_size": a.mlp,
        "label2id": {c: i for i, c in enumerate(CLASSES)},
        "layer_norm_eps": EPS,
        "model_type": "vit",
        "num_attention_heads": a.heads,
        "num_channels": 1,
        "num_hidden_layers": a.layers,
        "patch_size": a.patch,
        "qkv_bias": True,
        "torch_dtype": "float32",
    }
    return json.dumps(cfg, indent=2, sort_keys=True) + "\n"


def preprocessor_config(mean, std):
    cfg = {
        "do_normalize": True,
        "do_rescale": True,
        "do_resize": True,
        "image_mean": [mean],
        "image_processor_type": "ViTImageProcessor",
        "image_std": [std],
        "resample": 2,
        "rescale_factor": 1.0 / 255.0,
        "size": {"height": IMAGE, "width": IMAGE},
    }
    return json.dumps(cfg, indent=2, sort_keys=True) + "\n"


# ----------------------------------------------------------------------------------------------------------
def evaluate(model, x, batch=500):
    model.eval()
    out = []
    with torch.no_grad():
        for i in range(0, len(x), batch):
            out.append(model(x[i:i + batch]))
    return torch.cat(out)


def train(a, xtr, ytr, xte, yte, log):
    torch.manual_seed(a.seed)
    model = build(a)
    params = sum(p.numel() for p in model.parameters())
    decay = [p for n, p in model.named_parameters() if p.ndim >= 2 and "pos_embedding" not in n
             and "class_token" not in n]
    no_decay = [p for n, p in model.named_parameters() if not (p.ndim >= 2 and "pos_embedding" not in n
                                                                and "class_token" not in n)]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": a.wd}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=a.lr, betas=(0.9, 0.999))
    steps_per_epoch = len(xtr) // a.batch  # the last partial batch is dropped
    total = steps_per_epoch * a.epochs
    warm = min(a.warmup, total // 2)

    def lr_at(step):
        if step < warm:
            return a.lr * (step + 1) / warm
        return 0.5 * a.lr * (1.0 + math.cos(math.pi * (step - warm) / max(1, total - warm)))

    gen = torch.Generator().manual_seed(a.seed)
    log(f"model: torchvision VisionTransformer, patch {a.patch}, hidden {a.hidden}, {a.layers} layers, "
        f"{a.heads} heads, MLP {a.mlp}; {params} parameters")
    log(f"training: {a.epochs} epochs x {steps_per_epoch} steps of {a.batch}, AdamW lr {a.lr} wd {a.wd}, "
        f"{warm} warm-up steps then cosine, label smoothing {a.smoothing:g}, horizontal flips p={a.flip:g}; "
        f"{torch.get_num_threads()} threads")
    t0 = time.time()
    step = 0
    for epoch in range(a.epochs):
        model.train()
        perm = torch.randperm(len(xtr), generator=gen)
        flips = torch.rand(len(xtr), generator=gen) < a.flip
        run_loss, run_n = 0.0, 0
        for s in range(steps_per_epoch):
            idx = perm[s * a.batch:(s + 1) * a.batch]
            xb, yb = xtr[idx], ytr[idx]
            if a.flip > 0:
                xb = torch.where(flips[idx][:, None, None, None], xb.flip(-1), xb)
            for g_ in opt.param_groups:
                g_["lr"] = lr_at(step)
            loss = F.cross_entropy(model(xb), yb, label_smoothing=a.smoothing)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            step += 1
            run_loss += float(loss) * len(idx)
            run_n += len(idx)
            if (s + 1) % 100 == 0:
                print(f"  step {s + 1}/{steps_per_epoch}: loss {run_loss / run_n:.4f}, {time.time() - t0:.0f} s",
                      flush=True)
        acc = (evaluate(model, xte).argmax(1) == yte).float().mean().item() * 100
        log(f"epoch {epoch + 1}/{a.epochs}: train loss {run_loss / run_n:.4f}, test accuracy {acc:.2f}%, "
            f"{time.time() - t0:.0f} s")
    return model, params, time.time() - t0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=ROOT / "models" / "fashion-vit")
    ap.add_argument("--images", type=Path, default=ROOT / "examples" / "images")
    ap.add_argument("--patch", type=int, default=7)
    ap.add_argument("--hidden", type=int, default=96)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--mlp", type=int, default=192)
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--wd", type=float, default=0.05)
    ap.add_argument("--warmup", type=int, default=300)
    ap.add_argument("--smoothing", type=float, default=0.0)
    ap.add_argument("--flip", type=float, default=0.0, help="probability of a random horizontal flip")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()

    torch.use_deterministic_algorithms(True)
    lines = []

    def log(msg):
        print(msg, flush=True)
        lines.append(msg)

    for f in ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz",
              "t10k-labels-idx1-ubyte.gz"):
        if not (DATA / f).is_file():
            sys.exit(f"{DATA / f} not found: install Debian's dataset-fashion-mnist (apt-get install "
                     f"dataset-fashion-mnist)")
    log(f"torch {torch.__version__}, {torch.get_num_threads()} threads, BLAS: {blas_library()}")
    utr, ytr = load_split("train")
    ute, yte = load_split("test")
    # the normalisation: the training set's pixel mean and std (after /255), rounded to 4 decimals
    mean = round(float(utr.double().mean() / 255.0), 4)
    std = round(float((utr.double() / 255.0).std()), 4)
    log(f"data: {len(utr)} training, {len(ute)} test images from {DATA}; normalise (x/255 - {mean}) / {std}")
    xtr, xte = normalise(utr, mean, std), normalise(ute, mean, std)

    model, params, seconds = train(a, xtr, ytr, xte, yte, log)

    # ---- export ----------------------------------------------------------------------------------------------
    a.out.mkdir(parents=True, exist_ok=True)
    tensors = hf_from_tv(model.state_dict(), a.layers)
    write_safetensors(a.out / "model.safetensors", {k: ("F32", v) for k, v in tensors.items()}, {"format": "pt"})
    (a.out / "config.json").write_text(hf_config(a))
    (a.out / "preprocessor_config.json").write_text(preprocessor_config(mean, std))

    # ---- PyTorch's predictions, from the file as written -------------------------------------------------------
    back, dtypes, _ = mf.read_safetensors(a.out / "model.safetensors")
    assert set(dtypes.values()) == {"F32"}
    sd, extra = mf.tv_state_from_hf(back, a.layers, "vit.", True)
    assert not extra
    ref = build(a)
    ref.load_state_dict({k: v.to(torch.float32) for k, v in sd.items()}, strict=True)
    ref.eval()
    pp = json.loads((a.out / "preprocessor_config.json").read_text())
    xte_file = normalise(ute, pp["image_mean"][0], pp["image_std"][0])
    logits = evaluate(ref, xte_file)
    same = evaluate(model, xte)
    assert torch.equal(logits.argmax(1), same.argmax(1)), "exported model predicts differently from the trained one"
    pred = logits.argmax(1)
    correct = int((pred == yte).sum())
    acc = 100.0 * correct / len(yte)
    write_safetensors(a.out / "torch_predictions.safetensors",
                      {"predictions": ("I32", pred.numpy().astype(np.int32)),
                       "logits": ("F32", logits.numpy().astype(np.float32))},
                      {"source": "torchvision VisionTransformer, eval, fp32, weights read back from model.safetensors",
                       "test_accuracy": f"{acc:.2f}"})
    log(f"PyTorch test accuracy (exported weights, fp32): {acc:.2f}% ({correct}/{len(yte)})")
    per_class = [(int(((pred == yte) & (yte == c)).sum()), int((yte == c).sum())) for c in range(len(CLASSES))]

    # ---- example images --------------------------------------------------------------------------------------
    probs = torch.softmax(logits.double(), 1)
    chosen = choose_examples(pred, yte, probs)
    write_examples(a.images, chosen, ute, yte, pred, probs)

    write_model_readme(a, params, seconds, acc, correct, per_class, mean, std, lines)
    sizes = {p.name: p.stat().st_size for p in sorted(a.out.iterdir())}
    log("wrote " + ", ".join(f"{n} ({s} bytes)" for n, s in sizes.items()))
    log(f"training took {seconds:.0f} s")


# two of these classes get a second example ("-2")
SECOND = [6, 7]


def choose_examples(pred, y, probs, min_p=0.9):
    """Per class the first test images (file order) PyTorch gets right with probability >= min_p."""
    chosen = []
    for c in range(len(CLASSES)):
        want = 2 if c in SECOND else 1
        hits = [i for i in range(len(y)) if y[i] == c and pred[i] == c and probs[i, c] >= min_p][:want]
        assert len(hits) == want, f"not enough confident {CLASSES[c]} examples"
        for k, i in enumerate(hits):
            chosen.append((SLUGS[c] + ("" if k == 0 else f"-{k + 1}") + ".png", i))
    return chosen


def write_examples(folder, chosen, images, y, pred, probs):
    from PIL import Image
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for name, i in chosen:
        Image.fromarray(images[i].numpy(), mode="L").save(folder / name, optimize=True)
        back = np.asarray(Image.open(folder / name))
        assert back.shape == (IMAGE, IMAGE) and np.array_equal(back, images[i].numpy())
        p = int(pred[i])
        rows.append(f"| `{name}` | {i} | {CLASSES[int(y[i])]} | {CLASSES[p]} ({float(probs[i, p]):.4f}) |")
    (folder / "README.md").write_text(f"""# Example images

Twelve 28x28 greyscale images from the Fashion-MNIST **test** set (`t10k-images-idx3-ubyte.gz` of Debian's
`dataset-fashion-mnist`; Zalando SE, MIT licence), written as PNG exactly as stored (no resampling). At least one
per class; each is one the bundled model (`models/fashion-vit`) classifies correctly in PyTorch with probability
at least 0.9 — the first such image of its class in file order (for `shirt` and `sneaker`, also the second).

Made by `{CMD}`, which overwrites this folder.

Indices count from 0 in file order.

| file | test-set index | true class | PyTorch top-1 (probability) |
| --- | --- | --- | --- |
""" + "\n".join(rows) + "\n")


def write_model_readme(a, params, seconds, acc, correct, per_class, mean, std, lines):
    tokens = (IMAGE // a.patch) ** 2 + 1
    pc = "\n".join(f"| {CLASSES[c]} | {k}/{n} | {100.0 * k / n:.1f}% |" for c, (k, n) in enumerate(per_class))
    log = "\n".join(lines)
    (a.out / "README.md").write_text(f"""# fashion-vit: vkvit's bundled default model

A small Vision Transformer trained on [Fashion-MNIST](https://github.com/zalandoresearch/fashion-mnist) (28x28
greyscale pictures of clothing in ten classes), stored in Hugging Face `ViTForImageClassification` layout so that
vkvit loads it like any downloaded checkpoint. It is the default model of `vkvit-classify`.

| file | what |
| --- | --- |
| `model.safetensors` | the weights, fp32, Hugging Face ViT naming (`vit.embeddings.*`, `vit.encoder.layer.N.*`, `classifier.*`) |
| `config.json` | HF `ViTConfig`, with the ten class names in `id2label` |
| `preprocessor_config.json` | HF `ViTImageProcessor`: resize to 28x28 (bilinear), x/255, then (x - {mean}) / {std} |
| `torch_predictions.safetensors` | PyTorch's answer for each of the 10,000 test images in file order: `predictions` I32 [10000] (top-1) and `logits` F32 [10000, 10] |

## Architecture

ViT with patch {a.patch} on 28x28x1: {tokens - 1} patches + class token = {tokens} tokens, hidden {a.hidden},
{a.layers} pre-norm encoder layers, {a.heads} heads (head dim {a.hidden // a.heads}), MLP {a.mlp} with exact (erf)
GELU, LayerNorm eps {EPS:g}, learned position embeddings, linear head on the final-LayerNorm class token.
**{params:,} parameters.** It is torchvision's `VisionTransformer` with a 1-channel patch projection.

## Accuracy

**PyTorch, fp32, on the 10,000 test images: {acc:.2f}% top-1** ({correct}/10000), computed from the weights read
back from `model.safetensors`. vkvit's Vulkan path must match it: `tests/test_fashion.c` (meson test `fashion`)
runs all 10,000 test images and checks that vkvit's accuracy equals PyTorch's within 0.1 percentage point and that
the per-image top-1 agrees with `torch_predictions.safetensors` on at least 99.9% of the images.

| class | correct | accuracy |
| --- | --- | --- |
{pc}

## How it was made

```sh
{CMD}
```

Debian 12's PyTorch (python3-torch, `torch.__version__` {torch.__version__}) on the CPU, {THREADS} threads, BLAS
{blas_library()}; training data from Debian's `dataset-fashion-mnist`
(`/usr/share/datasets/fashion-mnist/*-idx*-ubyte.gz`, read directly). Training took **{seconds / 60:.1f} minutes**
({seconds:.0f} s wall, evaluation after each epoch included) on a 2-core machine shared with other work.

Recipe: {a.epochs} epochs over the 60,000 training images in batches of {a.batch} (shuffled each epoch), AdamW (lr
{a.lr:g}, weight decay {a.wd:g} on weight matrices only, betas 0.9/0.999), {a.warmup} steps of linear warm-up then
cosine decay to 0, cross-entropy{" with label smoothing %g" % a.smoothing if a.smoothing else ""},
{"random horizontal flips (p=%g)" % a.flip if a.flip else "no augmentation"}, no dropout; inputs normalised with
the training set's pixel mean and standard deviation (after /255, rounded to 4 decimals) — the numbers in
`preprocessor_config.json`. Seed {a.seed}; `torch.use_deterministic_algorithms(True)`.

**Regenerating overwrites this folder and `examples/images/`.** On the same library versions and thread count the
run is deterministic; another BLAS may change the last bits of the result.

Training log:

```
{log}
```

## Licence

The Fashion-MNIST dataset is Copyright (c) 2017 Zalando SE, released under the MIT licence
(<https://github.com/zalandoresearch/fashion-mnist/blob/master/LICENSE>; Debian's copy in
`/usr/share/doc/dataset-fashion-mnist/copyright`). The weights are derived from it.
""")


if __name__ == "__main__":
    main()
