"""Pretrained autoencoders kept in the run store, so that a network is trained once and reused.

Layout: ``<store>/autoencoders/<key>/`` holds ``weights.npz`` (the network's weights, read with
``allow_pickle=False``) and ``info.json`` (what it is, how it was trained, its training history, when it
was last used). The key (:func:`core.algorithms.spaces.pretrain_key`) is every setting that shapes
the network and its training plus a hash of the preprocessed training data (the subset included), so
an entry is reused only where retraining would give the same network: DEC, IDEC, N2D, the SOM,
autoencoder + k-means / GMM and the classical methods on an embedding all share one, and a sweep over
clustering-only settings pretrains once.

Entries are kept on a :class:`core.runs.shelf.Shelf` (written atomically, the first of two writers kept);
past 2 GB in all, the least recently used are deleted (a run keeps its own saved model regardless). The
library also carries the store's backbone features (:class:`core.runs.features.FeatureLibrary`,
``library.features``), so that one ``fit(X, library=...)`` reuses whichever the method's space needs.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

import numpy as np

from core.runs.features import FeatureLibrary
from core.runs.shelf import KEY_CHARACTERS, Shelf, ShelfEntry

WEIGHTS = "weights.npz"
MAX_KEPT_BYTES = 2 * 2 ** 30  # past this, the least recently used are deleted (a dense 28x28 network is ~13 MB)
PretrainedEntry = ShelfEntry  # one kept autoencoder
__all__ = ["AutoencoderLibrary", "KEY_CHARACTERS", "MAX_KEPT_BYTES", "PretrainedEntry"]


class AutoencoderLibrary:
    """The pretrained autoencoders of one run store (``<store>/autoencoders``), and its backbone features
    (``features``, ``<store>/features`` unless given).

    Pass it to a method's ``fit(X, library=library)``: an autoencoder method looks its key up, loads the
    weights into a freshly built network of the same shape when found (and skips pretraining), and keeps
    a network it had to train; a method clustering in a backbone's features reads and keeps them in
    ``features``. `context` (e.g. the dataset's name) is written with what it keeps, for the listing.
    """

    def __init__(self, directory: os.PathLike, context: Optional[dict] = None,
                 features: Optional[FeatureLibrary] = None):
        self.directory = Path(directory)
        self.context = dict(context or {})
        self.shelf = Shelf(self.directory, lambda: MAX_KEPT_BYTES, "pretrained autoencoder")
        self.features = features if features is not None else FeatureLibrary(self.directory.parent / "features",
                                                                             self.context)

    def with_context(self, **context) -> "AutoencoderLibrary":
        return AutoencoderLibrary(self.directory, {**self.context, **context},
                                  self.features.with_context(**context))

    # -- reuse ------------------------------------------------------------------------------------
    def load_into(self, key: str, autoencoder) -> Optional[PretrainedEntry]:
        """Load the weights kept under `key` into `autoencoder` (built alike); None when there are none,
        or when they cannot be read or do not fit (then the caller trains as usual)."""

        def read(folder: Path):
            with np.load(folder / WEIGHTS, allow_pickle=False) as data:
                autoencoder.set_weights([data[f"w{i}"] for i in range(len(data.files))])

        found = self.shelf.read(key, read)
        return None if found is None else PretrainedEntry(key, found[1])

    def keep(self, key: str, autoencoder, info: dict) -> bool:
        """Keep `autoencoder`'s weights under `key` with `info` (plus this library's context). Returns
        whether it was kept (False on a read-only store or when another process kept it first)."""

        def write(folder: Path) -> None:
            np.savez(folder / WEIGHTS, **{f"w{i}": w for i, w in enumerate(autoencoder.get_weights())})

        return self.shelf.keep(key, write, {**info, **self.context})

    # -- housekeeping -----------------------------------------------------------------------------
    def entries(self) -> list[PretrainedEntry]:
        """Every kept autoencoder, the most recently used first."""
        return self.shelf.entries()

    def total_bytes(self) -> int:
        return self.shelf.total_bytes()

    def remove(self, key: str) -> None:
        """Delete one kept autoencoder (runs that used it keep their own saved model)."""
        if not self.shelf.folder(key).is_dir():
            raise KeyError(f"no pretrained autoencoder {key}.")
        self.shelf.remove(key)

    def clear(self) -> int:
        """Delete every kept autoencoder; returns how many."""
        return self.shelf.clear()
