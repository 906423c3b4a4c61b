"""Backbone features kept in the run store (``<store>/features/<key>/``), so that a backbone runs over a
dataset once: the second run on the same images and backbone, whatever the method or its settings, reads
them back in a moment instead of minutes.

The key (:func:`core.algorithms.spaces.features_key`) is the backbone's preset and resolution plus a hash of
the images, so an entry is reused only where the network would compute the same features. Entries are
kept on a :class:`core.runs.shelf.Shelf`: written atomically, ``features.npy`` read without pickle, the
least recently used deleted past 2 GB in all.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

import numpy as np

from core.runs.shelf import Shelf, ShelfEntry

FEATURES = "features.npy"
MAX_FEATURE_BYTES = 2 * 2 ** 30  # 10,000 images of 768 features take 30 MB


class FeatureLibrary:
    """The backbone features of one run store. A space clustering in a backbone's features reads them
    with :meth:`find` and keeps what it computed with :meth:`keep`."""

    def __init__(self, directory: os.PathLike, context: Optional[dict] = None):
        self.directory = Path(directory)
        self.context = dict(context or {})
        self.shelf = Shelf(self.directory, lambda: MAX_FEATURE_BYTES, "kept features entry")

    def with_context(self, **context) -> "FeatureLibrary":
        return FeatureLibrary(self.directory, {**self.context, **context})

    def find(self, key: str, n_samples: int) -> Optional[np.ndarray]:
        """The features kept under `key` (float32, one row per image), or None when there are none or they
        cannot be read or have another number of rows."""

        def read(folder: Path) -> np.ndarray:
            features = np.load(folder / FEATURES, allow_pickle=False)
            if features.ndim != 2 or len(features) != n_samples or not np.isfinite(features).all():
                raise ValueError("not these images' features")
            return features.astype(np.float32, copy=False)

        found = self.shelf.read(key, read)
        return None if found is None else found[0]

    def keep(self, key: str, features: np.ndarray, info: dict) -> bool:
        """Keep `features` under `key` with `info` (plus this library's context); False when not kept."""

        def write(folder: Path) -> None:
            np.save(folder / FEATURES, np.asarray(features, dtype=np.float32), allow_pickle=False)

        return self.shelf.keep(key, write, {**info, **self.context, "n_samples": len(features)})

    def entries(self) -> list[ShelfEntry]:
        return self.shelf.entries()

    def total_bytes(self) -> int:
        return self.shelf.total_bytes()

    def remove(self, key: str) -> None:
        self.shelf.remove(key)

    def clear(self) -> int:
        return self.shelf.clear()
