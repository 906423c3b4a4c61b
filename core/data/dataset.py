"""The dataset record every loader returns, and the checks run on it."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Optional, Sequence

import numpy as np


class DatasetUnavailable(RuntimeError):
    """A dataset could not be loaded (for example its download failed); the message says why in plain words."""


@dataclass(frozen=True)
class Dataset:
    """Images with optional ground truth.

    Attributes
    ----------
    name : str
        Registry key of the dataset.
    images : ndarray of shape (n_samples, height, width, channels), float32 in [0, 1]
    labels : ndarray of shape (n_samples,) of int, or None when the data has no ground truth
    class_names : list of str, or None
    description : str
    indices : ndarray of shape (n_samples,)
        Position of each sample in the full dataset (differs from ``arange`` after subsampling).
    file_names : ndarray of str, or None
        Each sample's original file name (a saved dataset's zip entry, "row 3" of a table).
    features : ndarray of shape (n_samples, n_features), or None
        A table's own values; `images` then holds them scaled to [0, 1] as (n, 1, n_features, 1).
    feature_names : list of str, or None
    """

    name: str
    images: np.ndarray
    labels: Optional[np.ndarray] = None
    class_names: Optional[Sequence[str]] = None
    description: str = ""
    indices: np.ndarray = field(default=None)  # type: ignore[assignment]
    file_names: Optional[np.ndarray] = None
    features: Optional[np.ndarray] = None
    feature_names: Optional[Sequence[str]] = None

    def __post_init__(self):
        images = validate_images(self.images)
        object.__setattr__(self, "images", images)
        if self.labels is not None:
            labels = np.asarray(self.labels)
            if labels.shape != (len(images),):
                raise ValueError(
                    f"labels must have one entry per image: got {labels.shape[0] if labels.ndim else 0} "
                    f"labels for {len(images)} images."
                )
            object.__setattr__(self, "labels", labels.astype(np.int64))
        if self.indices is None:
            object.__setattr__(self, "indices", np.arange(len(images)))
        for name in ("file_names", "features"):
            value = getattr(self, name)
            if value is not None and len(value) != len(images):
                raise ValueError(f"{name} must have one entry per image: got {len(value)} for {len(images)} images.")
        if self.file_names is not None:
            object.__setattr__(self, "file_names", np.asarray(self.file_names, dtype=str))

    @property
    def is_table(self) -> bool:
        """Tabular data (features), shown as profiles and rows instead of images."""
        return self.features is not None

    def file_name(self, position: int) -> str:
        """The original file name of the sample at `position`, or its index in the dataset."""
        if self.file_names is not None:
            return str(self.file_names[position])
        return f"#{int(self.indices[position])}"

    @property
    def n_samples(self) -> int:
        return len(self.images)

    @property
    def image_shape(self) -> tuple:
        return tuple(self.images.shape[1:])

    @property
    def n_classes(self) -> Optional[int]:
        return None if self.labels is None else int(len(np.unique(self.labels)))

    @property
    def has_labels(self) -> bool:
        return self.labels is not None

    def label_name(self, label: int) -> str:
        if self.class_names is not None and 0 <= label < len(self.class_names):
            return str(self.class_names[label])
        return str(label)

    def subset(self, positions: np.ndarray) -> "Dataset":
        positions = np.asarray(positions)
        return replace(
            self,
            images=self.images[positions],
            labels=None if self.labels is None else self.labels[positions],
            indices=self.indices[positions],
            file_names=None if self.file_names is None else self.file_names[positions],
            features=None if self.features is None else self.features[positions],
        )


def validate_images(images) -> np.ndarray:
    """Return `images` as float32 NHWC in [0, 1], or raise ValueError saying what is wrong."""
    images = np.asarray(images)
    if images.dtype == object or not np.issubdtype(images.dtype, np.number):
        raise ValueError(f"images must be numeric, got dtype {images.dtype}.")
    if images.ndim == 3:  # (N, H, W) grayscale
        images = images[..., np.newaxis]
    if images.ndim != 4:
        raise ValueError(
            f"images must have shape (n_samples, height, width[, channels]); got shape {images.shape}."
        )
    if images.shape[0] == 0:
        raise ValueError("the dataset has no images.")
    images = images.astype(np.float32, copy=False)
    if not np.all(np.isfinite(images)):
        n_bad = int(np.sum(~np.isfinite(images).reshape(len(images), -1).all(axis=1)))
        raise ValueError(f"{n_bad} image(s) contain NaN or infinite values.")
    if images.min() < 0.0 or images.max() > 1.0:
        raise ValueError(
            f"image values must lie in [0, 1]; got range [{images.min():.3g}, {images.max():.3g}]."
        )
    return images


def stratified_subsample(dataset: Dataset, n_samples: Optional[int], seed: int = 0) -> Dataset:
    """A subset of `n_samples` images keeping class proportions (when labels exist), reproducible by `seed`.

    Returns the dataset itself when `n_samples` is None or not smaller than its size.
    """
    if n_samples is None or n_samples >= dataset.n_samples:
        return dataset
    if n_samples < 1:
        raise ValueError(f"sample size must be at least 1, got {n_samples}.")
    rng = np.random.default_rng(seed)
    if dataset.labels is None:
        positions = rng.choice(dataset.n_samples, size=n_samples, replace=False)
    else:
        classes, counts = np.unique(dataset.labels, return_counts=True)
        # Largest-remainder allocation so the per-class quotas sum exactly to n_samples.
        exact = counts / counts.sum() * n_samples
        quota = np.floor(exact).astype(int)
        remainder = n_samples - quota.sum()
        quota[np.argsort(exact - quota)[::-1][:remainder]] += 1
        positions = np.concatenate(
            [
                rng.choice(np.flatnonzero(dataset.labels == c), size=q, replace=False)
                for c, q in zip(classes, quota)
                if q > 0
            ]
        )
    return dataset.subset(np.sort(positions))
