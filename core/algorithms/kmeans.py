"""Who runs k-means for the methods that use it, a choice each of them declares (`KMEANS_BACKEND`):
scikit-learn's k-means, its mini-batch k-means for large data, or TensorFlow's batched k-means for a GPU."""
from __future__ import annotations

import numpy as np
from sklearn.cluster import KMeans, MiniBatchKMeans

from core.params import OneOf, Param

KMEANS_BACKENDS = ("auto", "scikit-learn", "mini-batch", "tensorflow")
# "mini-batch": scikit-learn's mini-batch k-means (its best of n_init seedings, one run), then full k-means steps
# from its centres until they settle. On 70,000 real digits (shifted copies) as pixels: 9.5 s against 43.8 s for
# full k-means (10 restarts), the same NMI; mini-batches alone were 0.03 NMI lower (docs/scale.md, 2026-12-04).
MINI_BATCH_ABOVE = 40_000   # "auto" runs mini-batch k-means on more samples than this (without a GPU)
MINI_BATCH_SIZE = 4096      # samples per step: larger than scikit-learn's 1024, closer to full k-means

KMEANS_BACKEND = Param(
    "kmeans_backend", OneOf(*KMEANS_BACKENDS), "k-means by", advanced=True,
    help=f"auto: TensorFlow's batched k-means when there is a GPU; without one scikit-learn's, in mini-batches "
         f"above {MINI_BATCH_ABOVE:,} images (then full steps from where they end: several times faster on raw "
         "pixels, the same clustering within noise; bench/scale.py --shortcuts). scikit-learn and TensorFlow give "
         "the same clustering up to ties.")


def chosen_backend(backend: str, n_samples: int) -> str:
    """The backend "auto" stands for with `n_samples` samples on this machine; any other choice as it is."""
    if backend != "auto":
        return backend
    from core.models.kmeans import gpu_available

    if gpu_available():
        return "tensorflow"
    return "mini-batch" if n_samples > MINI_BATCH_ABOVE else "scikit-learn"


def run_kmeans(Z: np.ndarray, n_clusters: int, *, backend: str = "auto", n_init: int = 10, random_state: int = 0):
    """k-means on `Z` by `backend` (one of KMEANS_BACKENDS; see `chosen_backend`); returns (centres, labels, inertia)."""
    backend = chosen_backend(backend, len(Z))
    if backend == "tensorflow":
        from core.models.kmeans import kmeans

        result = kmeans(Z, n_clusters, n_init=n_init, random_state=random_state)
        return result.cluster_centers, result.labels, float(result.inertia)
    if backend == "mini-batch":  # then Lloyd's steps over all samples from its centres, until they settle
        batched = MiniBatchKMeans(n_clusters, n_init=n_init, batch_size=MINI_BATCH_SIZE, random_state=random_state).fit(Z)
        fitted = KMeans(n_clusters, init=batched.cluster_centers_, n_init=1, random_state=random_state).fit(Z)
    else:
        fitted = KMeans(n_clusters, n_init=n_init, random_state=random_state).fit(Z)
    return fitted.cluster_centers_, fitted.labels_.astype(np.int64), float(fitted.inertia_)
