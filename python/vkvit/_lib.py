"""The C library through ctypes: finding libvkvit.so, the struct layouts of include/vkvit.h, the prototypes.

ctypes rather than cffi: ctypes is in Python's standard library, so the package needs no build step, no C
compiler and no extra Debian package (python3-cffi) at run time, and works unchanged with any libvkvit.so
(the installed one or a meson build directory's). ctypes also releases the GIL during every foreign call,
which is what lets vkvit.Pool run several contexts from threads. The price, declaring the structs by hand,
is paid once here; structs are allocated with zeroed trailing room (see `_padded`) so a library whose
structs have grown at the end, as the header's conventions allow, neither overruns Python's memory nor
reads garbage: vkvit's option structs zero-initialise to the defaults.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os
from ctypes import (POINTER, c_char, c_char_p, c_float, c_int, c_size_t, c_uint8, c_uint32, c_uint64, c_void_p)
from pathlib import Path
from typing import Optional

# vkvit_status names, in the enum's order (include/vkvit.h).
STATUS_NAMES = (
    "VKVIT_OK", "VKVIT_ERROR_INVALID_ARGUMENT", "VKVIT_ERROR_OUT_OF_HOST_MEMORY", "VKVIT_ERROR_OUT_OF_DEVICE_MEMORY",
    "VKVIT_ERROR_NO_VULKAN", "VKVIT_ERROR_NO_DEVICE", "VKVIT_ERROR_UNSUPPORTED", "VKVIT_ERROR_VULKAN",
    "VKVIT_ERROR_DEVICE_LOST", "VKVIT_ERROR_IO", "VKVIT_ERROR_FILE_TRUNCATED", "VKVIT_ERROR_BAD_HEADER",
    "VKVIT_ERROR_BAD_TENSOR_RANGE", "VKVIT_ERROR_UNKNOWN_DTYPE", "VKVIT_ERROR_MISSING_TENSOR",
    "VKVIT_ERROR_UNEXPECTED_TENSOR", "VKVIT_ERROR_SHAPE_MISMATCH", "VKVIT_ERROR_BAD_CONFIG", "VKVIT_ERROR_INPUT_SIZE",
    "VKVIT_ERROR_BATCH_TOO_LARGE", "VKVIT_ERROR_BAD_IMAGE",
)

PRECISIONS = {"auto": 0, "fp32": 1, "fp16": 2}
MESSAGE_FN = ctypes.CFUNCTYPE(None, c_void_p, c_int, c_char_p)


class CoopmatShape(ctypes.Structure):
    _fields_ = [("m", c_uint32), ("n", c_uint32), ("k", c_uint32), ("a_type", c_uint32), ("b_type", c_uint32),
                ("c_type", c_uint32), ("d_type", c_uint32), ("extension", c_int), ("saturating", c_int)]


class DeviceInfo(ctypes.Structure):
    _fields_ = [("index", c_uint32), ("name", c_char * 256), ("vendor_id", c_uint32), ("device_id", c_uint32),
                ("vendor", c_char_p), ("type", c_int), ("api_version", c_uint32), ("driver_version", c_uint32),
                ("driver_name", c_char * 256), ("driver_info", c_char * 256), ("subgroup_size", c_uint32),
                ("subgroup_ops", c_uint32), ("shader_float16", c_int), ("storage_buffer_16bit", c_int),
                ("cooperative_matrix_nv", c_int), ("cooperative_matrix_khr", c_int),
                ("coopmat_shape_count", c_uint32), ("coopmat_shapes", CoopmatShape * 16),
                ("coopmat_extension", c_int), ("coopmat_m", c_uint32), ("coopmat_n", c_uint32),
                ("coopmat_k", c_uint32), ("coopmat_subgroup_size", c_uint32), ("coopmat_status", c_char_p),
                ("max_shared_memory", c_uint32), ("max_storage_buffer_range", c_uint32),
                ("timestamp_period", c_float), ("device_local_bytes", c_uint64)]


class ContextOptions(ctypes.Structure):
    _fields_ = [("device", c_char_p), ("validation", c_int), ("on_message", MESSAGE_FN), ("user", c_void_p),
                ("pipeline_cache_dir", c_char_p), ("allocator", c_void_p), ("device_memory_budget", c_uint64),
                ("tune", c_int)]


class ModelOptions(ctypes.Structure):
    _fields_ = [("precision", c_int), ("keep_host_weights", c_int), ("image_size", c_uint32),
                ("image_height", c_uint32), ("image_width", c_uint32), ("layernorm", c_int)]


class ModelInfo(ctypes.Structure):
    _fields_ = [("family", c_char_p), ("hidden", c_uint32), ("layers", c_uint32), ("heads", c_uint32),
                ("mlp", c_uint32), ("image_size", c_uint32), ("patch_size", c_uint32), ("channels", c_uint32),
                ("tokens", c_uint32), ("num_classes", c_uint32), ("distilled", c_int), ("gelu_tanh", c_int),
                ("layer_norm_eps", c_float), ("parameters", c_uint64), ("weight_bytes", c_uint64),
                ("precision", c_int), ("preprocessing", c_char_p), ("config", c_char_p),
                ("embedding_size", c_uint32), ("embedding", c_char_p), ("image_height", c_uint32),
                ("image_width", c_uint32), ("grid_height", c_uint32), ("grid_width", c_uint32),
                ("outputs", c_char_p)]


class PlanOptions(ctypes.Structure):
    _fields_ = [("batch", c_uint32), ("attention_maps", c_int), ("normalize_embeddings", c_int),
                ("patch_tokens", c_int)]


class PlanInfo(ctypes.Structure):
    _fields_ = [("batch", c_uint32), ("tokens", c_uint32), ("hidden", c_uint32), ("num_classes", c_uint32),
                ("layers", c_uint32), ("embedding_size", c_uint32), ("weight_bytes", c_uint64),
                ("arena_bytes", c_uint64), ("io_bytes", c_uint64), ("image_bytes", c_uint64),
                ("matmul_kernel", c_char_p), ("attention_maps", c_int), ("normalize_embeddings", c_int),
                ("patch_tokens", c_int), ("outputs", c_char_p), ("dispatches", c_uint32), ("barriers", c_uint32)]


class Tensor(ctypes.Structure):
    _fields_ = [("data", POINTER(c_float)), ("n", c_uint32), ("channels", c_uint32), ("height", c_uint32),
                ("width", c_uint32)]


class Image(ctypes.Structure):
    _fields_ = [("rgba", POINTER(c_uint8)), ("width", c_uint32), ("height", c_uint32)]


class Prediction(ctypes.Structure):
    _fields_ = [("index", c_uint32), ("probability", c_float), ("label", c_char_p)]


# Zeroed room after every struct vkvit writes into or reads: a library built from a newer header with
# fields appended still finds memory (and zeros = defaults) there.
_SLACK = 1024


def padded(struct_type: type) -> ctypes.Structure:
    """A zeroed instance of `struct_type` with _SLACK zero bytes after it (kept alive by the instance)."""
    buf = (c_char * (ctypes.sizeof(struct_type) + _SLACK))()
    obj = struct_type.from_buffer(buf)
    obj._vkvit_buffer = buf
    return obj


def _candidates() -> list:
    here = Path(__file__).resolve().parent
    out = []
    env = os.environ.get("VKVIT_LIBRARY")
    if env:
        return [env]   # an explicit choice is the only one: a wrong path must be an error, not a fallback
    out.append(here / "libvkvit.so")                       # installed beside the package
    for build in ("build", "build-release", "build-debug"):  # a source checkout: python/vkvit -> <root>/<build>
        out.append(here.parent.parent / build / "libvkvit.so")
    return [str(p) for p in out]


def _load() -> ctypes.CDLL:
    tried = []
    for path in _candidates():
        if os.environ.get("VKVIT_LIBRARY") or os.path.exists(path):
            try:
                return ctypes.CDLL(path)
            except OSError as e:
                tried.append(f"{path}: {e}")
    name = ctypes.util.find_library("vkvit")
    if name:
        try:
            return ctypes.CDLL(name)
        except OSError as e:
            tried.append(f"{name}: {e}")
    raise ImportError("vkvit: cannot load libvkvit.so (set VKVIT_LIBRARY to its path, build it with meson into "
                      "<source>/build, or install it); tried: " + ("; ".join(tried) or ", ".join(_candidates())))


lib = _load()


def _proto(name: str, restype, *argtypes) -> None:
    f = getattr(lib, name)
    f.restype = restype
    f.argtypes = list(argtypes)


_proto("vkvit_status_string", c_char_p, c_int)
_proto("vkvit_last_error", c_char_p)
_proto("vkvit_device_type_string", c_char_p, c_int)
_proto("vkvit_enumerate_devices", c_int, c_void_p, POINTER(c_uint32))
_proto("vkvit_context_create", c_int, c_void_p, POINTER(c_void_p))
_proto("vkvit_context_destroy", None, c_void_p)
_proto("vkvit_context_device_info", c_int, c_void_p, c_void_p)
_proto("vkvit_precision_string", c_char_p, c_int)
_proto("vkvit_model_load", c_int, c_void_p, c_char_p, c_void_p, POINTER(c_void_p))
_proto("vkvit_model_get_info", c_int, c_void_p, c_void_p)
_proto("vkvit_model_label", c_char_p, c_void_p, c_uint32)
_proto("vkvit_model_destroy", None, c_void_p)
_proto("vkvit_plan_create", c_int, c_void_p, c_void_p, POINTER(c_void_p))
_proto("vkvit_plan_get_info", c_int, c_void_p, c_void_p)
_proto("vkvit_plan_destroy", None, c_void_p)
_proto("vkvit_run", c_int, c_void_p, POINTER(Tensor), c_void_p)
_proto("vkvit_image_load", c_int, c_char_p, POINTER(Image))
_proto("vkvit_image_destroy", None, POINTER(Image))
_proto("vkvit_run_images", c_int, c_void_p, POINTER(Image), c_uint32, c_void_p)
for _getter in ("logits", "probabilities", "embeddings", "attention", "patch_tokens"):
    _proto("vkvit_get_" + _getter, c_int, c_void_p, POINTER(c_float), c_size_t)
_proto("vkvit_top_k", c_int, c_void_p, c_uint32, c_uint32, POINTER(Prediction))


def text(b: Optional[bytes]) -> Optional[str]:
    return None if b is None else b.decode("utf-8", "replace")
