"""Feature preprocessing the user chooses and every run records."""
from __future__ import annotations

import numpy as np

PREPROCESSING = {
    "minmax": "Scale to [0, 1] (pixel values as they are)",
    "standardize": "Standardise each pixel (zero mean, unit variance)",
    "l2": "L2-normalise each image",
}
DEFAULT_PREPROCESSING = "minmax"


def preprocess(images: np.ndarray, method: str = DEFAULT_PREPROCESSING, reference=None) -> np.ndarray:
    """Apply `method` to images of shape (N, ...) and return float32 of the same shape.

    ``minmax`` rescales the whole array to [0, 1] (images from the registry already are);
    ``standardize`` centres and scales each pixel position over the dataset (constant pixels stay 0);
    ``l2`` divides each image by its Euclidean norm (all-zero images stay zero).
    `reference` (images of the same shape) supplies the statistics instead of `images` itself: new
    images are preprocessed as the run's own images were.
    """
    if method not in PREPROCESSING:
        raise ValueError(f"unknown preprocessing {method!r}; choose one of {sorted(PREPROCESSING)}.")
    X = np.asarray(images, dtype=np.float32)
    if not np.all(np.isfinite(X)):
        raise ValueError("cannot preprocess data containing NaN or infinite values.")
    flat = X.reshape(len(X), -1)
    stats = flat if reference is None else np.asarray(reference, dtype=np.float32).reshape(len(reference), -1)
    if method == "minmax":
        low, high = stats.min(), stats.max()
        out = (flat - low) / (high - low) if high > low else np.zeros_like(flat)
    elif method == "standardize":
        mean, std = stats.mean(axis=0), stats.std(axis=0)
        out = (flat - mean) / np.where(std > 1e-8, std, 1.0)
    else:
        norms = np.linalg.norm(flat, axis=1, keepdims=True)
        out = flat / np.where(norms > 0, norms, 1.0)
    return out.astype(np.float32).reshape(X.shape)
