"""Embedding or classifying many images on a dask.distributed cluster, one vkvit context per worker.

    from dask.distributed import Client
    import vkvit.dask
    client = Client("tcp://scheduler:8786")               # or LocalCluster(...) for one machine
    vkvit.dask.embed_folder(client, "deit-tiny", "photos/", "out.npy")   # out.npy + out.txt (the index)

Each worker opens one Context and Model, once, when the VkvitPlugin is registered (or when it joins later):
the worker's environment variable VKVIT_DEVICE chooses its GPU, so a machine with several GPUs runs one
worker process per GPU (`VKVIT_DEVICE=0 dask worker ...`, `VKVIT_DEVICE=1 dask worker ...`). Tasks take chunks
of file paths, which every worker must be able to read (a shared file system), and return float32 arrays;
the client gathers them in input order. validation=True runs every worker's context with the Khronos
validation layer; each worker keeps the layer's and vkvit's warnings and errors, and worker_reports(client)
brings them back to the client. docs/python.md#dask.
From the shell: python3 -m vkvit.dask MODEL FOLDER OUT.npy [--scheduler tcp://host:8786 | --local N]
[--validation].
"""
from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Union

import numpy as np

try:
    from distributed import WorkerPlugin, get_worker
except ImportError as e:   # pragma: no cover - the package works without dask; this module needs it
    raise ImportError("vkvit.dask needs dask.distributed (Debian: python3-distributed)") from e

import vkvit

PLUGIN_NAME = "vkvit"
MAX_KEPT_MESSAGES = 100   # per worker: the first ones are kept, the rest only counted
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tga", ".gif", ".pnm", ".ppm", ".pgm", ".psd")


class VkvitPlugin(WorkerPlugin):
    """Opens vkvit.Context(device, validation=validation) and vkvit.Model(ctx, path, **model_kwargs) on each
    worker once, at setup, and closes them at teardown. device None = the worker's VKVIT_DEVICE (else the best
    device); validation False still validates where the worker's environment has VKVIT_VALIDATION=1.

    The context's warnings and errors (the validation layer's and vkvit's own) are printed to the worker's
    stderr, as the library does without a callback, and kept: `messages` (the first MAX_KEPT_MESSAGES) and
    `message_count`, which worker_reports() gathers on the client."""

    name = PLUGIN_NAME

    def __init__(self, path: str, device: Union[None, int, str] = None, validation: bool = False,
                 **model_kwargs: Any) -> None:
        self.path = os.fspath(path)
        self.device = device
        self.validation = bool(validation)
        self.model_kwargs = model_kwargs
        self.ctx: Optional[vkvit.Context] = None
        self.model: Optional[vkvit.Model] = None
        self.images = 0   # images this worker has run (for monitoring, and the tests: every worker took part)
        self.messages: List[str] = []
        self.message_count = 0

    def __getstate__(self):   # what travels to the workers: the recipe, never open handles
        return {"path": self.path, "device": self.device, "validation": self.validation,
                "model_kwargs": self.model_kwargs}

    def __setstate__(self, state) -> None:
        self.__init__(state["path"], state["device"], state["validation"], **state["model_kwargs"])

    def on_message(self, severity: str, text: str) -> None:
        """The context's on_message: warnings and errors are printed and kept, "info" is dropped."""
        if severity == "info":
            return
        self.message_count += 1
        if len(self.messages) < MAX_KEPT_MESSAGES:
            self.messages.append(f"{severity}: {text}")
        print(f"vkvit: {severity}: {text}", file=sys.stderr, flush=True)

    def setup(self, worker) -> None:
        self.ctx = vkvit.Context(self.device, validation=self.validation, on_message=self.on_message)
        self.model = vkvit.Model(self.ctx, self.path, **self.model_kwargs)

    def teardown(self, worker) -> None:
        if self.model is not None:
            self.model.close()
        if self.ctx is not None:
            self.ctx.close()
        self.model = self.ctx = None

    def report(self) -> Dict[str, Any]:
        """What this worker has done: images run, whether validation was asked for, its messages."""
        return {"images": self.images, "validation": self.validation, "message_count": self.message_count,
                "messages": list(self.messages)}


def worker_model() -> vkvit.Model:
    """The Model the VkvitPlugin opened on the worker running the calling task."""
    plugin = get_worker().plugins.get(PLUGIN_NAME)
    if plugin is None or plugin.model is None:
        raise RuntimeError("vkvit.dask: this worker has no vkvit model: register vkvit.dask.VkvitPlugin first")
    return plugin.model


def embed_paths(paths: Sequence[str], normalize: bool = False) -> np.ndarray:
    """A task: the worker's model's embeddings of `paths`, float32 [len(paths), E]."""
    out = worker_model().embed(list(paths), normalize=normalize)
    get_worker().plugins[PLUGIN_NAME].images += len(paths)
    return out


def classify_paths(paths: Sequence[str], top_k: int = 5) -> list:
    """A task: the worker's model's top_k classes of each of `paths`."""
    out = worker_model().classify(list(paths), top_k=top_k)
    get_worker().plugins[PLUGIN_NAME].images += len(paths)
    return out


def register(client, path: str, device: Union[None, int, str] = None, validation: bool = False,
             **model_kwargs: Any) -> None:
    """Registers VkvitPlugin(path, device, validation, **model_kwargs) on every worker of `client`'s cluster
    (and on workers that join later)."""
    plugin = VkvitPlugin(path, device, validation, **model_kwargs)
    if hasattr(client, "register_plugin"):          # distributed >= 2023.9
        client.register_plugin(plugin, name=PLUGIN_NAME)
    else:
        client.register_worker_plugin(plugin, name=PLUGIN_NAME)


def _worker_report(dask_worker) -> Optional[Dict[str, Any]]:
    plugin = dask_worker.plugins.get(PLUGIN_NAME)
    return plugin.report() if plugin is not None else None


def worker_reports(client) -> Dict[str, Optional[Dict[str, Any]]]:
    """{worker address: VkvitPlugin.report()} of every worker (None where no VkvitPlugin is registered):
    images run, validation asked for, message_count and the first messages (warnings and errors)."""
    return client.run(_worker_report)


def list_images(folder: Union[str, "os.PathLike[str]"]) -> List[str]:
    """The image files directly in `folder` (by suffix), sorted by name: the order of embed_folder's rows."""
    return sorted(str(p) for p in Path(folder).iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def embed_files(client, paths: Sequence[str], chunk_size: int = 64, normalize: bool = False) -> np.ndarray:
    """Embeds `paths` on the cluster (VkvitPlugin registered), chunk_size files per task; rows in input order."""
    paths = [os.fspath(p) for p in paths]
    if not paths:
        raise ValueError("vkvit.dask: no files to embed")
    if chunk_size < 1:
        raise ValueError(f"vkvit.dask: chunk_size must be positive, not {chunk_size}")
    chunks = [paths[i:i + chunk_size] for i in range(0, len(paths), chunk_size)]
    # pure=False: every chunk is its own task even if two have the same paths
    futures = [client.submit(embed_paths, c, normalize, pure=False) for c in chunks]
    return np.concatenate(client.gather(futures))


def embed_folder(client, model_path: Optional[str], folder: Union[str, "os.PathLike[str]"],
                 out: Union[str, "os.PathLike[str]"], chunk_size: int = 64, normalize: bool = False,
                 validation: bool = False) -> List[str]:
    """Embeds every image in `folder` and writes `out` (.npy, float32 [N, E]) and its index beside it
    (`out` with .txt: the file paths, one per line, line i = row i). model_path: registers VkvitPlugin for that
    model first, with validation as given (None: already registered). Returns the paths in row order."""
    if model_path is not None:
        register(client, model_path, validation=validation)
    paths = list_images(folder)
    emb = embed_files(client, paths, chunk_size=chunk_size, normalize=normalize)
    out = Path(out)
    np.save(out, emb)
    out.with_suffix(".txt").write_text("".join(p + "\n" for p in paths))
    return paths


def main(argv: Optional[Sequence[str]] = None) -> int:
    """python3 -m vkvit.dask MODEL FOLDER OUT.npy [--scheduler tcp://host:8786 | --local N] [--chunk K]
    [--normalize] [--validation]; exit status 1 if a worker reported a warning or an error."""
    import argparse
    ap = argparse.ArgumentParser(prog="python3 -m vkvit.dask",
                                 description="Embed a folder's images on a dask.distributed cluster: OUT.npy "
                                             "(float32 [N, E]) and OUT.txt (the paths, line i = row i).")
    ap.add_argument("model")
    ap.add_argument("folder")
    ap.add_argument("out")
    where = ap.add_mutually_exclusive_group()
    where.add_argument("--scheduler", help="the scheduler's address (default: a LocalCluster)")
    where.add_argument("--local", type=int, default=1, metavar="N",
                       help="a LocalCluster of N worker processes on this machine (default 1)")
    ap.add_argument("--chunk", type=int, default=64, help="files per task (default 64)")
    ap.add_argument("--normalize", action="store_true", help="unit-length embeddings")
    ap.add_argument("--validation", action="store_true",
                    help="the Khronos validation layer in every worker; exit status 1 on any message")
    a = ap.parse_args(argv)
    from distributed import Client, LocalCluster
    if a.scheduler:
        client, cluster = Client(a.scheduler), None
    else:
        cluster = LocalCluster(n_workers=a.local, processes=True, threads_per_worker=1, dashboard_address=None)
        client = Client(cluster)
    try:
        paths = embed_folder(client, a.model, a.folder, a.out, chunk_size=a.chunk, normalize=a.normalize,
                             validation=a.validation)
        print(f"{len(paths)} images -> {a.out} on {len(client.scheduler_info()['workers'])} workers")
        reports = worker_reports(client)
        messages = sum(r["message_count"] for r in reports.values() if r)
        for address, r in sorted(reports.items()):
            for m in (r or {}).get("messages", []):
                print(f"{address}: {m}", file=sys.stderr)
        if messages:
            print(f"vkvit.dask: {messages} warning(s) or error(s) from the workers", file=sys.stderr)
            return 1
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
