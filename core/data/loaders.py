"""Loaders for the datasets in the registry. Each returns a :class:`Dataset` in [0, 1], NHWC float32."""
from __future__ import annotations

import importlib
import socket

import numpy as np

from core.data.dataset import Dataset, DatasetUnavailable
from core import quiet_tensorflow_import

DOWNLOAD_TIMEOUT = 30  # seconds without an answer before a download counts as failed
DIGIT_NAMES = [str(d) for d in range(10)]
FASHION_NAMES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                 "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]


def load_digits() -> Dataset:
    """scikit-learn's 8x8 handwritten digits (1,797 images, bundled with scikit-learn: no download)."""
    from sklearn.datasets import load_digits as sklearn_digits

    bunch = sklearn_digits()
    return Dataset(
        name="digits",
        images=(bunch.images / 16.0).astype(np.float32)[..., np.newaxis],
        labels=bunch.target,
        class_names=DIGIT_NAMES,
        description="1,797 handwritten digits, 8x8 grayscale, 10 classes (bundled with scikit-learn).",
    )


def _load_keras_dataset(module_name: str, title: str):
    """Train and test splits of a `keras.datasets` module, concatenated. Downloads once, then reads the cache."""

    quiet_tensorflow_import()
    previous_timeout = socket.getdefaulttimeout()
    # keras downloads with urlretrieve, which has no timeout of its own: a network that silently
    # drops traffic would otherwise hang the page instead of failing with a message.
    socket.setdefaulttimeout(DOWNLOAD_TIMEOUT)
    try:
        module = importlib.import_module(module_name)
        (x_train, y_train), (x_test, y_test) = module.load_data()
    except Exception as error:  # keras raises a bare Exception on fetch failures
        raise DatasetUnavailable(
            f"{title} could not be downloaded. It needs an internet connection the first time it is used "
            f"(afterwards it is read from the Keras cache in ~/.keras/datasets). "
            f"The other datasets still work. Details: {error}"
        ) from error
    finally:
        socket.setdefaulttimeout(previous_timeout)
    images = np.concatenate([x_train, x_test]).astype(np.float32) / 255.0
    labels = np.concatenate([y_train, y_test]).astype(np.int64).ravel()
    return images, labels


def load_mnist() -> Dataset:
    """MNIST through `keras.datasets` (70,000 images, 28x28 grayscale)."""
    images, labels = _load_keras_dataset("keras.datasets.mnist", "MNIST")
    return Dataset(
        name="mnist", images=images, labels=labels, class_names=DIGIT_NAMES,
        description="70,000 handwritten digits, 28x28 grayscale, 10 classes (downloaded once by Keras).",
    )


def load_fashion_mnist() -> Dataset:
    """Fashion-MNIST through `keras.datasets` (70,000 images, 28x28 grayscale)."""
    images, labels = _load_keras_dataset("keras.datasets.fashion_mnist", "Fashion-MNIST")
    return Dataset(
        name="fashion_mnist", images=images, labels=labels, class_names=FASHION_NAMES,
        description="70,000 Zalando clothing images, 28x28 grayscale, 10 classes (downloaded once by Keras).",
    )


SHAPE_NAMES = ["disc", "ring", "square", "cross", "horizontal bars", "vertical bars",
               "diagonal", "triangle", "corners", "checker"]


def _shape_prototypes(size: int) -> np.ndarray:
    """Ten distinct binary patterns of `size` x `size`, one per synthetic class."""
    coords = (np.arange(size) + 0.5) / size * 2 - 1  # in (-1, 1)
    yy, xx = np.meshgrid(coords, coords, indexing="ij")
    radius = np.sqrt(xx ** 2 + yy ** 2)
    band = max(1, size // 8)
    rows = np.arange(size)[:, None] * np.ones((1, size))
    cols = rows.T
    patterns = [
        radius < 0.6,
        (radius > 0.45) & (radius < 0.8),
        (np.abs(xx) < 0.6) & (np.abs(yy) < 0.6),
        (np.abs(xx) < 0.2) | (np.abs(yy) < 0.2),
        (rows // band) % 2 == 0,
        (cols // band) % 2 == 0,
        np.abs(xx - yy) < 0.3,
        (yy > -0.6) & (np.abs(xx) < (yy + 0.6) / 1.6 * 0.8),
        (np.abs(xx) > 0.5) & (np.abs(yy) > 0.5),
        ((rows // (2 * band)) + (cols // (2 * band))) % 2 == 0,
    ]
    return np.stack(patterns).astype(np.float32)


SYNTHETIC_CHUNK = 5000  # images made at a time (the same images as one pass: numpy's draws run on)


def make_synthetic(n_samples: int = 1000, n_clusters: int = 5, image_size: int = 16,
                   noise: float = 0.15, seed: int = 0, with_labels: bool = True) -> Dataset:
    """Generated grayscale images with known clusters: each cluster is one geometric pattern,
    randomly shifted by up to two pixels, scaled in brightness and with Gaussian pixel noise.

    Parameters
    ----------
    n_samples : int, default=1000
    n_clusters : int, default=5, at most 10
    image_size : int, default=16, at least 8
    noise : float, default=0.15
        Standard deviation of the pixel noise.
    seed : int, default=0
    with_labels : bool, default=True
        False hides the true clusters, as with data nobody has labelled.
    """
    if not 1 <= n_clusters <= len(SHAPE_NAMES):
        raise ValueError(f"synthetic data has 1 to {len(SHAPE_NAMES)} clusters, got {n_clusters}.")
    if image_size < 8:
        raise ValueError(f"synthetic images must be at least 8x8, got {image_size}.")
    if n_samples < n_clusters:
        raise ValueError(f"need at least one sample per cluster: {n_samples} samples for {n_clusters} clusters.")
    rng = np.random.default_rng(seed)
    prototypes = _shape_prototypes(image_size)[:n_clusters]
    labels = np.arange(n_samples) % n_clusters
    rng.shuffle(labels)
    images = prototypes[labels]
    shifts = rng.integers(-2, 3, size=(n_samples, 2))
    images = np.stack([np.roll(img, tuple(s), axis=(0, 1)) for img, s in zip(images, shifts)])
    brightness = rng.uniform(0.6, 1.0, size=(n_samples, 1, 1))
    out = np.empty((n_samples, image_size, image_size, 1), np.float32)
    for start in range(0, n_samples, SYNTHETIC_CHUNK):  # in chunks: 70,000 images at once took 1.3 GB of float64
        stop = min(start + SYNTHETIC_CHUNK, n_samples)
        chunk = images[start:stop] * brightness[start:stop] + rng.normal(0, noise, images[start:stop].shape)
        out[start:stop, ..., 0] = np.clip(chunk, 0, 1)
    return Dataset(
        name="synthetic",
        images=out,
        labels=labels if with_labels else None,
        class_names=SHAPE_NAMES[:n_clusters] if with_labels else None,
        description=(f"{n_samples:,} generated {image_size}x{image_size} images of {n_clusters} geometric "
                     f"patterns, shifted and noisy (noise {noise}); made in code, no download."),
    )
