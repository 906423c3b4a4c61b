"""Pretrained autoencoders kept in the run store, so that a network is trained once and reused.

Layout: ``<store>/autoencoders/<key>/`` holds ``weights.npz`` (the network's weights, read with
``allow_pickle=False``) and ``info.json`` (what it is, how it was trained, its training history, when it
was last used). The key (:func:`core.algorithms.spaces.pretrain_key`) is every setting that shapes
the network and its training plus a hash of the preprocessed training data (the subset included), so
an entry is reused only where retraining would give the same network: DEC, IDEC, N2D, the SOM,
autoencoder + k-means / GMM and the classical methods on an embedding all share one, and a sweep over
clustering-only settings pretrains once.

An entry is written to a temporary folder and renamed into place, so a killed writer never leaves a
half-written one; two processes training the same key keep the first. Past 2 GB in all, the least
recently used entries are deleted (a run keeps its own saved model regardless). A store that cannot be written
still reuses what it has and simply keeps nothing new.
"""
from __future__ import annotations

import json
import os
import shutil
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np

from core.home import folder_size
from core.runs.records import utc_now

WEIGHTS, INFO = "weights.npz", "info.json"
MAX_KEPT_BYTES = 2 * 2 ** 30  # past this, the least recently used are deleted (a dense 28x28 network is ~13 MB)
KEY_CHARACTERS = set("0123456789abcdef")


@dataclass
class PretrainedEntry:
    """One kept autoencoder: its key, what it is (`info`) and its size on disk."""

    key: str
    info: dict = field(default_factory=dict)
    size_bytes: int = 0

    @property
    def history(self) -> list:
        return list(self.info.get("history", []))

    def describe(self) -> str:
        """"convolutional, latent 10, 75 epochs, on digits (1,797 images)"."""
        info = self.info
        where = f", on {info['dataset']}" if info.get("dataset") else ""
        count = f" ({info['n_samples']:,} images)" if info.get("n_samples") else ""
        return (f"{info.get('architecture', '?')}, latent {info.get('latent_dim', '?')}, "
                f"{info.get('epochs', '?')} epochs{where}{count}")


class AutoencoderLibrary:
    """The pretrained autoencoders of one run store (``<store>/autoencoders``).

    Pass it to an autoencoder method's ``fit(X, library=library)``: the method looks its key up,
    loads the weights into a freshly built network of the same shape when found (and skips
    pretraining), and keeps a network it had to train. `context` (e.g. the dataset's name) is written
    with what it keeps, for the listing.
    """

    def __init__(self, directory: os.PathLike, context: Optional[dict] = None):
        self.directory = Path(directory)
        self.context = dict(context or {})

    def with_context(self, **context) -> "AutoencoderLibrary":
        return AutoencoderLibrary(self.directory, {**self.context, **context})

    def _folder(self, key: str) -> Path:
        if not key or set(key) - KEY_CHARACTERS:
            raise ValueError(f"not a pretrained autoencoder's key: {key!r}.")
        return self.directory / key

    # -- reuse ------------------------------------------------------------------------------------
    def load_into(self, key: str, autoencoder) -> Optional[PretrainedEntry]:
        """Load the weights kept under `key` into `autoencoder` (built alike); None when there are none,
        or when they cannot be read or do not fit (then the caller trains as usual)."""
        folder = self._folder(key)
        try:
            info = json.loads((folder / INFO).read_text())
            with np.load(folder / WEIGHTS, allow_pickle=False) as data:
                weights = [data[f"w{i}"] for i in range(len(data.files))]
            autoencoder.set_weights(weights)
        except Exception:  # missing, damaged (a truncated zip) or of another shape: train instead
            return None
        try:
            info["last_used"], info["used_at"] = utc_now(), time.time()
            info["uses"] = int(info.get("uses", 0)) + 1
            (folder / INFO).write_text(json.dumps(info))
        except OSError:  # a read-only store still reuses
            pass
        return PretrainedEntry(key, info)

    def keep(self, key: str, autoencoder, info: dict) -> bool:
        """Keep `autoencoder`'s weights under `key` with `info` (plus this library's context). Returns
        whether it was kept (False on a read-only store or when another process kept it first)."""
        folder = self._folder(key)
        if folder.exists():
            return False
        partial = self.directory / f".partial-{key}-{socket.gethostname()}-{os.getpid()}"
        try:
            partial.mkdir(parents=True, exist_ok=True)
            np.savez(partial / WEIGHTS, **{f"w{i}": w for i, w in enumerate(autoencoder.get_weights())})
            now = utc_now()
            (partial / INFO).write_text(json.dumps({**info, **self.context, "created": now, "last_used": now,
                                                    "used_at": time.time(), "uses": 0}, default=str))
            partial.rename(folder)
        except OSError:
            shutil.rmtree(partial, ignore_errors=True)
            return False
        self._evict(keep=key)
        return True

    def _evict(self, keep: str, limit: Optional[int] = None) -> None:
        """Delete the least recently used entries (never `keep`) while all of them take more than `limit`."""
        limit = MAX_KEPT_BYTES if limit is None else limit
        total = 0
        for entry in self.entries():  # most recently used first
            total += entry.size_bytes
            if total > limit and entry.key != keep:
                shutil.rmtree(self.directory / entry.key, ignore_errors=True)

    # -- housekeeping -----------------------------------------------------------------------------
    def entries(self) -> list[PretrainedEntry]:
        """Every kept autoencoder, the most recently used first (damaged entries are listed with what
        could be read, so that they can be removed)."""
        if not self.directory.is_dir():
            return []
        found = []
        for folder in self.directory.iterdir():
            if not folder.is_dir() or folder.name.startswith(".") or set(folder.name) - KEY_CHARACTERS:
                continue
            try:
                info = json.loads((folder / INFO).read_text())
            except (OSError, ValueError):
                info = {"damaged": True}
            found.append(PretrainedEntry(folder.name, info, folder_size(folder)))
        return sorted(found, key=lambda e: float(e.info.get("used_at", 0.0)), reverse=True)

    def total_bytes(self) -> int:
        return sum(entry.size_bytes for entry in self.entries())

    def remove(self, key: str) -> None:
        """Delete one kept autoencoder (runs that used it keep their own saved model)."""
        folder = self._folder(key)
        if not folder.is_dir():
            raise KeyError(f"no pretrained autoencoder {key}.")
        shutil.rmtree(folder)

    def clear(self) -> int:
        """Delete every kept autoencoder; returns how many."""
        entries = self.entries()
        for entry in entries:
            shutil.rmtree(self.directory / entry.key, ignore_errors=True)
        return len(entries)
