"""JPEG decoding (src/image.c, libjpeg-turbo) against Pillow's: vkvit_image_load must give the pixels of
PIL's Image.open(path).convert("RGB"), byte for byte, on the real photos in ../shared/images and on JPEGs made
here: by PIL (4:2:0, 4:2:2, 4:4:4, progressive, optimized Huffman tables, grey, CMYK with Adobe's marker; odd
sizes 1x1, 7x13, 17x9; quality 50 and 95) and by libjpeg's encoder (tests/write_jpeg.c, for what Pillow 9.4
cannot write: restart intervals, YCCK, CMYK without colour transform, RGB without colour transform, 4:4:0 and
4:1:1). Truncated files are refused as PIL refuses them (without ImageFile.LOAD_TRUNCATED_IMAGES), corrupt
headers get VKVIT_ERROR_BAD_IMAGE naming the file, and corrupt entropy data (which libjpeg decodes past with a
warning) gives PIL's pixels or an error where PIL errs.

Run by meson with the python suite (VKVIT_WRITE_JPEG = the built tests/write_jpeg); by hand as test_vkvit.py says.
"""
import ctypes
import io
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image as PILImage

import vkvit
from vkvit._lib import Image, lib

ROOT = Path(__file__).resolve().parents[2]
PHOTOS = ROOT.parent / "shared" / "images"
WRITE_JPEG = os.environ.get("VKVIT_WRITE_JPEG", str(ROOT / "build" / "tests" / "write_jpeg"))


def vkvit_rgb(path):
    """vkvit_image_load's pixels as [H, W, 3] (alpha checked to be opaque), or raises vkvit's exception."""
    im = Image()
    vkvit._check(lib.vkvit_image_load(os.fsencode(path), ctypes.byref(im)), "vkvit_image_load")
    try:
        a = np.ctypeslib.as_array(im.rgba, shape=(im.height, im.width, 4)).copy()
    finally:
        lib.vkvit_image_destroy(ctypes.byref(im))
    assert (a[..., 3] == 255).all(), f"{path}: alpha not opaque"
    return a[..., :3]


def pil_rgb(path):
    with PILImage.open(path) as im:
        return np.asarray(im.convert("RGB"))


def picture(h, w, seed=0):
    """A photo-like RGB picture: gradients, an edge, and noise of a few levels."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    a = np.stack([x * 255 // max(w, 1), y * 255 // max(h, 1), (x + y) * 97 % 256], axis=2).astype(np.int32)
    a[(x - w // 2) ** 2 + (y - h // 2) ** 2 < (min(h, w) // 3) ** 2] //= 2
    return np.clip(a + rng.integers(-6, 7, a.shape), 0, 255).astype(np.uint8)


def assert_same(path, label):
    got, want = vkvit_rgb(path), pil_rgb(path)
    assert got.shape == want.shape, label
    diff = np.abs(got.astype(np.int32) - want)
    assert diff.max() == 0, f"{label}: {np.count_nonzero(diff)} of {diff.size} bytes differ, up to {diff.max()}"


@pytest.mark.skipif(not PHOTOS.is_dir(), reason="../shared/images not found")
def test_shared_photos_equal_pil():
    photos = sorted(PHOTOS.glob("*.jpg"))
    assert photos
    for p in photos:
        assert_same(p, p.name)


PIL_CASES = [dict(subsampling=s, quality=q) for s in ("4:2:0", "4:2:2", "4:4:4") for q in (50, 95)] + [
    dict(progressive=True, quality=75), dict(progressive=True, subsampling="4:4:4", quality=95),
    dict(optimize=True, quality=85)]


@pytest.mark.parametrize("size", [(1, 1), (13, 7), (9, 17), (48, 64), (217, 333)])   # (h, w)
def test_pil_written_equal_pil(tmp_path, size):
    h, w = size
    rgb = picture(h, w, seed=h * w)
    for k, opts in enumerate(PIL_CASES):
        path = tmp_path / f"c{k}.jpg"
        PILImage.fromarray(rgb).save(path, "JPEG", **opts)
        assert_same(path, f"{w}x{h} {opts}")
    grey = tmp_path / "grey.jpg"
    PILImage.fromarray(rgb).convert("L").save(grey, "JPEG", quality=90)
    assert_same(grey, f"{w}x{h} grey")
    got = vkvit_rgb(grey)
    assert (got[..., 0] == got[..., 1]).all() and (got[..., 1] == got[..., 2]).all()
    cmyk = tmp_path / "cmyk.jpg"   # PIL writes Adobe's inverted CMYK with an APP14 marker
    PILImage.fromarray(rgb).convert("CMYK").save(cmyk, "JPEG", quality=90)
    assert PILImage.open(cmyk).mode == "CMYK"
    assert_same(cmyk, f"{w}x{h} CMYK")


LIBJPEG_CASES = [  # space, quality, restart rows, progressive, sampling of the first component
    ("ycc", 90, 1, 0, (2, 2)), ("ycc", 50, 2, 0, (2, 1)), ("ycc", 95, 1, 1, (2, 2)), ("ycc", 75, 3, 0, (1, 1)),
    ("ycc", 80, 0, 0, (1, 2)), ("ycc", 80, 1, 0, (4, 1)), ("gray", 90, 1, 0, (1, 1)), ("rgb", 90, 0, 0, (1, 1)),
    ("rgb", 70, 2, 1, (1, 1)), ("cmyk", 90, 0, 0, (1, 1)), ("cmyk", 60, 1, 1, (1, 1)), ("ycck", 90, 0, 0, (1, 1)),
    ("ycck", 80, 2, 0, (2, 2))]


@pytest.mark.skipif(not Path(WRITE_JPEG).is_file(), reason="tests/write_jpeg not built")
@pytest.mark.parametrize("size", [(1, 1), (13, 7), (9, 17), (100, 131)])   # (h, w)
def test_libjpeg_written_equal_pil(tmp_path, size):
    h, w = size
    for k, (space, q, restart, prog, (hs, vs)) in enumerate(LIBJPEG_CASES):
        path = tmp_path / f"l{k}.jpg"
        subprocess.run([WRITE_JPEG, str(path), str(w), str(h), space, str(q), str(restart), str(prog), str(hs),
                        str(vs)], check=True)
        if restart and h > 16:
            assert b"\xff\xdd" in path.read_bytes(), "no DRI marker"
        assert_same(path, f"{w}x{h} {space} q{q} restart {restart} progressive {prog} {hs}x{vs}")


def encoded(**opts):
    buf = io.BytesIO()
    PILImage.fromarray(picture(61, 83, seed=5)).save(buf, "JPEG", **opts)
    return buf.getvalue()


def pil_refuses(path):
    try:
        pil_rgb(path)
    except OSError:
        return True
    return False


@pytest.mark.parametrize("progressive", [False, True])
def test_truncated_refused_as_pil_refuses(tmp_path, progressive):
    data = encoded(quality=90, progressive=progressive)
    path = tmp_path / "cut.jpg"
    cuts = sorted(set([len(data) - k for k in range(1, 9)] + [len(data) * k // 8 for k in range(2, 8)]))
    for n in cuts:
        path.write_bytes(data[:n])
        assert pil_refuses(path), n
        with pytest.raises(vkvit.BadImageError, match=r"cut\.jpg: (truncated|corrupt or unsupported JPEG)"):
            vkvit_rgb(path)
    path.write_bytes(data)
    assert_same(path, "whole file")


def test_corrupt(tmp_path):
    data = encoded(quality=90)
    path = tmp_path / "bad.jpg"
    dht = data.index(b"\xff\xc4")
    path.write_bytes(data[:dht + 4] + b"\x55" + data[dht + 5:])                # a Huffman table numbered 5 of class 5
    with pytest.raises(vkvit.BadImageError, match=r"bad\.jpg: corrupt or unsupported JPEG \(libjpeg: "):
        vkvit_rgb(path)
    assert pil_refuses(path)
    path.write_bytes(b"\xff\xd8\xff\xd9")                                   # start and end, nothing between
    with pytest.raises(vkvit.BadImageError, match=r"bad\.jpg: "):
        vkvit_rgb(path)
    # Damaged entropy-coded data: libjpeg warns and decodes on, Pillow too; the same pixels (or both refuse).
    sos = data.index(b"\xff\xda")
    rng = np.random.default_rng(3)
    for trial in range(12):
        b = bytearray(data)
        for at in rng.integers(sos + 20, len(data) - 2, 4):
            b[at] = int(rng.integers(0, 256))
        path.write_bytes(bytes(b))
        if pil_refuses(path):
            with pytest.raises(vkvit.BadImageError, match=r"bad\.jpg"):
                vkvit_rgb(path)
        else:
            assert_same(path, f"damaged {trial}")
