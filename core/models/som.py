"""A self-organizing map (Kohonen) trained with the batch SOM algorithm in TensorFlow.

The map is a ``rows x cols`` grid of prototype vectors. Each epoch is one pass over the data in
batches: TensorFlow finds every sample's best-matching unit (BMU, the nearest prototype) and sums,
per node, the samples it won and their count. The batch update (Kohonen's batch map) then sets each
prototype to the neighbourhood-weighted mean of the data,

    w_j = sum_k h(k, j) S_k / sum_k h(k, j) n_k,

where ``S_k`` and ``n_k`` are the sum and the number of samples whose BMU is node k, and
``h(k, j) = exp(-|r_k - r_j|^2 / (2 sigma^2))`` is a Gaussian of the distance between the nodes on
the grid. The radius sigma shrinks geometrically from about half the grid's longer side to 0.5, so
the map first unfolds as a whole, then refines locally (at sigma 0.5 a node barely pulls on its
neighbours and the update is close to k-means on the prototypes). There is no learning rate: the
batch update is the fixed point of the online rule's expected step, needs no step size and does not
depend on the order of the data.

The prototypes start on the plane of the data's first two principal components ("pca", the linear
initialisation of Kohonen's SOM_PAK and the SOM Toolbox), or at distinct samples drawn with the seed
("random"). Both are deterministic given the seed.
"""
from __future__ import annotations

import time
from typing import Callable, Optional

import numpy as np

import core.models  # noqa: F401  (imports TensorFlow quietly before the lines below)
import tensorflow as tf

from core.models.clustering import squared_distances
from core.progress import PhaseReporter, ProgressCallback, StopTraining

INITS = ("pca", "random")
DEFAULT_INIT = "random"  # the estimator's default too: one value for both


def grid_coordinates(rows: int, cols: int) -> np.ndarray:
    """(row, col) of every node, node ``i`` at row ``i // cols``, column ``i % cols``; shape (rows*cols, 2)."""
    r, c = np.meshgrid(np.arange(rows), np.arange(cols), indexing="ij")
    return np.column_stack([r.ravel(), c.ravel()]).astype(np.float64)


def neighbourhood(rows: int, cols: int, sigma: float) -> np.ndarray:
    """The Gaussian neighbourhood h(k, j) between all pairs of nodes, shape (rows*cols, rows*cols)."""
    coords = grid_coordinates(rows, cols)
    squared = ((coords[:, None, :] - coords[None, :, :]) ** 2).sum(axis=2)
    return np.exp(-squared / (2.0 * float(sigma) ** 2))


def sigma_schedule(epochs: int, sigma_start: float, sigma_end: float) -> np.ndarray:
    """The neighbourhood radius of each epoch: geometric from `sigma_start` to `sigma_end`."""
    if epochs <= 1:
        return np.full(max(epochs, 0), float(sigma_end))
    return sigma_start * (sigma_end / sigma_start) ** (np.arange(epochs) / (epochs - 1))


def initial_prototypes(X: np.ndarray, rows: int, cols: int, *, init: str = DEFAULT_INIT, seed: int = 0) -> np.ndarray:
    """Starting prototypes, shape (rows*cols, d), float32.

    "pca" spreads the grid over the plane of the first two principal components, spanning
    +-sqrt(variance) along each (the longer grid side along the first component), with signs fixed
    so that the result does not depend on the SVD's sign convention. "random" takes ``rows*cols``
    distinct samples drawn with `seed` (with repeats only when there are fewer samples than nodes).
    """
    X = np.asarray(X, dtype=np.float64)
    n, d = X.shape
    n_nodes = rows * cols
    if init == "random":
        rng = np.random.default_rng(seed)
        return X[rng.choice(n, size=n_nodes, replace=n < n_nodes)].astype(np.float32)
    if init != "pca":
        raise ValueError(f"init must be one of {', '.join(INITS)}; got {init!r}.")
    mean = X.mean(axis=0)
    centred = X - mean
    _, singular, components = np.linalg.svd(centred, full_matrices=False)
    n_components = min(2, len(singular))
    components = components[:n_components]
    # Deterministic signs: the largest-magnitude coefficient of each component is positive.
    signs = np.sign(components[np.arange(n_components), np.abs(components).argmax(axis=1)])
    components = components * np.where(signs == 0, 1.0, signs)[:, None]
    scales = singular[:n_components] / np.sqrt(max(n - 1, 1))
    if n_components < 2:
        components = np.vstack([components, np.zeros((2 - n_components, d))])
        scales = np.concatenate([scales, np.zeros(2 - n_components)])
    coords = grid_coordinates(rows, cols)
    # Grid positions in [-1, 1] along each axis; the longer side follows the first component.
    span = lambda values, size: (values / (size - 1)) * 2.0 - 1.0 if size > 1 else np.zeros_like(values)  # noqa: E731
    u, v = span(coords[:, 0], rows), span(coords[:, 1], cols)
    first, second = (u, v) if rows >= cols else (v, u)
    prototypes = mean + first[:, None] * scales[0] * components[0] + second[:, None] * scales[1] * components[1]
    return prototypes.astype(np.float32)


@tf.function(reduce_retracing=True)
def _batch_statistics(batch, prototypes):
    """BMU of each row of `batch`, its distance to it, and per node the sum and count of rows won."""
    squared = squared_distances(batch, prototypes)
    bmu = tf.argmin(squared, axis=1, output_type=tf.int32)
    distance = tf.sqrt(tf.reduce_min(squared, axis=1))
    # One-hot products rather than scatter-adds: the same sums in the same order on every run.
    one_hot = tf.one_hot(bmu, tf.shape(prototypes)[0], dtype=batch.dtype)
    sums = tf.matmul(one_hot, batch, transpose_a=True)
    counts = tf.reduce_sum(one_hot, axis=0)
    return bmu, distance, sums, counts


def best_matching_units(X: np.ndarray, prototypes: np.ndarray, batch_size: int = 2048):
    """The best-matching unit (nearest prototype) of each row of `X` and the distance to it.

    Returns ``(bmu, distance)``: int64 of shape (N,) and float32 of shape (N,).
    """
    X = np.asarray(X, dtype=np.float32)
    W = tf.constant(np.asarray(prototypes, dtype=np.float32))
    bmus, distances = [], []
    for start in range(0, len(X), batch_size):
        bmu, distance, _, _ = _batch_statistics(tf.constant(X[start:start + batch_size]), W)
        bmus.append(bmu.numpy())
        distances.append(distance.numpy())
    if not bmus:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
    return np.concatenate(bmus).astype(np.int64), np.concatenate(distances).astype(np.float32)


def hit_counts(bmu: np.ndarray, n_nodes: int) -> np.ndarray:
    """How many samples each node wins, shape (n_nodes,), int64."""
    return np.bincount(np.asarray(bmu, dtype=np.int64), minlength=n_nodes).astype(np.int64)


def quantization_error(X: np.ndarray, prototypes: np.ndarray) -> float:
    """Mean Euclidean distance from each sample to its best-matching unit."""
    return float(best_matching_units(X, prototypes)[1].mean())


def train_som(X: np.ndarray, rows: int, cols: int, *, epochs: int, batch_size: int = 256,
              sigma_start: Optional[float] = None, sigma_end: float = 0.5, init: str = DEFAULT_INIT, seed: int = 0,
              callback: Optional[ProgressCallback] = None, phase: str = "som",
              report: Optional[Callable[..., None]] = None,
              title: str = "Training self-organizing map") -> tuple[np.ndarray, list[dict]]:
    """Train a ``rows x cols`` map on the rows of `X` (n_samples, n_features) with the batch SOM algorithm.

    - `epochs`: batch updates (passes over the data); 0 returns the initial prototypes.
    - `batch_size`: samples per BMU computation (memory and progress granularity only: the update uses
      the whole epoch's statistics, so results do not depend on it beyond rounding).
    - `sigma_start`: starting neighbourhood radius in grid units; None means ``max(rows, cols) / 2`` (at
      least `sigma_end`, the radius of the last epoch).
    - `init` ("pca" or "random") and `seed`: the starting prototypes (see initial_prototypes).
    - `callback` receives :class:`core.progress.ProgressEvent`s under `phase`, each message starting
      with `title`: one after every batch (its ``loss`` the running mean distance to the BMU) and one
      with ``end_of_epoch=True`` and the epoch's quantisation error. Raising TrainingCancelled stops
      at the next batch; StopTraining stops after the epoch and keeps the map. `report`, a ready
      PhaseReporter (one of an enclosing phase, so its elapsed time runs on), replaces `callback`.

    Returns ``(prototypes, history)``: float32 (rows*cols, n_features), and one ``{"phase", "epoch",
    "loss", "elapsed"}`` per epoch, ``loss`` the quantisation error (mean distance of the samples to
    their BMU) after that epoch's update. FloatingPointError when `X` holds NaN or infinite values, or
    a prototype or the quantisation error becomes so.
    """
    X = _training_data(X, rows, cols)
    n = len(X)
    batch_size = int(max(1, min(batch_size, n)))
    n_steps = int(np.ceil(n / batch_size))
    if sigma_start is None:
        sigma_start = max(max(rows, cols) / 2.0, sigma_end)
    if report is None:
        report = PhaseReporter(callback, phase)
    prototypes = initial_prototypes(X, rows, cols, init=init, seed=seed)
    data = tf.constant(X)
    # The pass that measures epoch e's prototypes also gathers the statistics epoch e + 1 updates from.
    error, sums, counts, _ = _one_pass(data, prototypes, batch_size)
    _check_error(error, 0)
    history: list[dict] = []
    start = time.perf_counter()
    for epoch, sigma in enumerate(sigma_schedule(epochs, float(sigma_start), float(sigma_end)), start=1):
        prototypes = batch_update(prototypes, sums, counts, neighbourhood(rows, cols, sigma), epoch)
        message = f"{title}: epoch {epoch}/{epochs}"

        def on_batch(step: int, loss: float, epoch=epoch, message=message) -> bool:
            return _asked_to_stop(report, message, ((epoch - 1) + step / n_steps) / epochs, epoch=epoch,
                                  n_epochs=epochs, step=step, n_steps=n_steps, loss=loss)

        error, sums, counts, stop = _one_pass(data, prototypes, batch_size, on_batch)
        _check_error(error, epoch)
        history.append({"phase": phase, "epoch": epoch, "loss": error, "elapsed": time.perf_counter() - start})
        stop = _asked_to_stop(report, message, epoch / epochs, epoch=epoch, n_epochs=epochs, step=n_steps,
                              n_steps=n_steps, loss=error, end_of_epoch=True) or stop
        if stop:  # stop and keep: the map as this epoch left it
            break
    return prototypes, history


def _training_data(X, rows: int, cols: int) -> np.ndarray:
    """`X` as float32 rows, checked: ValueError for a wrong shape or grid, FloatingPointError for NaN."""
    X = np.asarray(X, dtype=np.float32)
    if X.ndim != 2 or len(X) == 0:
        raise ValueError(f"X must have shape (n_samples, n_features) with n_samples > 0; got {X.shape}.")
    if not np.all(np.isfinite(X)):
        raise FloatingPointError("the self-organizing map's training data contain NaN or infinite values.")
    if rows < 1 or cols < 1:
        raise ValueError(f"the grid needs at least one row and one column; got {rows} x {cols}.")
    return X


def batch_update(prototypes: np.ndarray, sums: np.ndarray, counts: np.ndarray, h: np.ndarray,
                 epoch: int = 0) -> np.ndarray:
    """Kohonen's batch map: each prototype becomes the mean of the data weighted by the neighbourhood
    `h` of the node each sample won (`sums` and `counts` per node). A node whose whole neighbourhood won
    nothing (a huge grid, a tiny radius) keeps its place. FloatingPointError when a prototype is not
    finite (`epoch` names when)."""
    numerator = h @ sums
    denominator = h @ counts
    updated = np.where(denominator[:, None] > 0, numerator / np.maximum(denominator, 1e-300)[:, None], prototypes)
    if not np.all(np.isfinite(updated)):
        raise FloatingPointError(f"the self-organizing map's prototypes became NaN or infinite in epoch {epoch}.")
    return updated.astype(np.float32)


def _one_pass(data, prototypes: np.ndarray, batch_size: int,
              on_batch: Optional[Callable[[int, float], bool]] = None):
    """One pass over `data` in batches: the quantisation error of `prototypes`, and per node the sum and
    count of the samples it wins. ``on_batch(step, running error)`` is called after each batch but the
    last, and returns True to ask that training stop once this pass completes.

    Returns ``(error, sums, counts, stop asked)``."""
    n, n_features = int(data.shape[0]), int(data.shape[1])
    n_steps = int(np.ceil(n / batch_size))
    W = tf.constant(prototypes)
    sums = np.zeros((len(prototypes), n_features), dtype=np.float64)
    counts = np.zeros(len(prototypes), dtype=np.float64)
    total, stop = 0.0, False
    for step in range(n_steps):
        _, distance, batch_sums, batch_counts = _batch_statistics(data[step * batch_size:(step + 1) * batch_size], W)
        sums += batch_sums.numpy()
        counts += batch_counts.numpy()
        total += float(tf.reduce_sum(distance))
        if on_batch is not None and step + 1 < n_steps:
            stop = on_batch(step + 1, total / min((step + 1) * batch_size, n)) or stop
    return total / n, sums, counts, stop


def _check_error(error: float, epoch: int) -> None:
    if not np.isfinite(error):
        raise FloatingPointError(f"the self-organizing map's quantisation error became {error}"
                                 + (f" in epoch {epoch}." if epoch else " at initialisation."))


def _asked_to_stop(report, message: str, fraction: float, **fields) -> bool:
    """Send one progress event; True when the callback asked to stop and keep what is trained."""
    try:
        report(message, fraction, **fields)
    except StopTraining:
        return True
    return False


def weighted_ward(points: np.ndarray, weights: np.ndarray, n_clusters: int) -> np.ndarray:
    """Ward's agglomerative clustering of weighted points (e.g. SOM prototypes weighted by hits).

    Each point starts as a cluster of mass ``weights[i]`` at ``points[i]``; the pair of clusters
    whose merge least increases the weighted within-cluster sum of squares,
    ``m_a m_b / (m_a + m_b) |c_a - c_b|^2``, is merged until `n_clusters` remain. This is Ward on
    the data quantised to its prototypes (each sample replaced by its BMU's prototype), computed on
    the nodes alone. Deterministic: ties go to the lowest pair of indices.

    `weights` must be positive. Returns labels 0..n_clusters-1 (numbered by first occurrence), int64.
    """
    points = np.asarray(points, dtype=np.float64)
    mass = np.asarray(weights, dtype=np.float64).copy()
    m = len(points)
    if not 1 <= n_clusters <= m:
        raise ValueError(f"cannot group {m} points into {n_clusters} clusters.")
    if np.any(mass <= 0):
        raise ValueError("weighted_ward needs positive weights.")
    centres = points.copy()
    owner = np.arange(m)  # the cluster (its representative index) each point belongs to
    active = np.ones(m, dtype=bool)
    squared = ((centres[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2)
    cost = mass[:, None] * mass[None, :] / (mass[:, None] + mass[None, :]) * squared
    np.fill_diagonal(cost, np.inf)
    for _ in range(m - n_clusters):
        a, b = divmod(int(np.argmin(cost)), m)
        a, b = min(a, b), max(a, b)
        total = mass[a] + mass[b]
        centres[a] = (mass[a] * centres[a] + mass[b] * centres[b]) / total
        mass[a] = total
        owner[owner == b] = a
        active[b] = False
        cost[b, :] = cost[:, b] = np.inf
        others = np.flatnonzero(active)
        others = others[others != a]
        row = np.full(m, np.inf)
        row[others] = (mass[a] * mass[others] / (mass[a] + mass[others])
                       * ((centres[others] - centres[a]) ** 2).sum(axis=1))
        cost[a, :] = row
        cost[:, a] = row
    # Number groups by first occurrence so the labelling does not depend on representative indices.
    _, first, inverse = np.unique(owner, return_index=True, return_inverse=True)
    return np.argsort(np.argsort(first))[inverse].astype(np.int64)
