"""vkvit.Pool: one context + model per device in one process, a list of images split across them."""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any, List, Optional, Sequence, Union

import numpy as np

from . import ClosedError, Context, Images, Model, Prediction, _as_list


class Pool:
    """Several devices in one process: a Context and a Model on each, and every call split across them.

        with vkvit.Pool("deit-tiny", devices=[0, 1]) as pool:
            emb = pool.embed(paths)          # [N, E], rows in the order of `paths`

    devices: a list of what Context(device=...) takes (indices or name substrings); the same device may appear
    more than once (two contexts on one GPU overlap one's host work with the other's GPU work; CI tests two
    contexts on lavapipe). model_kwargs go to each Model (precision, image_size, max_batch, ...), context_kwargs
    to each Context (validation, on_message, ...).

    A call splits its images into contiguous slices, one per device, in proportion to `weights` (default
    equal), runs the slices on one thread per device (ctypes releases the GIL during the C calls, so the
    devices run at once) and concatenates the results in input order: pool.embed(x) equals
    vkvit.Model(ctx, path).embed(x) on any one of the devices.
    """

    def __init__(self, path: Union[str, "os.PathLike[str]"], devices: Sequence[Union[int, str, None]],
                 weights: Optional[Sequence[float]] = None, context_kwargs: Optional[dict] = None,
                 **model_kwargs: Any) -> None:
        devices = list(devices)
        if not devices:
            raise ValueError("vkvit.Pool: devices is empty")
        if weights is not None and (len(weights) != len(devices) or any(w <= 0 for w in weights)):
            raise ValueError("vkvit.Pool: weights must be one positive number per device")
        self._weights = list(weights) if weights is not None else [1.0] * len(devices)
        self.contexts: List[Context] = []
        self.models: List[Model] = []
        try:
            for d in devices:
                ctx = Context(d, **(context_kwargs or {}))
                self.contexts.append(ctx)
                self.models.append(Model(ctx, path, **model_kwargs))
        except BaseException:
            self.close()
            raise
        self._threads = ThreadPoolExecutor(max_workers=len(devices), thread_name_prefix="vkvit-pool")

    @property
    def info(self):
        """The model's ModelInfo (the same on every device)."""
        return self._models()[0].info

    @property
    def labels(self) -> List[Optional[str]]:
        return self._models()[0].labels

    def classify(self, images: Images, top_k: int = 5) -> List[List[Prediction]]:
        """Model.classify over all devices, in input order."""
        parts = self._map(images, lambda m, part: m.classify(part, top_k=top_k))
        return [p for part in parts for p in part]

    def embed(self, images: Images, normalize: bool = False) -> np.ndarray:
        """Model.embed over all devices, rows in input order."""
        return np.concatenate(self._map(images, lambda m, part: m.embed(part, normalize=normalize)))

    def logits(self, images: Images) -> np.ndarray:
        return np.concatenate(self._map(images, lambda m, part: m.logits(part)))

    def probabilities(self, images: Images) -> np.ndarray:
        return np.concatenate(self._map(images, lambda m, part: m.probabilities(part)))

    def patch_tokens(self, images: Images) -> np.ndarray:
        return np.concatenate(self._map(images, lambda m, part: m.patch_tokens(part)))

    def _models(self) -> List[Model]:
        if not self.models or any(m.closed for m in self.models):
            raise ClosedError("vkvit: this pool is closed")
        return self.models

    def _map(self, images: Images, fn) -> list:
        models = self._models()
        items = _as_list(images)
        n = len(items)
        # Contiguous slices in proportion to the weights; empty ones (fewer images than devices) are skipped.
        total = sum(self._weights)
        bounds, acc = [0], 0.0
        for w in self._weights:
            acc += w
            bounds.append(round(n * acc / total))
        jobs = [(models[i], items[bounds[i]:bounds[i + 1]]) for i in range(len(models)) if bounds[i + 1] > bounds[i]]
        futures = [self._threads.submit(fn, m, part) for m, part in jobs]
        return [f.result() for f in futures]

    def close(self) -> None:
        """Closes every model, then every context. Idempotent."""
        threads = getattr(self, "_threads", None)
        if threads is not None:
            threads.shutdown(wait=True)
        for m in getattr(self, "models", []):
            m.close()
        for c in getattr(self, "contexts", []):
            c.close()

    def __enter__(self) -> "Pool":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass
