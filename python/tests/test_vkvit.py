"""The Python package (python/vkvit) on lavapipe: results equal the C API's and PyTorch's, errors become
exceptions with the library's text, misuse after close raises, no memory growth over 1,000 cycles, vkvit.Pool
with two contexts equals one context, and a dask LocalCluster with two worker processes equals one process.

Run by meson (`meson test -C build --suite python`), which sets VKVIT_LIBRARY (the built libvkvit.so),
VKVIT_CLASSIFY and VKVIT_EMBED (the built CLIs: the C API's results) and PYTHONPATH; by hand:
    VKVIT_LIBRARY=build/libvkvit.so PYTHONPATH=python /usr/bin/python3 -m pytest python/tests
The real DeiT-Tiny checks need ../shared (models/deit-tiny-imagenet, images), as tests/meson.build does.
Every context has the Khronos validation layer on: a validation warning or error fails the test.
"""
import gc
import json
import os
import re
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import vkvit

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data"
IMAGES = ROOT / "examples" / "images"
SHARED = ROOT.parent / "shared"
DEIT = SHARED / "models" / "deit-tiny-imagenet"
PHOTOS = SHARED / "images"
HF_VIT = DATA / "hf-vit"                  # tiny: hidden 64, 3 layers, 32 x 32, 10 classes (PyTorch's outputs beside)
BUNDLED = ROOT / "models" / "fashion-vit"
need_shared = pytest.mark.skipif(not (DEIT.is_dir() and PHOTOS.is_dir()),
                                 reason="../shared/models/deit-tiny-imagenet or ../shared/images not found")


def read_safetensors(path):
    """{name: numpy array} and the metadata of a .safetensors file (F32 and U8 are all the fixtures use)."""
    b = Path(path).read_bytes()
    n = struct.unpack("<Q", b[:8])[0]
    header = json.loads(b[8:8 + n])
    meta = header.pop("__metadata__", {})
    dtypes = {"F32": np.float32, "U8": np.uint8}
    out = {k: np.frombuffer(b[8 + n + v["data_offsets"][0]:8 + n + v["data_offsets"][1]],
                            dtype=dtypes[v["dtype"]]).reshape(v["shape"]) for k, v in header.items()}
    return out, meta


def rel_err(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    assert np.all(np.isfinite(a)), "NaN or Inf in the output"
    return np.linalg.norm(a - b) / np.linalg.norm(b)


class Messages:
    """The validation layer's and vkvit's messages; the test fails on any warning or error."""

    def __init__(self):
        self.seen = []

    def __call__(self, severity, text):
        if severity != "info":
            self.seen.append(f"{severity}: {text}")


@pytest.fixture
def messages():
    m = Messages()
    yield m
    gc.collect()
    assert m.seen == [], "validation / vkvit messages:\n" + "\n".join(m.seen)


@pytest.fixture
def ctx(messages):
    with vkvit.Context(validation=True, on_message=messages) as c:
        yield c


def bundled_images():
    return sorted(str(p) for p in IMAGES.glob("*.png"))


# ---- results ------------------------------------------------------------------------------------------------

def test_info_and_labels(ctx):
    with vkvit.Model(ctx, HF_VIT) as m:
        i = m.info
        assert (i.family, i.hidden, i.layers, i.heads, i.mlp) == ("hf-vit", 64, 3, 4, 256)
        assert (i.image_size, i.image_height, i.image_width, i.patch_size, i.channels) == (32, 32, 32, 8, 3)
        assert (i.tokens, i.grid_height, i.grid_width, i.num_classes, i.embedding_size) == (17, 4, 4, 10, 64)
        assert i.precision == "fp32" and "resize to 32x32" in i.preprocessing and "config.json" in i.config
        assert m.labels[:3] == ["airplane", "automobile", "bird"] and len(m.labels) == 10
        assert "hf-vit" in repr(m) and ctx.device.name in repr(ctx)
    assert ctx.device.type in ("CPU", "discrete GPU", "integrated GPU", "virtual GPU", "other")
    assert any(d.name == ctx.device.name for d in vkvit.devices())


@pytest.mark.parametrize("fixture", ["hf-vit", "backbone", "timm-vit", "hf-deit-distilled"])
def test_fixture_outputs_equal_pytorch(ctx, fixture):
    """float32 [N, C, H, W] preprocessed pixels through vkvit_run: PyTorch's logits and embedding within
    TESTING.md's fp32 forward bound (tests/test_model.c checks the same files through the C API)."""
    e, _ = read_safetensors(DATA / fixture / "expected.safetensors")
    with vkvit.Model(ctx, DATA / fixture, precision="fp32") as m:
        assert rel_err(m.embed(e["input"]), e["embedding"]) <= 1e-4
        if "logits" in e:
            assert rel_err(m.logits(e["input"]), e["logits"]) <= 1e-4
            p = m.probabilities(e["input"])
            assert np.allclose(p.sum(1), 1, atol=1e-5) and np.array_equal(p.argmax(1), e["logits"].argmax(1))
        else:
            with pytest.raises(ValueError, match="backbone"):
                m.logits(e["input"])
        t = m.patch_tokens(e["input"])
        assert t.shape == (len(e["input"]), m.info.tokens, m.info.hidden)
        assert np.array_equal(t[:, 0], m.embed(e["input"])) or "pre-logits" in m.info.embedding
        u = m.embed(e["input"], normalize=True)
        assert np.allclose(np.linalg.norm(u, axis=1), 1, atol=1e-6)


def test_classify_equals_cli(ctx):
    """The bundled model on the bundled images: Model.classify = vkvit-classify --json (the C API's top-k)."""
    exe = os.environ.get("VKVIT_CLASSIFY", str(ROOT / "build" / "examples" / "vkvit-classify"))
    paths = bundled_images()
    out = subprocess.run([exe, "--json", "--top", "3", "--fp32", "--model", str(BUNDLED)] + paths,
                         capture_output=True, text=True, check=True).stdout
    want = json.loads(out)["results"]
    with vkvit.Model(ctx, BUNDLED, precision="fp32", max_batch=5) as m:   # batches of 5, 5, ... and the rest
        got = m.classify(paths, top_k=3)
    assert len(got) == len(want) == len(paths)
    for g, w, p in zip(got, want, paths):
        assert w["image"] == p
        assert [x[0] for x in g] == [t["index"] for t in w["top"]]
        assert [x[1] for x in g] == [t["label"] for t in w["top"]]
        assert np.allclose([x[2] for x in g], [t["probability"] for t in w["top"]], atol=1.5e-6)   # %.6f
        letters = lambda t: re.sub(r"[^a-z]", "", t.lower())[:5]    # "t-shirt-2.png" names "T-shirt/top"
        assert letters(g[0][1]) == letters(re.sub(r"-\d+$", "", Path(p).stem)), p


def test_image_kinds_agree(ctx):
    """A PNG as a path (stb_image), as RGB / RGBA / grey uint8 arrays, a 4-D batch and as PIL images: the same
    pixels, the same outputs, bit for bit."""
    from PIL import Image
    paths = bundled_images()[:3]
    pil = [Image.open(p) for p in paths]
    rgb = [np.asarray(im.convert("RGB")) for im in pil]
    with vkvit.Model(ctx, BUNDLED, precision="fp32") as m:
        ref = m.logits(paths)
        assert np.array_equal(m.logits(rgb), ref)
        rgba = [np.concatenate([a, np.full(a.shape[:2] + (1,), 7, np.uint8)], axis=2) for a in rgb]
        assert np.array_equal(m.logits(rgba), ref)                     # alpha is ignored
        assert np.array_equal(m.logits(pil), ref)
        assert np.array_equal(m.logits(np.stack(rgb)), ref)            # [N, H, W, 3]
        assert np.array_equal(m.logits(paths[1]), ref[1:2])            # one image = a list of one
        assert np.array_equal(m.logits(rgb[0][::-1, ::2]), m.logits(np.ascontiguousarray(rgb[0][::-1, ::2])))
        grey = np.asarray(pil[0].convert("L"))
        assert np.array_equal(m.logits(grey), m.logits(np.repeat(grey[:, :, None], 3, axis=2)))
        assert np.array_equal(m.logits(pil[0].convert("L")), m.logits(grey))



def test_decode_threads_change_nothing(ctx, tmp_path):
    """Images decoded on 1 or 4 threads while the previous batch runs (max_batch 2: several batches of paths,
    arrays and PIL images mixed): the same logits, bit for bit, in input order, as one image per call; of two bad
    files in later batches the first in input order is raised, and the model stays usable."""
    from PIL import Image
    paths = bundled_images()
    items = [p if k % 3 else (Image.open(p) if k % 2 else np.asarray(Image.open(p).convert("RGB")))
             for k, p in enumerate(paths)]
    with vkvit.Model(ctx, BUNDLED, precision="fp32", max_batch=1) as m:
        one = np.concatenate([m.logits(p) for p in paths])
    for threads in (1, 4):
        with vkvit.Model(ctx, BUNDLED, precision="fp32", max_batch=2, decode_threads=threads) as m:
            assert np.array_equal(m.logits(items), one), threads
            for k in (7, 9):
                (tmp_path / f"junk{k}.png").write_bytes(b"not a PNG")
            bad = paths[:7] + [str(tmp_path / "junk7.png"), paths[8], str(tmp_path / "junk9.png")] + paths[10:]
            with pytest.raises(vkvit.BadImageError, match="junk7.png"):
                m.logits(bad)
            assert np.array_equal(m.logits(paths[:3]), one[:3])
    with pytest.raises(ValueError, match="decode_threads"):
        vkvit.Model(ctx, BUNDLED, decode_threads=0)


@need_shared
def test_deit_tiny_photos_equal_pytorch_and_cli(ctx, tmp_path):
    """The real DeiT-Tiny on ../shared/images: PyTorch's top-1 on every photo and its top-5 probabilities within
    1e-4 (tests/data/photos-expected.safetensors, the fp32 bound of tests/test_photos.c; 0.02 while JPEGs were
    decoded by stb_image), and Model.embed equal to vkvit-embed's rows (the C API through the CLI)."""
    e, meta = read_safetensors(DATA / "photos-expected.safetensors")
    names = json.loads(meta["photos"])
    paths = [str(PHOTOS / n) for n in names]
    with vkvit.Model(ctx, DEIT, precision="fp32", max_batch=8) as m:
        got = m.classify(paths, top_k=5)
        probs = m.probabilities(paths)
        emb = m.embed(paths)
    for k, name in enumerate(names):
        assert got[k][0][0] == int(e["top5_index"][k][0]), name
        for idx, p in zip(e["top5_index"][k], e["top5_prob"][k]):
            assert abs(probs[k][int(idx)] - p) <= 1e-4, name
    exe = os.environ.get("VKVIT_EMBED", str(ROOT / "build" / "examples" / "vkvit-embed"))
    subprocess.run([exe, "--fp32", "--batch", "8", "--model", str(DEIT), "-o", str(tmp_path / "e.npy")] + paths,
                   capture_output=True, check=True)
    rows = (tmp_path / "e.txt").read_text().splitlines()
    cli = np.load(tmp_path / "e.npy")
    order = [rows.index(p) for p in paths]
    assert rel_err(emb, cli[order]) <= 1e-6


# ---- errors -------------------------------------------------------------------------------------------------

def test_errors_carry_the_library_text(ctx, tmp_path):
    with pytest.raises(vkvit.IoError) as ei:
        vkvit.Model(ctx, tmp_path / "missing")
    assert ei.value.status == "VKVIT_ERROR_IO" and str(tmp_path / "missing") in ei.value.detail
    assert isinstance(ei.value, vkvit.Error) and ei.value.call == "vkvit_model_load"
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "config.json").write_text((HF_VIT / "config.json").read_text())
    (bad / "model.safetensors").write_bytes((HF_VIT / "model.safetensors").read_bytes()[:5000])
    with pytest.raises(vkvit.FileTruncatedError, match="model.safetensors"):
        vkvit.Model(ctx, bad)
    (bad / "model.safetensors").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all")
    with pytest.raises(vkvit.BadHeaderError, match="model.safetensors"):
        vkvit.Model(ctx, bad)
    with vkvit.Model(ctx, HF_VIT) as m:
        junk = tmp_path / "junk.png"
        junk.write_bytes(b"this is not a PNG")
        with pytest.raises(vkvit.BadImageError, match="junk.png"):
            m.embed([bundled_images()[0], str(junk)])
        with pytest.raises(vkvit.IoError, match="nope.png"):
            m.embed(str(tmp_path / "nope.png"))
        with pytest.raises(vkvit.BadImageError):
            m.embed(np.zeros((20000, 1, 3), np.uint8))                 # a side over VKVIT_MAX_IMAGE_SIDE
        # Bad input is refused before the C library sees it.
        with pytest.raises(ValueError, match="no images"):
            m.embed([])
        with pytest.raises(TypeError, match="uint8"):
            m.embed(np.zeros((8, 8, 3), np.float64))
        with pytest.raises(TypeError, match="uint8"):
            m.embed([np.zeros((8, 8, 3), np.int32)])
        with pytest.raises(ValueError, match="shape"):
            m.embed(np.zeros((8, 8, 5), np.uint8))
        with pytest.raises(ValueError, match="no pixels"):
            m.embed(np.zeros((0, 8, 3), np.uint8))
        with pytest.raises(ValueError, match=r"\[N, 3, 32, 32\]"):
            m.embed(np.zeros((2, 3, 16, 16), np.float32))
        with pytest.raises(TypeError):
            m.embed(42)
        with pytest.raises(ValueError, match="top_k"):
            m.classify(bundled_images()[0], top_k=0)
        assert m.embed(bundled_images()[0]).shape == (1, 64)          # still usable after all that
    with pytest.raises(ValueError, match="precision"):
        vkvit.Model(ctx, HF_VIT, precision="fp8")
    with pytest.raises(vkvit.InvalidArgumentError, match="7"):
        vkvit.Model(ctx, HF_VIT, image_size=7)                        # not a multiple of the patch size
    with pytest.raises(vkvit.NoDeviceError, match="no-such-gpu"):
        vkvit.Context("no-such-gpu")


def test_closed_objects_raise(messages):
    ctx = vkvit.Context(validation=True, on_message=messages)
    m = vkvit.Model(ctx, HF_VIT)
    m2 = vkvit.Model(ctx, HF_VIT)
    img = bundled_images()[0]
    m.embed(img)
    m.close()
    m.close()                                                         # idempotent
    for call in (lambda: m.embed(img), lambda: m.classify(img), lambda: m.patch_tokens(img)):
        with pytest.raises(vkvit.ClosedError, match="model is closed"):
            call()
    assert repr(m) == "<vkvit.Model closed>" and m.closed
    m2.embed(img)
    ctx.close()                                                       # closes m2 (plans, model) first
    assert m2.closed and ctx.closed
    with pytest.raises(vkvit.ClosedError, match="context is closed"):
        vkvit.Model(ctx, HF_VIT)
    with pytest.raises(vkvit.ClosedError):
        m2.embed(img)
    with pytest.raises(vkvit.ClosedError):
        ctx.device
    # Garbage collection closes too, in any order.
    c = vkvit.Context(validation=True, on_message=messages)
    vkvit.Model(c, HF_VIT).embed(img)
    del c
    gc.collect()


def test_contexts_with_and_without_validation(messages):
    """Contexts of different instance setups in one process, closed in any order, with vkvit.devices() (a
    temporary instance) between: this crashed in vkvit_context_destroy before it used its own instance's
    vkDestroyDebugUtilsMessengerEXT."""
    a = vkvit.Context(validation=True, on_message=messages)
    b = vkvit.Context()
    assert vkvit.devices()
    with vkvit.Model(a, HF_VIT) as ma, vkvit.Model(b, HF_VIT) as mb:
        x = bundled_images()[:2]
        assert np.array_equal(ma.embed(x), mb.embed(x))
    a.close()
    c = vkvit.Context(validation=True, on_message=messages)
    b.close()
    c.close()


def rss_kib():
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS in /proc/self/status")


def heap_in_use_kib():
    """glibc's heap in use (mallinfo2: bytes malloc has handed out and not had back, over every arena, mmapped
    chunks included), or None where the C library is not glibc >= 2.33. Unlike RSS it does not count memory
    that free() gave back but malloc keeps (docs/memory.md)."""
    import ctypes
    import ctypes.util

    class MallInfo2(ctypes.Structure):
        _fields_ = [(n, ctypes.c_size_t) for n in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks",
                                                   "fsmblks", "uordblks", "fordblks", "keepcost")]
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c"))
        libc.mallinfo2.restype = MallInfo2
    except (OSError, AttributeError, TypeError):
        return None
    mi = libc.mallinfo2()
    return (mi.uordblks + mi.hblkhd) // 1024


def test_cycles_do_not_grow_memory():
    """1,000 create / run / close cycles of the tiny model (a model, a plan, a run of images, closed) on one
    context: resident memory within 4 MiB of after the warm-up (measured: +0.1 MiB over the
    1,000 cycles); 45 whole contexts (create, load, run, close) in a child process: glibc's heap in use within
    16 KiB and RSS within 32 KiB each on average (measured: +0.6 KiB RSS, +0.0 KiB heap on Debian 12; +0.7 and
    +0.1 on Debian 13; whole_contexts_child says why a child)."""
    img = np.asarray(np.random.default_rng(1).integers(0, 256, (40, 30, 3)), np.uint8)
    path = bundled_images()[0]

    def cycles(ctx, n):
        for _ in range(n):
            with vkvit.Model(ctx, HF_VIT) as m:
                m.classify([img, path], top_k=2)
    with vkvit.Context() as ctx:
        cycles(ctx, 100)
        gc.collect()
        before = rss_kib()
        cycles(ctx, 1000)
        gc.collect()
        grown = rss_kib() - before
    print(f"RSS after 1,000 cycles: {grown:+d} KiB")
    assert grown <= 4096, f"RSS grew by {grown} KiB over 1,000 cycles"
    # Whole contexts: in a child process where malloc's retention is taken out of RSS (below).
    env = dict(os.environ, MALLOC_ARENA_MAX="1")
    child = subprocess.run([sys.executable, "-c", "import sys; sys.path.insert(0, sys.argv[1]); import test_vkvit; "
                            "test_vkvit.whole_contexts_child()", str(Path(__file__).parent)],
                           env=env, capture_output=True, text=True, timeout=240)
    assert child.returncode == 0, child.stdout + child.stderr
    r = json.loads(child.stdout.splitlines()[-1])
    print(f"whole contexts: RSS {r['rss']} KiB, heap in use {r['heap']} KiB over {r['contexts']}")
    n = r["contexts"]
    if r["heap"] is not None:
        assert r["heap"] / n <= 16, f"glibc heap in use grew by {r['heap'] / n:.1f} KiB per context: {r}"
    assert r["rss"] / n <= 32, f"RSS grew by {r['rss'] / n:.1f} KiB per context: {r}"


def whole_contexts_child():
    """Run by test_cycles_do_not_grow_memory in a child process with MALLOC_ARENA_MAX=1: 20 whole contexts
    (create, load, run, close) for warm-up, then 45 more; prints the growth of RSS and of glibc's heap in use, as
    JSON. Memory that free() gave back but malloc keeps is not a leak, yet it shows in RSS, and on lavapipe it
    is large: on Debian 12 (Mesa 22.3) its worker threads, started with each VkDevice, free into glibc's
    per-thread arenas, which keep the pages (RSS rose in steps of 0.9-2.9 MiB, 24-257 KiB per context on
    average over 45-90 contexts, more on busy cores, with the heap in use flat); on Debian 13 (Mesa 26) the
    main arena's fragmentation keeps a few KiB per device. tools/rss-cycles shows both without vkvit, for a bare
    instance + device + GELU dispatch (docs/memory.md). One arena and malloc_trim(0) before each reading take
    that out, so what RSS still gains is what is really held: a leak outside malloc (llvmpipe's JIT code, a
    mapping) shows here, and the heap in use shows one inside."""
    import ctypes
    import ctypes.util
    libc = ctypes.CDLL(ctypes.util.find_library("c"))
    img = np.asarray(np.random.default_rng(1).integers(0, 256, (40, 30, 3)), np.uint8)

    def contexts(n):
        for _ in range(n):
            with vkvit.Context() as c, vkvit.Model(c, HF_VIT) as m:
                m.embed(img)
        gc.collect()
        if hasattr(libc, "malloc_trim"):
            libc.malloc_trim(0)
        return rss_kib(), heap_in_use_kib()
    contexts(20)
    rss0, heap0 = contexts(0)
    rss1, heap1 = contexts(45)
    print(json.dumps({"contexts": 45, "rss": rss1 - rss0, "heap": heap1 - heap0 if heap0 is not None else None}))


# ---- several contexts ---------------------------------------------------------------------------------------

def test_pool_of_two_contexts_equals_one(ctx, messages):
    """vkvit.Pool over two contexts on the one device: the same rows as one context, in input order."""
    paths = bundled_images()
    items = paths + [np.asarray(np.random.default_rng(2).integers(0, 256, (50, 70, 3)), np.uint8)] + paths[:2]
    with vkvit.Model(ctx, BUNDLED, precision="fp32", max_batch=4) as m:
        emb, cls = m.embed(items), m.classify(items, top_k=2)
    dev = str(ctx.device.index)
    with vkvit.Pool(BUNDLED, devices=[dev, dev], precision="fp32", max_batch=4,
                    context_kwargs={"validation": True, "on_message": messages}) as pool:
        assert len(pool.contexts) == 2 and pool.contexts[0] is not pool.contexts[1]
        assert np.array_equal(pool.embed(items), emb)
        assert pool.classify(items, top_k=2) == cls
        assert np.array_equal(pool.embed(items[:1]), emb[:1])        # fewer images than devices
        with vkvit.Pool(BUNDLED, devices=[dev, dev], weights=[3, 1], precision="fp32") as uneven:
            assert np.array_equal(uneven.embed(items), emb)
        assert pool.info.num_classes == 10 and pool.labels[8] == "Bag"
    with pytest.raises(vkvit.ClosedError):
        pool.embed(items)


def test_dask_two_workers_equal_one_process(tmp_path, messages):
    """vkvit.dask on a LocalCluster of two worker processes, each worker's context with the validation layer on:
    a folder's embeddings (.npy + index) equal the single-process result, every file once, in order, both
    workers took part, the layer is loaded in both, and no worker reported a warning or an error."""
    from distributed import Client, LocalCluster
    import vkvit.dask
    folder = tmp_path / "images"
    folder.mkdir()
    for k, p in enumerate(bundled_images()):
        (folder / f"{k:02d}-{Path(p).name}").write_bytes(Path(p).read_bytes())
    (folder / "notes.txt").write_text("not an image: left out by suffix")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT / "python"), os.environ.get("PYTHONPATH", "")]))
    os.environ.update(env)   # the spawned workers inherit it
    with LocalCluster(n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        paths = vkvit.dask.embed_folder(client, str(BUNDLED), folder, tmp_path / "out.npy", chunk_size=3,
                                        validation=True)
        reports = vkvit.dask.worker_reports(client)
        layer = client.run(lambda: "libVkLayer_khronos_validation" in Path("/proc/self/maps").read_text())
        pids = client.run(os.getpid)
    assert len(reports) == 2 and all(r is not None and r["validation"] for r in reports.values()), reports
    assert all(layer.values()), f"the validation layer is not loaded in every worker: {layer}"
    for address, r in reports.items():
        messages.seen += [f"worker {address}: {m}" for m in r["messages"]]   # the fixture fails on any
        assert r["message_count"] == len(r["messages"]), r
    per_worker = [r["images"] for r in reports.values()]
    assert all(n > 0 for n in per_worker) and sum(per_worker) == len(paths), per_worker
    assert len(set(pids.values())) == 2
    index = (tmp_path / "out.txt").read_text().splitlines()
    assert index == paths == sorted(str(p) for p in folder.glob("*.png"))
    out = np.load(tmp_path / "out.npy")
    with vkvit.Context(validation=True, on_message=messages) as c, vkvit.Model(c, BUNDLED) as m:
        ref = m.embed(paths)
    assert out.dtype == np.float32 and out.shape == ref.shape
    assert rel_err(out, ref) <= 1e-6


def test_dask_plugin_keeps_messages(monkeypatch):
    """The worker plugin's message channel, without a cluster: a vkvit warning (an unusable VKVIT_TUNE) at its
    setup is kept and reported; the pickled recipe keeps `validation` and carries no handle."""
    import pickle
    import vkvit.dask
    plugin = vkvit.dask.VkvitPlugin(str(HF_VIT), validation=True)
    copy = pickle.loads(pickle.dumps(plugin))
    assert copy.validation and copy.path == str(HF_VIT) and copy.ctx is None and copy.messages == []
    monkeypatch.setenv("VKVIT_TUNE", "sometimes")
    copy.setup(None)
    try:
        r = copy.report()
        assert r["message_count"] == 1 and "VKVIT_TUNE='sometimes'" in r["messages"][0], r
        assert r["messages"][0].startswith("warning: ") and r["validation"]
    finally:
        copy.teardown(None)
    assert copy.ctx is None and copy.model is None


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-v"]))
