"""vkvit from Python: Vision Transformers on any GPU through Vulkan compute.

    import vkvit
    with vkvit.Context() as ctx, vkvit.Model(ctx, "deit-tiny") as model:
        print(model.classify(["cat.jpg"], top_k=3))

A thin layer over the C library (libvkvit.so, through ctypes: see vkvit._lib for why and how it is found).
Images are file paths, numpy uint8 arrays (H x W x 3 RGB, H x W x 4 RGBA, H x W grey) or PIL images, and the
preprocessing the checkpoint was trained with runs on the GPU; float32 arrays [N, C, H, W] are taken as
already-preprocessed pixels. Results are numpy arrays and plain Python data. Objects close deterministically
(`with`, close()) and on garbage collection; every failure of the C library raises vkvit.Error (a subclass per
status) with vkvit_last_error()'s text. vkvit.Pool runs one context per device; vkvit.dask spreads work over a
dask.distributed cluster. docs/python.md.
"""
from __future__ import annotations

import ctypes
import os
import threading
import weakref
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple, Union

import numpy as np

from . import _lib
from ._lib import lib

__all__ = ["Error", "ClosedError", "Context", "Model", "Pool", "ModelInfo", "DeviceInfo", "Prediction",
           "devices", "version"]

version = "0.1.0"

ImageLike = Any   # str | os.PathLike | numpy.ndarray | PIL.Image.Image
Images = Union[ImageLike, Sequence[ImageLike], np.ndarray]
Prediction = Tuple[int, Optional[str], float]   # (class index, label or None, probability)


# ---- errors -------------------------------------------------------------------------------------------------

class Error(Exception):
    """A vkvit call failed. `status` is the C status name (e.g. "VKVIT_ERROR_IO"), `code` its value and
    `detail` vkvit_last_error()'s text (what went wrong and where: file, tensor, byte offset)."""

    def __init__(self, code: int, detail: str, call: str = ""):
        self.code = code
        self.status = _lib.STATUS_NAMES[code] if 0 <= code < len(_lib.STATUS_NAMES) else f"status {code}"
        self.detail = detail
        self.call = call
        super().__init__(f"{self.status}: {detail}" if detail else self.status)


def _class_name(status: str) -> str:
    return "".join(w.capitalize() for w in status[len("VKVIT_ERROR_"):].split("_")) + "Error"


# One subclass per status: vkvit.IoError, vkvit.FileTruncatedError, vkvit.BadConfigError, ...
_ERROR_CLASSES: Dict[int, type] = {}
for _code, _name in enumerate(_lib.STATUS_NAMES[1:], start=1):
    _cls = type(_class_name(_name), (Error,), {"__doc__": f"{_name} (see include/vkvit.h)."})
    _ERROR_CLASSES[_code] = _cls
    globals()[_cls.__name__] = _cls
    __all__.append(_cls.__name__)


class ClosedError(ValueError):
    """An operation on a Context, Model or Pool that has been closed (like Python's closed files)."""


def _check(code: int, call: str) -> None:
    if code != 0:
        detail = _lib.text(lib.vkvit_last_error()) or ""   # same thread as the failed call: its own detail
        raise _ERROR_CLASSES.get(code, Error)(code, detail, call)


# ---- devices ------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class DeviceInfo:
    """A Vulkan device (vkvit_device_info, the main fields)."""
    index: int
    name: str
    vendor: str
    type: str
    driver_name: str
    driver_info: str
    subgroup_size: int
    shader_float16: bool
    coopmat: str                    # the context's cooperative-matrix extension ("none" from devices())
    device_local_bytes: int


def _device_info(d: _lib.DeviceInfo) -> DeviceInfo:
    return DeviceInfo(index=d.index, name=_lib.text(d.name), vendor=_lib.text(d.vendor) or "",
                      type=_lib.text(lib.vkvit_device_type_string(d.type)), driver_name=_lib.text(d.driver_name),
                      driver_info=_lib.text(d.driver_info), subgroup_size=d.subgroup_size,
                      shader_float16=bool(d.shader_float16),
                      coopmat={0: "none", 1: "nv", 2: "khr"}.get(d.coopmat_extension, "?"),
                      device_local_bytes=d.device_local_bytes)


def devices() -> List[DeviceInfo]:
    """Every Vulkan device the loader reports, in index order (the index Context(device=...) takes)."""
    count = ctypes.c_uint32(0)
    _check(lib.vkvit_enumerate_devices(None, ctypes.byref(count)), "vkvit_enumerate_devices")
    # One struct's stride must be the library's: allocate the exact array, plus slack at the end.
    n = count.value
    buf = (ctypes.c_char * (ctypes.sizeof(_lib.DeviceInfo) * max(n, 1) + 1024))()
    count = ctypes.c_uint32(n)
    _check(lib.vkvit_enumerate_devices(buf, ctypes.byref(count)), "vkvit_enumerate_devices")
    arr = (_lib.DeviceInfo * max(n, 1)).from_buffer(buf)
    return [_device_info(arr[i]) for i in range(min(n, count.value))]


# ---- context ------------------------------------------------------------------------------------------------

class _Handle:
    """A C handle with deterministic and garbage-collected release, and a lock serialising its use."""

    _what = "object"

    def __init__(self) -> None:
        self._h: Optional[int] = None
        self._lock = threading.RLock()

    def _handle(self) -> int:
        if self._h is None:
            raise ClosedError(f"vkvit: this {self._what} is closed")
        return self._h

    @property
    def closed(self) -> bool:
        return self._h is None

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:   # interpreter shutdown: the module globals may be gone already
            pass


class Context(_Handle):
    """A Vulkan device opened by vkvit (vkvit_context_create).

    device: None = the VKVIT_DEVICE environment variable if set, else the best device; an int picks by index
    (vkvit.devices()), a str of digits likewise, any other str by case-insensitive substring of the name.
    validation: enable the Khronos validation layer (VKVIT_VALIDATION=1 does too). on_message: called as
    on_message(severity, text) with severity "info", "warning" or "error" for validation-layer messages and
    vkvit's own warnings (None = printed to stderr by the library). pipeline_cache_dir: None = the default
    ($XDG_CACHE_HOME/vkvit), "" = none. device_memory_budget: bytes, 0 = none.

    A context may be used from several threads; closing it closes its models (and their plans) first.
    """

    _what = "context"

    def __init__(self, device: Union[None, int, str] = None, *, validation: bool = False,
                 on_message: Optional[Callable[[str, str], None]] = None, pipeline_cache_dir: Optional[str] = None,
                 device_memory_budget: int = 0) -> None:
        super().__init__()
        self._models: "weakref.WeakSet[Model]" = weakref.WeakSet()
        opt = _lib.padded(_lib.ContextOptions)
        if device is not None:
            if isinstance(device, bool) or not isinstance(device, (int, str)):
                raise TypeError(f"vkvit.Context: device must be None, an int or a str, not {type(device).__name__}")
            if isinstance(device, int) and device < 0:
                raise ValueError(f"vkvit.Context: device index {device} is negative")
            self._device_arg = str(device).encode()
            opt.device = self._device_arg
        opt.validation = 1 if validation else 0
        if on_message is not None:
            severities = ("info", "warning", "error")

            def relay(_user, severity, message):
                try:
                    on_message(severities[severity] if 0 <= severity < 3 else str(severity),
                               _lib.text(message) or "")
                except Exception:   # an exception cannot cross into C: report it and go on
                    import traceback
                    traceback.print_exc()
            self._callback = _lib.MESSAGE_FN(relay)   # kept alive as long as the context
            opt.on_message = self._callback
        if pipeline_cache_dir is not None:
            self._cache_arg = os.fsencode(pipeline_cache_dir)
            opt.pipeline_cache_dir = self._cache_arg
        opt.device_memory_budget = int(device_memory_budget)
        h = ctypes.c_void_p()
        _check(lib.vkvit_context_create(ctypes.byref(opt), ctypes.byref(h)), "vkvit_context_create")
        self._h = h.value

    @property
    def device(self) -> DeviceInfo:
        """The device the context runs on."""
        with self._lock:
            info = _lib.padded(_lib.DeviceInfo)
            _check(lib.vkvit_context_device_info(self._handle(), ctypes.byref(info)), "vkvit_context_device_info")
            return _device_info(info)

    def close(self) -> None:
        """Closes the context's models (and their plans), then the context. Idempotent."""
        for m in list(getattr(self, "_models", ())):
            m.close()
        with self._lock:
            if self._h is not None:
                h, self._h = self._h, None
                lib.vkvit_context_destroy(h)

    def __repr__(self) -> str:
        return "<vkvit.Context closed>" if self.closed else f"<vkvit.Context {self.device.name!r}>"


# ---- model --------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ModelInfo:
    """What vkvit_model_get_info says about a loaded model (include/vkvit.h documents each field)."""
    family: str
    hidden: int
    layers: int
    heads: int
    mlp: int
    image_size: int
    image_height: int
    image_width: int
    patch_size: int
    channels: int
    tokens: int
    grid_height: int
    grid_width: int
    num_classes: int
    distilled: bool
    gelu_tanh: bool
    layer_norm_eps: float
    parameters: int
    weight_bytes: int
    precision: str
    embedding_size: int
    embedding: str
    preprocessing: str
    config: str
    outputs: str


class Model(_Handle):
    """A checkpoint loaded onto a context's device (vkvit_model_load).

    path: a Hugging Face / timm model directory, a .safetensors or .index.json file, or a Google .npz.
    precision: "auto" (fp16 on GPUs with the fp16 path, fp32 on CPU devices), "fp32" or "fp16".
    image_size: run at another input size (an int, or (height, width)); None = the checkpoint's.
    max_batch: images per GPU run; longer lists run in batches of at most this many.
    keep_host_weights: keep the fp32 weights on the host as well (the C API's vkvit_verify needs them).
    decode_threads: threads that decode the next batch's images (files through vkvit_image_load, which runs
        without the GIL; arrays and PIL images converted to RGBA) while the GPU runs the current one; None =
        the CPUs, at most 8. Results are in input order and the same for any number.

    model.classify / embed / patch_tokens / logits / probabilities take a list of images (a single image is a
    list of one). Plans (the recorded forward pass) are made once per batch size and option set and kept.
    One call at a time runs on a model (a lock); use one Model per thread, or vkvit.Pool, for parallelism.
    """

    _what = "model"

    def __init__(self, ctx: Context, path: Union[str, "os.PathLike[str]"], *, precision: str = "auto",
                 image_size: Union[None, int, Tuple[int, int]] = None, max_batch: int = 16,
                 keep_host_weights: bool = False, decode_threads: Optional[int] = None) -> None:
        super().__init__()
        self._plans: Dict[Tuple[int, bool, bool], int] = {}
        self._decoder: Optional[ThreadPoolExecutor] = None
        if not isinstance(ctx, Context):
            raise TypeError(f"vkvit.Model: ctx must be a vkvit.Context, not {type(ctx).__name__}")
        if precision not in _lib.PRECISIONS:
            raise ValueError(f"vkvit.Model: precision must be one of {sorted(_lib.PRECISIONS)}, not {precision!r}")
        if isinstance(max_batch, bool) or not isinstance(max_batch, int) or max_batch < 1:
            raise ValueError(f"vkvit.Model: max_batch must be a positive int, not {max_batch!r}")
        self.max_batch = max_batch
        self.decode_threads = (min(os.cpu_count() or 1, 8) if decode_threads is None
                               else _positive(decode_threads, "decode_threads"))
        opt = _lib.padded(_lib.ModelOptions)
        opt.precision = _lib.PRECISIONS[precision]
        opt.keep_host_weights = 1 if keep_host_weights else 0
        if image_size is not None:
            if isinstance(image_size, int) and not isinstance(image_size, bool):
                opt.image_size = _positive(image_size, "image_size")
            elif isinstance(image_size, (tuple, list)) and len(image_size) == 2:
                opt.image_height = _positive(image_size[0], "image_size[0]")
                opt.image_width = _positive(image_size[1], "image_size[1]")
            else:
                raise TypeError(f"vkvit.Model: image_size must be an int or (height, width), not {image_size!r}")
        self.ctx = ctx   # keeps the context alive while the model is
        self.path = os.fspath(path)
        h = ctypes.c_void_p()
        with ctx._lock:
            _check(lib.vkvit_model_load(ctx._handle(), os.fsencode(self.path), ctypes.byref(opt), ctypes.byref(h)),
                   "vkvit_model_load")
            self._h = h.value
            ctx._models.add(self)
        raw = _lib.padded(_lib.ModelInfo)
        _check(lib.vkvit_model_get_info(self._h, ctypes.byref(raw)), "vkvit_model_get_info")
        t = _lib.text
        self.info = ModelInfo(
            family=t(raw.family) or "", hidden=raw.hidden, layers=raw.layers, heads=raw.heads, mlp=raw.mlp,
            image_size=raw.image_size, image_height=raw.image_height, image_width=raw.image_width,
            patch_size=raw.patch_size, channels=raw.channels, tokens=raw.tokens, grid_height=raw.grid_height,
            grid_width=raw.grid_width, num_classes=raw.num_classes, distilled=bool(raw.distilled),
            gelu_tanh=bool(raw.gelu_tanh), layer_norm_eps=raw.layer_norm_eps, parameters=raw.parameters,
            weight_bytes=raw.weight_bytes, precision=t(lib.vkvit_precision_string(raw.precision)),
            embedding_size=raw.embedding_size, embedding=t(raw.embedding) or "",
            preprocessing=t(raw.preprocessing) or "", config=t(raw.config) or "", outputs=t(raw.outputs) or "")
        #: The class names (None where the checkpoint names none), num_classes entries; [] for a backbone.
        self.labels: List[Optional[str]] = [t(lib.vkvit_model_label(self._h, i)) for i in range(raw.num_classes)]

    # -- lifetime --

    def close(self) -> None:
        """Destroys the model's plans, then the model. Idempotent; the context stays open."""
        with self._lock:
            if self._h is None:
                return
            for p in self._plans.values():
                lib.vkvit_plan_destroy(p)
            self._plans.clear()
            if self._decoder is not None:
                self._decoder.shutdown(wait=False)
                self._decoder = None
            h, self._h = self._h, None
            lib.vkvit_model_destroy(h)

    def __repr__(self) -> str:
        if self.closed:
            return "<vkvit.Model closed>"
        i = self.info
        return (f"<vkvit.Model {self.path!r}: {i.family}, hidden {i.hidden}, {i.layers} layers, "
                f"{i.image_height}x{i.image_width}, {i.num_classes} classes, {i.precision}>")

    # -- public runs --

    def classify(self, images: Images, top_k: int = 5) -> List[List[Prediction]]:
        """Per image, its top_k most probable classes as (index, label, probability), most probable first."""
        if isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1:
            raise ValueError(f"vkvit: top_k must be a positive int, not {top_k!r}")
        self._need_classes("classify")
        k = min(top_k, self.info.num_classes)
        out: List[List[Prediction]] = []

        def collect(plan: int, n: int) -> None:
            preds = (_lib.Prediction * k)()
            for i in range(n):
                _check(lib.vkvit_top_k(plan, i, k, preds), "vkvit_top_k")
                out.append([(p.index, _lib.text(p.label), float(p.probability)) for p in preds])
        self._run(images, False, False, collect)
        return out

    def logits(self, images: Images) -> np.ndarray:
        """The classifier's logits, float32 [N, num_classes]."""
        self._need_classes("logits")
        return self._rows(images, "logits", (self.info.num_classes,))

    def probabilities(self, images: Images) -> np.ndarray:
        """Softmax of the logits, float32 [N, num_classes]."""
        self._need_classes("probabilities")
        return self._rows(images, "probabilities", (self.info.num_classes,))

    def embed(self, images: Images, normalize: bool = False) -> np.ndarray:
        """The model's embedding per image (ModelInfo.embedding says which vector), float32 [N, embedding_size];
        normalize=True: unit vectors (the L2 norm taken on the host in double precision, as the C API does)."""
        return self._rows(images, "embeddings", (self.info.embedding_size,), normalize=bool(normalize))

    def patch_tokens(self, images: Images) -> np.ndarray:
        """Every token after the final LayerNorm, float32 [N, tokens, hidden]: the class (and distillation)
        token, then the patches in raster order (ModelInfo.grid_height x grid_width)."""
        return self._rows(images, "patch_tokens", (self.info.tokens, self.info.hidden), patch_tokens=True)

    # -- internals --

    def _need_classes(self, what: str) -> None:
        self._handle()
        if self.info.num_classes == 0:
            raise ValueError(f"vkvit: {what} needs a classifier; {self.path} is a backbone (use embed())")

    def _rows(self, images: Images, getter: str, shape: Tuple[int, ...], normalize: bool = False,
              patch_tokens: bool = False) -> np.ndarray:
        parts: List[np.ndarray] = []
        per = int(np.prod(shape))
        get = getattr(lib, "vkvit_get_" + getter)

        def collect(plan: int, n: int) -> None:
            a = np.empty((n,) + shape, dtype=np.float32)
            _check(get(plan, a.ctypes.data_as(ctypes.POINTER(ctypes.c_float)), n * per), "vkvit_get_" + getter)
            parts.append(a)
        self._run(images, normalize, patch_tokens, collect)
        return np.concatenate(parts) if len(parts) > 1 else parts[0]

    def _plan(self, batch: int, normalize: bool, patch_tokens: bool) -> int:
        key = (batch, normalize, patch_tokens)
        plan = self._plans.get(key)
        if plan is None:
            opt = _lib.padded(_lib.PlanOptions)
            opt.batch = batch
            opt.normalize_embeddings = 1 if normalize else 0
            opt.patch_tokens = 1 if patch_tokens else 0
            h = ctypes.c_void_p()
            _check(lib.vkvit_plan_create(self._handle(), ctypes.byref(opt), ctypes.byref(h)), "vkvit_plan_create")
            plan = self._plans[key] = h.value
        return plan

    def _run(self, images: Images, normalize: bool, patch_tokens: bool, collect: Callable[[int, int], None]) -> None:
        items = _as_list(images)
        with self._lock:
            self._handle()
            if isinstance(items, np.ndarray):   # preprocessed pixels [N, C, H, W]
                i = self.info
                want = (i.channels, i.image_height, i.image_width)
                if items.shape[1:] != want:
                    raise ValueError(f"vkvit: a float32 input must be [N, {want[0]}, {want[1]}, {want[2]}] "
                                     f"(the model's channels, height, width), not {list(items.shape)}")
                n = items.shape[0]
            else:
                n = len(items)
            chunk = min(n, self.max_batch)
            plan = self._plan(chunk, normalize, patch_tokens)
            if isinstance(items, np.ndarray):
                for start in range(0, n, chunk):
                    part = items[start:start + chunk]
                    t = _lib.Tensor(part.ctypes.data_as(ctypes.POINTER(ctypes.c_float)), part.shape[0],
                                    *part.shape[1:])
                    _check(lib.vkvit_run(plan, ctypes.byref(t), None), "vkvit_run")
                    collect(plan, len(part))
                return
            if self._decoder is None:
                self._decoder = ThreadPoolExecutor(self.decode_threads, thread_name_prefix="vkvit-decode")
            # batch j runs (ctypes lets go of the GIL) while the threads decode batch j + 1
            batches = [_ImageBatch(items[start:start + chunk], start, self._decoder)
                       for start in range(0, min(n, 2 * chunk), chunk)]
            try:
                for start in range(0, n, chunk):
                    array = batches[0].array()   # raises the first bad image's error, in input order
                    _check(lib.vkvit_run_images(plan, array, batches[0].n, None), "vkvit_run_images")
                    batches.pop(0).close()
                    if start + 2 * chunk < n:
                        batches.append(_ImageBatch(items[start + 2 * chunk:start + 3 * chunk], start + 2 * chunk,
                                                   self._decoder))
                    collect(plan, min(chunk, n - start))
            finally:
                for b in batches:
                    b.close()


def _positive(v: Any, what: str) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v <= 0:
        raise ValueError(f"vkvit.Model: {what} must be a positive int, not {v!r}")
    return int(v)


def _is_pil(x: Any) -> bool:
    mod = type(x).__module__
    return mod.startswith("PIL.") and hasattr(x, "mode") and hasattr(x, "convert")


def _as_list(images: Images) -> Union[List[Any], np.ndarray]:
    """A list of single images, or a C-contiguous float32 [N, C, H, W] array of preprocessed pixels."""
    if isinstance(images, (str, bytes, os.PathLike)) or _is_pil(images):
        return [images]
    if isinstance(images, np.ndarray):
        if images.dtype == np.float32:
            if images.ndim != 4:
                raise ValueError(f"vkvit: a float32 array is preprocessed pixels [N, C, H, W], not shape "
                                 f"{list(images.shape)}")
            if images.shape[0] == 0:
                raise ValueError("vkvit: no images (a batch of 0)")
            return np.ascontiguousarray(images)
        if images.dtype != np.uint8:
            raise TypeError(f"vkvit: image arrays must be uint8 (H x W x 3/4, H x W) or float32 [N, C, H, W] "
                            f"preprocessed pixels, not {images.dtype}")
        if images.ndim == 4:
            items = list(images)
        elif images.ndim in (2, 3):
            items = [images]
        else:
            raise ValueError(f"vkvit: a uint8 image array must be H x W x 3/4, H x W or N x H x W x 3/4, not shape "
                             f"{list(images.shape)}")
    elif isinstance(images, Iterable):
        items = list(images)
    else:
        raise TypeError(f"vkvit: images must be file paths, numpy uint8 arrays or PIL images (or a list of them), "
                        f"not {type(images).__name__}")
    if not items:
        raise ValueError("vkvit: no images (an empty list)")
    for k, x in enumerate(items):
        _check_image(x, k)
    return items


def _check_image(x: Any, k: int) -> None:
    if isinstance(x, (str, bytes, os.PathLike)) or _is_pil(x):
        return
    if isinstance(x, np.ndarray):
        if x.dtype != np.uint8:
            raise TypeError(f"vkvit: image {k}: dtype {x.dtype}; image arrays must be uint8")
        if not (x.ndim == 2 or (x.ndim == 3 and x.shape[2] in (1, 3, 4))):
            raise ValueError(f"vkvit: image {k}: shape {list(x.shape)}; an image array is H x W x 3 (RGB), "
                             f"H x W x 4 (RGBA) or H x W (grey)")
        if x.shape[0] == 0 or x.shape[1] == 0:
            raise ValueError(f"vkvit: image {k}: shape {list(x.shape)} has no pixels")
        return
    raise TypeError(f"vkvit: image {k}: a {type(x).__name__}; images are file paths, numpy uint8 arrays or "
                    f"PIL images")


def _rgba(x: Any) -> np.ndarray:
    """An image as a C-contiguous uint8 H x W x 4 array (alpha 255 where the source has none)."""
    if _is_pil(x):
        if x.mode not in ("RGB", "RGBA", "L"):
            x = x.convert("RGBA" if "A" in x.mode or "transparency" in x.info else "RGB")
        x = np.asarray(x)
    if x.ndim == 3 and x.shape[2] == 4:
        return np.ascontiguousarray(x)
    if x.ndim == 3 and x.shape[2] == 1:
        x = x[:, :, 0]
    out = np.empty(x.shape[:2] + (4,), dtype=np.uint8)
    out[:, :, :3] = x[:, :, None] if x.ndim == 2 else x
    out[:, :, 3] = 255
    return out


class _Decoded:
    """One image ready for vkvit_run_images: its vkvit_image, whether vkvit_image_load allocated the pixels (freed
    by vkvit_image_destroy), and the RGBA copy that holds them otherwise."""

    __slots__ = ("image", "owned", "keep")

    def __init__(self) -> None:
        self.image = _lib.Image()
        self.owned = False
        self.keep: Optional[np.ndarray] = None


def _decode(x: Any, index: int) -> _Decoded:
    """Runs on a decode thread; vkvit_last_error() is per thread, so _check reads it here."""
    d = _Decoded()
    if isinstance(x, (str, bytes, os.PathLike)):
        _check(lib.vkvit_image_load(os.fsencode(x), ctypes.byref(d.image)), "vkvit_image_load")
        d.owned = True
        return d
    a = _rgba(x)
    if a.shape[0] == 0 or a.shape[1] == 0:
        raise ValueError(f"vkvit: image {index} has no pixels")
    d.keep = a
    d.image.rgba = a.ctypes.data_as(ctypes.POINTER(ctypes.c_uint8))
    d.image.width, d.image.height = a.shape[1], a.shape[0]
    return d


class _ImageBatch:
    """A batch of images being decoded on the model's decode threads, one task per image."""

    def __init__(self, items: Sequence[Any], first: int, pool: ThreadPoolExecutor) -> None:
        self.n = len(items)
        self._tasks: List["Future[_Decoded]"] = [pool.submit(_decode, x, first + k) for k, x in enumerate(items)]

    def array(self) -> ctypes.Array:
        """The vkvit_image array, once every image is decoded; the first failure in input order is raised."""
        array = (_lib.Image * self.n)()
        for k, task in enumerate(self._tasks):
            array[k] = task.result().image
        return array

    def close(self) -> None:
        """Waits for the tasks and frees what vkvit_image_load allocated."""
        for task in self._tasks:
            try:
                d = task.result()
            except BaseException:
                continue
            if d.owned:
                lib.vkvit_image_destroy(ctypes.byref(d.image))
        self._tasks = []


from ._pool import Pool  # noqa: E402  (Pool uses Context and Model)
