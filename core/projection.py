"""2-D projections of an embedding for the scatter plot: UMAP (default) or PCA (fast)."""
from __future__ import annotations

import threading
import time
import warnings

import numpy as np
from core import quiet_tensorflow_import

PROJECTIONS = {"umap": "UMAP", "pca": "PCA"}
# What UMAP is fitted on. "sample": a random UMAP_SAMPLE_SIZE points, the rest placed by UMAP's own `transform`
# (their nearest sample points found exactly); "auto": the sample above UMAP_SAMPLE_ABOVE points, all below.
UMAP_FITS = {"auto": "auto", "all": "all points", "sample": "a sample"}
UMAP_SAMPLE_ABOVE = 40_000
UMAP_SAMPLE_SIZE = 10_000
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


def umap_sample_size(n_points: int, fit: str = "auto"):
    """How many of `n_points` UMAP is fitted on under `fit` (one of UMAP_FITS): None for all of them."""
    if fit not in UMAP_FITS:
        raise ValueError(f"UMAP is fitted on one of {sorted(UMAP_FITS)}; got {fit!r}.")
    if fit == "all" or n_points <= UMAP_SAMPLE_SIZE or (fit == "auto" and n_points <= UMAP_SAMPLE_ABOVE):
        return None
    return UMAP_SAMPLE_SIZE


def umap_embed(X: np.ndarray, n_components: int = 2, *, n_neighbors: int = 15, min_dist: float = 0.1,
               random_state: int = 0, fit: str = "auto") -> np.ndarray:
    """UMAP of `X` to `n_components` dimensions, with exact nearest neighbours (see `_exact_knn`), fitted
    on all points or on a sample as `fit` says (see `umap_sample_size`)."""
    X = np.asarray(X, dtype=np.float32).reshape(len(X), -1)
    projection = _umap(X, n_neighbors, random_state, n_components=n_components, min_dist=min_dist, fit=fit)
    _warm.set()
    return projection


def _umap(X: np.ndarray, n_neighbors: int, random_state: int, *, n_components: int = 2,
          min_dist: float = 0.1, fit: str = "auto") -> np.ndarray:
    quiet_tensorflow_import()  # umap imports TensorFlow when it is installed: do it quietly
    import umap

    n_neighbors = int(min(n_neighbors, len(X) - 1))
    sample = umap_sample_size(len(X), fit)
    if sample is not None:
        return _umap_on_sample(X, sample, n_neighbors, random_state, n_components=n_components, min_dist=min_dist)
    knn_indices, knn_distances = _exact_knn(X, n_neighbors)
    reducer = umap.UMAP(
        n_components=n_components, n_neighbors=n_neighbors, min_dist=min_dist, random_state=random_state,
        precomputed_knn=(knn_indices, knn_distances, None), n_jobs=1,
        init=_start(X, knn_indices, n_components, random_state),
    )
    with warnings.catch_warnings():
        # umap warns that `transform` needs its own index; this fit is never transformed (_umap_on_sample's is).
        warnings.filterwarnings("ignore", message="precomputed_knn", category=UserWarning)
        return reducer.fit_transform(X).astype(np.float32)


def _start(X: np.ndarray, knn_indices: np.ndarray, n_components: int, random_state: int):
    """Where UMAP's layout starts: its spectral layout (UMAP's default), unless the neighbour graph falls apart
    into pieces, as a UMAP manifold's tight clumps do (N2D's space). UMAP lays such pieces out almost at
    random, and a 2-D map of N2D's manifold on 5,000 shapes came out as confetti (k-means on the map: NMI
    0.33 for a clustering of 0.68); started from the PCA of the points, as UMAP's init="pca" does, 0.56."""
    import scipy.sparse
    from scipy.sparse.csgraph import connected_components
    from sklearn.decomposition import PCA

    n, k = knn_indices.shape
    graph = scipy.sparse.csr_matrix((np.ones(n * k, np.float32), (np.repeat(np.arange(n), k), knn_indices.ravel())),
                                    shape=(n, n))
    if connected_components(graph, directed=False)[0] == 1 or X.shape[1] < n_components:
        return "spectral"
    start = PCA(n_components, random_state=random_state).fit_transform(X)
    return (10.0 * start / max(np.abs(start).max(), 1e-12)).astype(np.float32)  # UMAP's scale for its own starts


def _neighbour_distances(found_distances, found_indices, n_rows: int, n_columns: int, n_neighbors: int,
                          rows_are_columns: bool):
    """A sparse (n_rows, n_columns) matrix of each row's `n_neighbors` nearest distances, as UMAP's
    precomputed metric takes them: a row's own point left out when rows and columns are the same points,
    and every distance stored above zero (a zero would read as no neighbour: duplicates are at 1e-9)."""
    import scipy.sparse

    if rows_are_columns:
        keep = found_indices != np.arange(n_rows)[:, None]
        keep[keep.sum(axis=1) > n_neighbors, -1] = False  # a point missing from its own list: drop its farthest
        found_indices = found_indices[keep].reshape(n_rows, n_neighbors)
        found_distances = found_distances[keep].reshape(n_rows, n_neighbors)
    rows = np.repeat(np.arange(n_rows), n_neighbors)
    values = np.maximum(found_distances.ravel(), 1e-9).astype(np.float32)
    return scipy.sparse.csr_matrix((values, (rows, found_indices.ravel())), shape=(n_rows, n_columns))


def _umap_on_sample(X: np.ndarray, sample: int, n_neighbors: int, random_state: int, *, n_components: int,
                    min_dist: float) -> np.ndarray:
    """UMAP fitted on `sample` random rows of `X`; the other rows placed by the fitted UMAP's `transform`.

    Nearest neighbours are exact (scikit-learn) and handed to UMAP as a sparse matrix of distances, its
    "precomputed" metric: the one route to `transform` that needs no pynndescent index (whose numba code
    takes half a minute to compile in every new process)."""
    import umap
    from sklearn.neighbors import NearestNeighbors

    fitted_rows = np.sort(np.random.default_rng(random_state).choice(len(X), sample, replace=False))
    other_rows = np.setdiff1d(np.arange(len(X)), fitted_rows)
    index = NearestNeighbors(n_neighbors=n_neighbors + 1).fit(X[fitted_rows])
    distances, indices = index.kneighbors(X[fitted_rows])
    graph = _neighbour_distances(distances, indices, sample, sample, n_neighbors, rows_are_columns=True)
    graph = graph.maximum(graph.T).tocsr()  # UMAP takes a symmetric matrix of distances
    reducer = umap.UMAP(n_components=n_components, n_neighbors=n_neighbors, min_dist=min_dist,
                        random_state=random_state, metric="precomputed", n_jobs=1,
                        init=_start(X[fitted_rows], indices, n_components, random_state))
    out = np.empty((len(X), n_components), np.float32)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*precomputed metric.*", category=UserWarning)
        out[fitted_rows] = reducer.fit_transform(graph)
        distances, indices = index.kneighbors(X[other_rows], n_neighbors=n_neighbors)
        out[other_rows] = reducer.transform(
            _neighbour_distances(distances, indices, len(other_rows), sample, n_neighbors, rows_are_columns=False))
    return out


def projection_sample(shape, method: str = "umap", fit: str = "auto"):
    """How many points `project_2d` fits UMAP on for an embedding of `shape` (n_samples, ...): None when it
    fits all of them, or draws without UMAP (PCA, an embedding of at most two features, fewer than 4 points)."""
    n_points, n_features = shape[0], int(np.prod(shape[1:]))
    if method != "umap" or n_features <= 2 or n_points < 4:
        return None
    return umap_sample_size(n_points, fit)


def project_2d(embedding, method: str = "umap", *, n_neighbors: int = 15, random_state: int = 0,
               fit: str = "auto") -> np.ndarray:
    """Project `embedding` (n_samples, d) to (n_samples, 2) with UMAP or PCA (UMAP fitted as `fit` says:
    see `umap_sample_size`).

    An embedding that is already 2-D is returned as is (as float32); one with a single feature gets
    a zero second coordinate.
    """
    if method not in PROJECTIONS:
        raise ValueError(f"unknown projection {method!r}; choose one of {sorted(PROJECTIONS)}.")
    umap_sample_size(0, fit)  # the choice is checked whatever the size
    X = np.asarray(embedding, dtype=np.float32).reshape(len(embedding), -1)
    if not np.all(np.isfinite(X)):
        raise ValueError("cannot project an embedding containing NaN or infinite values.")
    if X.shape[1] <= 2:
        return np.column_stack([X, np.zeros((len(X), 2 - X.shape[1]), np.float32)])
    if method == "pca" or len(X) < 4:
        from sklearn.decomposition import PCA

        return PCA(n_components=2, random_state=random_state).fit_transform(X).astype(np.float32)
    projection = _umap(X, n_neighbors, random_state, fit=fit)
    _warm.set()
    return projection
