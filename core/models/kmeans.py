"""k-means in TensorFlow: k-means++ seeding and Lloyd iterations over batched distance computations.

Every distance is computed by TensorFlow in batches of `batch_size` samples, so the same code runs
on a GPU when one is visible (and on the CPU otherwise) with memory bounded by batch x clusters.
Results agree with scikit-learn's `KMeans` on the same data (checked in the tests); scikit-learn's
remains the faster choice on a CPU.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

import core.models  # noqa: F401  (imports TensorFlow quietly)
import tensorflow as tf

from core.models.clustering import squared_distances


@dataclass
class KMeansResult:
    cluster_centers: np.ndarray
    labels: np.ndarray
    inertia: float
    n_iter: int


def gpu_available() -> bool:
    return bool(tf.config.list_physical_devices("GPU"))


@tf.function(reduce_retracing=True)
def _nearest(batch, centers):
    """Index of and squared distance to the nearest centre, for each row of `batch`."""
    squared = squared_distances(batch, centers)
    return tf.argmin(squared, axis=1, output_type=tf.int32), tf.reduce_min(squared, axis=1)


def _assign(X: tf.Tensor, centers: tf.Tensor, batch_size: int):
    labels, distances = [], []
    for start in range(0, int(X.shape[0]), batch_size):
        index, dist = _nearest(X[start:start + batch_size], centers)
        labels.append(index)
        distances.append(dist)
    return tf.concat(labels, 0), tf.concat(distances, 0)


def _kmeans_plus_plus(X: tf.Tensor, n_clusters: int, rng: np.random.Generator, batch_size: int) -> tf.Tensor:
    """k-means++ seeding (Arthur and Vassilvitskii, 2007), greedy: of 2 + log(k) candidates drawn
    in proportion to the squared distance, keep the one that lowers the potential most (as
    scikit-learn does)."""
    n = int(X.shape[0])
    n_trials = 2 + int(np.log(n_clusters))
    centers = [X[int(rng.integers(n))]]
    _, closest = _assign(X, tf.stack(centers), batch_size)
    for _ in range(1, n_clusters):
        weights = closest.numpy().astype(np.float64)
        total = weights.sum()
        probabilities = weights / total if total > 0 else np.full(n, 1.0 / n)
        candidates = rng.choice(n, size=n_trials, p=probabilities)
        best, best_potential, best_closest = None, np.inf, None
        for candidate in candidates:
            _, to_candidate = _assign(X, X[int(candidate)][tf.newaxis, :], batch_size)
            new_closest = tf.minimum(closest, to_candidate)
            potential = float(tf.reduce_sum(new_closest))
            if potential < best_potential:
                best, best_potential, best_closest = int(candidate), potential, new_closest
        centers.append(X[best])
        closest = best_closest
    return tf.stack(centers)


def kmeans(X, n_clusters: int, *, n_init: int = 10, max_iter: int = 300, tol: float = 1e-4,
           random_state: int = 0, batch_size: int = 4096) -> KMeansResult:
    """Cluster rows of `X` into `n_clusters` with Lloyd's algorithm; the best of `n_init` runs wins.

    `tol` is relative to the mean per-feature variance of `X`, as in scikit-learn: a run stops when
    the centres move less than that (squared Frobenius norm). Empty clusters are re-seeded at the
    point farthest from its centre.
    """
    X_np = np.asarray(X, dtype=np.float32).reshape(len(X), -1)
    if not 1 <= n_clusters <= len(X_np):
        raise ValueError(f"cannot make {n_clusters} clusters from {len(X_np)} samples.")
    X_tf = tf.constant(X_np)
    threshold = float(tol * np.mean(np.var(X_np, axis=0)))
    rng = np.random.default_rng(random_state)
    best = None
    for _ in range(n_init):
        centers = _kmeans_plus_plus(X_tf, n_clusters, rng, batch_size)
        for iteration in range(1, max_iter + 1):
            labels, distances = _assign(X_tf, centers, batch_size)
            sums = tf.math.unsorted_segment_sum(X_tf, labels, n_clusters)
            counts = tf.math.unsorted_segment_sum(tf.ones_like(distances), labels, n_clusters)
            new_centers = (sums / tf.maximum(counts, 1.0)[:, tf.newaxis]).numpy()
            empty = np.flatnonzero(counts.numpy() == 0)
            if len(empty):
                farthest = np.argsort(-distances.numpy())[:len(empty)]
                new_centers[empty] = X_np[farthest]
            shift = float(np.sum((new_centers - centers.numpy()) ** 2))
            centers = tf.constant(new_centers)
            if shift <= threshold:
                break
        labels, distances = _assign(X_tf, centers, batch_size)
        inertia = float(tf.reduce_sum(distances))
        if best is None or inertia < best.inertia:
            best = KMeansResult(centers.numpy(), labels.numpy().astype(np.int64), inertia, iteration)
    return best


def predict(X, centers: np.ndarray, batch_size: int = 4096) -> np.ndarray:
    """The nearest of `centers` for each row of `X`."""
    X_tf = tf.constant(np.asarray(X, dtype=np.float32).reshape(len(X), -1))
    labels, _ = _assign(X_tf, tf.constant(np.asarray(centers, dtype=np.float32)), batch_size)
    return labels.numpy().astype(np.int64)
