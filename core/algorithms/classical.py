"""Classical clustering on raw pixels (scikit-learn)."""
from __future__ import annotations

import numpy as np
from sklearn.cluster import KMeans

from core.algorithms.base import ClusteringAlgorithm, Interval


class PixelKMeans(ClusteringAlgorithm):
    """k-means on the flattened pixels: the baseline every learned embedding should beat.

    Parameters
    ----------
    n_clusters : int, default=10
    n_init : int, default=10
        Number of k-means++ restarts; the best inertia wins.
    random_state : int, default=0

    Attributes
    ----------
    labels_ : ndarray of shape (n_samples,)
    cluster_centers_ : ndarray of shape (n_clusters, n_features)
    embedding_ : ndarray of shape (n_samples, n_features)
        The flattened pixels (the space the clustering was made in).
    inertia_ : float

    Examples
    --------
    >>> from core.data import load_dataset
    >>> data = load_dataset("digits")
    >>> PixelKMeans(n_clusters=10).fit(data.images).labels_.shape
    (1797,)
    """

    _parameter_constraints = {
        "n_clusters": Interval(int, 1, None),
        "n_init": Interval(int, 1, None),
        "random_state": Interval(int, 0, None),
    }

    def __init__(self, n_clusters: int = 10, *, n_init: int = 10, random_state: int = 0):
        self.n_clusters = n_clusters
        self.n_init = n_init
        self.random_state = random_state

    def _fit(self, X: np.ndarray) -> None:
        report = self._reporter("cluster")
        report("Clustering pixels with k-means", 0.0)
        flat = X.reshape(len(X), -1)
        with self._timed("cluster"):
            self._kmeans = KMeans(self.n_clusters, n_init=self.n_init, random_state=self.random_state).fit(flat)
        self.labels_ = self._kmeans.labels_.astype(np.int64)
        self.cluster_centers_ = self._kmeans.cluster_centers_
        self.inertia_ = float(self._kmeans.inertia_)
        self.embedding_ = flat
        report("Clustering pixels with k-means", 1.0)

    def predict(self, X) -> np.ndarray:
        self._check_fitted()
        X = self._validate_data(X)
        return self._kmeans.predict(X.reshape(len(X), -1)).astype(np.int64)
