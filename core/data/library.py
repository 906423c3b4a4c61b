"""The dataset library: a user's own datasets, saved in the run store beside the runs.

Layout, under ``<store>/datasets/``::

    <name>/data.npz       compressed arrays: x, and y, file_names, class_names, feature_names when known
    <name>/dataset.json   a small description (kind, shape, sample count, labels, source, notes)
    <name>/thumbnail.png  a grid of a spread sample of the images (image datasets; see preview_rows)
    .partial-<pid>-<hex>/  a dataset while it is written (renamed into place when complete)

Arrays are read back with ``allow_pickle=False``: a library folder copied from elsewhere cannot run code.
Names are checked by :func:`validate_dataset_name` before they reach a path.
"""
from __future__ import annotations

import json
import os
import re
import shutil
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable, Optional

import numpy as np

from core.data.builtin import DATASETS
from core.data.dataset import Dataset
from core.data.images import image_grid, shape_text
from core.home import default_store_dir
from core.data.imports import ImportedData, InvalidUpload

FORMAT_VERSION = 1
MAX_NAME_LENGTH = 60
_NAME_PATTERN = re.compile(r"[\w][\w .()+-]*", re.UNICODE)
_WINDOWS_RESERVED = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(10)), *(f"lpt{i}" for i in range(10))}


class DatasetNotFound(KeyError):
    """No saved dataset of this name."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "dataset not found"


@dataclass(frozen=True)
class DatasetInfo:
    """What the library knows of a saved dataset without loading its arrays."""

    name: str
    kind: str              # "images" or "features"
    n_samples: int
    sample_shape: tuple    # (height, width, channels) or (n_features,)
    class_names: Optional[tuple]
    source: str
    created_at: str
    notes: tuple = ()
    n_skipped: int = 0
    size_bytes: int = 0

    @property
    def has_labels(self) -> bool:
        return self.class_names is not None

    @property
    def shape_text(self) -> str:
        if self.kind == "features":
            return f"{self.sample_shape[0]} features"
        return shape_text(self.sample_shape)

    @property
    def summary(self) -> str:
        """"120 images, 32x32 colour, 2 labels (cats, dogs)"."""
        what = "images" if self.kind == "images" else "rows"
        labels = "unlabelled" if not self.has_labels else (
            f"{len(self.class_names)} labels ({', '.join(self.class_names[:4])}"
            f"{', ...' if len(self.class_names) > 4 else ''})")
        return f"{self.n_samples:,} {what}, {self.shape_text}, {labels}"


def validate_dataset_name(name, *, reserved: Iterable[str] = ()) -> str:
    """The name, stripped, if it can name a dataset (and its folder); else InvalidUpload saying why."""
    if not isinstance(name, str) or not name.strip():
        raise InvalidUpload("The dataset name is empty; give it a name.")
    name = name.strip()
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidUpload(f"The dataset name is {len(name)} characters long; at most {MAX_NAME_LENGTH} are allowed.")
    if "/" in name or "\\" in name or ".." in name:
        raise InvalidUpload("A dataset name cannot hold '/', '\\' or '..'.")
    if not _NAME_PATTERN.fullmatch(name):
        bad = sorted({c for c in name if not re.fullmatch(r"[\w .()+-]", c)})
        raise InvalidUpload(f"A dataset name may hold letters, digits, spaces and . _ - + ( ); not "
                            f"{' '.join(bad) or 'a leading symbol'}.")
    if name.lower() in _WINDOWS_RESERVED:
        raise InvalidUpload(f"{name!r} cannot name a folder on every system; choose another name.")
    if name.lower() in {r.lower() for r in reserved}:
        raise InvalidUpload(f"{name!r} is the name of a built-in dataset; choose another name.")
    return name


def suggest_name(file_name: str, library: Optional["DatasetLibrary"] = None) -> str:
    """A valid, unused name from an uploaded file's name ("My photos (2024).zip" -> "My photos (2024)")."""
    stem = Path(str(file_name).replace("\\", "/")).name.rsplit(".", 1)[0]
    stem = re.sub(r"[^\w .()+-]+", "_", stem).replace("..", "_").strip(" ._-+") or "my dataset"
    stem = stem[:MAX_NAME_LENGTH - 4]
    if stem.lower() in _WINDOWS_RESERVED or stem.lower() in {n.lower() for n in builtin_names()}:
        stem = f"my {stem}"
    name, n = stem, 2
    while library is not None and name in library:
        name, n = f"{stem} {n}", n + 1
    return name


def builtin_names() -> list:
    return list(DATASETS)


class DatasetLibrary:
    """Saved datasets under `root` (``<store>/datasets``)."""

    def __init__(self, root):
        self.root = Path(root)

    # -- reading --------------------------------------------------------------------------------
    def names(self) -> list:
        if not self.root.is_dir():
            return []
        return sorted((p.name for p in self.root.iterdir()
                       if p.is_dir() and not p.name.startswith(".") and (p / "dataset.json").is_file()),
                      key=str.lower)

    def list(self) -> list:
        infos = []
        for name in self.names():
            try:
                infos.append(self.info(name))
            except (OSError, ValueError, KeyError):
                continue  # a damaged folder is left alone, not shown
        return infos

    def __contains__(self, name) -> bool:
        return isinstance(name, str) and self._find(name) is not None

    def _find(self, name: str) -> Optional[Path]:
        """The folder of `name` (names compare without case), or None."""
        for existing in self.names():
            if existing.lower() == str(name).strip().lower():
                return self.root / existing
        return None

    def _folder(self, name: str) -> Path:
        folder = self._find(name)
        if folder is None:
            saved = ", ".join(self.names()) or "none yet"
            raise DatasetNotFound(f"No saved dataset is named {name!r} (saved: {saved}).")
        return folder

    def info(self, name: str) -> DatasetInfo:
        folder = self._folder(name)
        meta = json.loads((folder / "dataset.json").read_text(encoding="utf-8"))
        size = sum(p.stat().st_size for p in folder.iterdir() if p.is_file())
        return DatasetInfo(
            name=folder.name, kind=meta["kind"], n_samples=int(meta["n_samples"]),
            sample_shape=tuple(meta["sample_shape"]),
            class_names=tuple(meta["class_names"]) if meta.get("class_names") is not None else None,
            source=meta.get("source", ""), created_at=meta.get("created_at", ""),
            notes=tuple(meta.get("notes", ())), n_skipped=int(meta.get("n_skipped", 0)), size_bytes=size)

    def thumbnail(self, name: str) -> Optional[Path]:
        path = self._folder(name) / "thumbnail.png"
        return path if path.is_file() else None

    def load(self, name: str) -> Dataset:
        """The saved dataset as a :class:`Dataset` (images in [0, 1]; tables scaled per column)."""
        folder = self._folder(name)
        info = self.info(folder.name)
        try:
            with np.load(folder / "data.npz", allow_pickle=False) as arrays:
                x = arrays["x"]
                y = arrays["y"] if "y" in arrays.files else None
                file_names = arrays["file_names"] if "file_names" in arrays.files else None
                feature_names = list(arrays["feature_names"]) if "feature_names" in arrays.files else None
        except (OSError, ValueError, KeyError) as error:
            raise InvalidUpload(f"The saved dataset {folder.name!r} cannot be read ({error}); "
                                f"remove it and add it again.") from None
        class_names = list(info.class_names) if info.class_names is not None else None
        description = f"{info.summary}; saved from {info.source}." if info.source else info.summary + "."
        if info.kind == "features":
            return Dataset(name=folder.name, images=features_as_images(x), labels=y, class_names=class_names,
                           description=description, file_names=file_names, features=x.astype(np.float32),
                           feature_names=feature_names)
        images = x.astype(np.float32) / 255.0 if x.dtype == np.uint8 else x.astype(np.float32)
        return Dataset(name=folder.name, images=images, labels=y, class_names=class_names,
                       description=description, file_names=file_names)

    # -- writing --------------------------------------------------------------------------------
    def add(self, data: ImportedData, name: str) -> DatasetInfo:
        """Save `data` as `name`; refuses a name in use. Written to a partial folder, then renamed."""
        name = validate_dataset_name(name, reserved=builtin_names())
        if name in self:
            raise InvalidUpload(f"A dataset named {self._find(name).name!r} is already saved; choose another "
                                f"name or remove that one first.")
        self.root.mkdir(parents=True, exist_ok=True)
        # never the name in a temporary folder's name: 60 four-byte characters plus a prefix pass 255 bytes
        partial = self.root / f".partial-{os.getpid()}-{os.urandom(4).hex()}"
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir()
        try:
            self._write(partial, data)
            os.replace(partial, self.root / name)
        except BaseException:
            shutil.rmtree(partial, ignore_errors=True)
            raise
        return self.info(name)

    def _write(self, folder: Path, data: ImportedData) -> None:
        arrays = {"x": data.x, "file_names": np.asarray([str(f) for f in data.file_names], dtype=str)}
        if data.labels is not None:
            arrays["y"] = np.asarray(data.labels, dtype=np.int64)
        if data.feature_names is not None:
            arrays["feature_names"] = np.asarray([str(f) for f in data.feature_names], dtype=str)
        np.savez_compressed(folder / "data.npz", **arrays)
        meta = {
            "format": FORMAT_VERSION, "kind": data.kind, "n_samples": data.n_samples,
            "sample_shape": list(data.sample_shape),
            "class_names": None if data.class_names is None else [str(c) for c in data.class_names],
            "source": data.source, "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "notes": list(data.notes), "n_skipped": len(data.skipped),
        }
        (folder / "dataset.json").write_text(json.dumps(meta, indent=1), encoding="utf-8")
        if data.kind == "images":
            from PIL import Image

            Image.fromarray(image_grid(preview_images(data, 32), n_cols=8, size=32)).save(folder / "thumbnail.png")

    def rename(self, old: str, new: str) -> str:
        """Rename a saved dataset (folder and description); returns the new name."""
        folder = self._folder(old)
        new = validate_dataset_name(new, reserved=builtin_names())
        other = self._find(new)
        if other is not None and other != folder:
            raise InvalidUpload(f"A dataset named {other.name!r} is already saved; choose another name.")
        if new == folder.name:
            return new
        target = self.root / new
        if other == folder:  # only the case changes: go through a temporary name
            temporary = self.root / f".rename-{os.getpid()}"
            os.replace(folder, temporary)
            folder = temporary
        os.replace(folder, target)
        return new

    def remove(self, name: str) -> None:
        folder = self._folder(name)
        trash = self.root / f".removing-{os.getpid()}-{os.urandom(4).hex()}"
        os.replace(folder, trash)  # atomic: the name is gone at once, the files go after
        shutil.rmtree(trash, ignore_errors=True)


def preview_rows(n_samples: int, count: int, labels: Optional[np.ndarray] = None, seed: int = 0) -> np.ndarray:
    """The rows a preview of `n_samples` shows, `count` at most, in their order: a seeded sample spread over the
    whole data, not its first rows (files sorted by name often start with a whole folder of one kind). With
    `labels`, the classes take turns, so each shows as many images as it can."""
    rng = np.random.default_rng(seed)
    if count >= n_samples:
        return np.arange(n_samples)
    if labels is None:
        return np.sort(rng.choice(n_samples, size=count, replace=False))
    labels = np.asarray(labels)
    queues = [rng.permutation(np.flatnonzero(labels == label)) for label in np.unique(labels)]
    depth = max(len(queue) for queue in queues)
    turns = [queue[i] for i in range(depth) for queue in queues if i < len(queue)]  # one of each class, again
    return np.sort(np.asarray(turns[:count], dtype=np.int64))


def preview_images(data: ImportedData, count: int) -> np.ndarray:
    """The images of :func:`preview_rows` of `data` (an upload of images), as float32 in [0, 1]."""
    x = data.x[preview_rows(data.n_samples, count, data.labels)]
    return x.astype(np.float32) / 255.0 if x.dtype == np.uint8 else x.astype(np.float32)


def features_as_images(features: np.ndarray) -> np.ndarray:
    """A table as (n, 1, n_features, 1) in [0, 1], each column scaled by its range, so every algorithm
    can cluster it; constant columns become 0."""
    x = np.asarray(features, dtype=np.float64)
    low, high = x.min(axis=0), x.max(axis=0)
    span = np.where(high > low, high - low, 1.0)
    scaled = ((x - low) / span).astype(np.float32)
    return scaled[:, np.newaxis, :, np.newaxis]


def default_library() -> DatasetLibrary:
    """The library of the default run store (``$DEEP_CLUSTERING_HOME/datasets``)."""
    return DatasetLibrary(default_store_dir() / "datasets")
