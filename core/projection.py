"""2-D projections of an embedding for the scatter plot: UMAP (default) or PCA (fast)."""
from __future__ import annotations

import threading
import time
import warnings

import numpy as np
from core import quiet_tensorflow_import

PROJECTIONS = {"umap": "UMAP", "pca": "PCA"}
_warm = threading.Event()
_warm_lock = threading.Lock()


def umap_is_warm() -> bool:
    """True once UMAP's numba code has been compiled in this process (later calls are fast)."""
    return _warm.is_set()


def warm_up_umap() -> float:
    """Compile UMAP's numba code on a tiny problem; returns the seconds it took (0 when already warm).

    The first UMAP call in a process spends tens of seconds compiling; doing it once, early, spares
    the user that wait on their first projection. Safe to call from several threads.
    """
    with _warm_lock:
        if _warm.is_set():
            return 0.0
        start = time.perf_counter()
        rng = np.random.default_rng(0)
        _umap(rng.normal(size=(120, 5)).astype(np.float32), n_neighbors=10, random_state=0)
        _warm.set()
        return time.perf_counter() - start


def _exact_knn(X: np.ndarray, n_neighbors: int):
    """Exact nearest neighbours with scikit-learn, in the (indices, distances) form UMAP takes.

    Passed to UMAP as `precomputed_knn`, this skips pynndescent, whose numba compilation dominates
    UMAP's first call, and is exact and fast for up to tens of thousands of points.
    """
    from sklearn.neighbors import NearestNeighbors

    distances, indices = NearestNeighbors(n_neighbors=n_neighbors).fit(X).kneighbors(X)
    return indices, distances


def umap_embed(X: np.ndarray, n_components: int = 2, *, n_neighbors: int = 15, min_dist: float = 0.1,
               random_state: int = 0) -> np.ndarray:
    """UMAP of `X` to `n_components` dimensions, with exact nearest neighbours (see `_exact_knn`)."""
    X = np.asarray(X, dtype=np.float32).reshape(len(X), -1)
    projection = _umap(X, n_neighbors, random_state, n_components=n_components, min_dist=min_dist)
    _warm.set()
    return projection


def _umap(X: np.ndarray, n_neighbors: int, random_state: int, *, n_components: int = 2,
          min_dist: float = 0.1) -> np.ndarray:
    quiet_tensorflow_import()  # umap imports TensorFlow when it is installed: do it quietly
    import umap

    n_neighbors = int(min(n_neighbors, len(X) - 1))
    knn_indices, knn_distances = _exact_knn(X, n_neighbors)
    reducer = umap.UMAP(
        n_components=n_components, n_neighbors=n_neighbors, min_dist=min_dist, random_state=random_state,
        precomputed_knn=(knn_indices, knn_distances, None), n_jobs=1,
    )
    with warnings.catch_warnings():
        # umap warns that `transform` needs its own index; this module never calls `transform`.
        warnings.filterwarnings("ignore", message="precomputed_knn", category=UserWarning)
        return reducer.fit_transform(X).astype(np.float32)


def project_2d(embedding, method: str = "umap", *, n_neighbors: int = 15, random_state: int = 0) -> np.ndarray:
    """Project `embedding` (n_samples, d) to (n_samples, 2) with UMAP or PCA.

    An embedding that is already 2-D is returned as is (as float32); one with a single feature gets
    a zero second coordinate.
    """
    if method not in PROJECTIONS:
        raise ValueError(f"unknown projection {method!r}; choose one of {sorted(PROJECTIONS)}.")
    X = np.asarray(embedding, dtype=np.float32).reshape(len(embedding), -1)
    if not np.all(np.isfinite(X)):
        raise ValueError("cannot project an embedding containing NaN or infinite values.")
    if X.shape[1] <= 2:
        return np.column_stack([X, np.zeros((len(X), 2 - X.shape[1]), np.float32)])
    if method == "pca" or len(X) < 4:
        from sklearn.decomposition import PCA

        return PCA(n_components=2, random_state=random_state).fit_transform(X).astype(np.float32)
    projection = _umap(X, n_neighbors, random_state)
    _warm.set()
    return projection
