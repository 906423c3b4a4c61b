"""How many clusters? Sweep the cluster count on an embedding and score each count three ways."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA
from sklearn.metrics import silhouette_score
from sklearn.mixture import GaussianMixture

from core.progress import PhaseReporter, ProgressCallback
from core.tasks import RunEmbeddingTask

SWEEP_MAX_SAMPLES = 3000   # a random sample this large keeps a 2..20 sweep to seconds
SWEEP_MAX_FEATURES = 20    # the mixture runs on at most this many PCA components (full covariances)


def elbow_count(ks: Sequence[int], values: Sequence[float]) -> int:
    """The elbow of a curve that falls as the count grows (k-means inertia): the count whose point lies
    farthest from the straight line (chord) joining the first and the last point, once both axes are
    scaled to [0, 1]. With fewer than three counts, or a straight curve, the first count.

    Examples
    --------
    >>> elbow_count([2, 3, 4, 5, 6], [100, 40, 30, 25, 22])
    3
    """
    ks = np.asarray(ks, dtype=float)
    values = np.asarray(values, dtype=float)
    if len(ks) < 3:
        return int(ks[0])
    x = (ks - ks[0]) / (ks[-1] - ks[0])
    span = values.max() - values.min()
    y = (values - values.min()) / span if span > 0 else np.zeros_like(values)
    # distance of (x, y) from the chord through (x[0], y[0]) and (x[-1], y[-1]), up to a common factor
    dx, dy = x[-1] - x[0], y[-1] - y[0]
    distance = np.abs(dy * (x - x[0]) - dx * (y - y[0]))
    return int(ks[int(np.argmax(distance))])


@dataclass
class ClusterCountSweep:
    """Scores per cluster count. `suggested` is the count with the best silhouette (the criterion named
    by `criterion`); `bic_best` the count with the lowest GMM BIC; `elbow` the elbow of the k-means
    inertia (:func:`elbow_count`); `note` says what was sampled or reduced."""

    ks: list
    silhouette: list
    bic: list
    inertia: list
    suggested: int
    bic_best: int
    n_samples: int
    n_features: int
    note: str = ""

    criterion = "highest silhouette"

    @property
    def elbow(self) -> int:
        """The count at the elbow of the inertia curve (:func:`elbow_count`)."""
        return elbow_count(self.ks, self.inertia)

    @property
    def suggestion(self) -> str:
        """"Suggested: 10 clusters (highest silhouette)." """
        return f"Suggested: {self.suggested} clusters ({self.criterion})."


def sweep_cluster_counts(embedding, ks: Sequence[int] = range(2, 21), *, max_samples: int = SWEEP_MAX_SAMPLES,
                         random_state: int = 0, callback: Optional[ProgressCallback] = None) -> ClusterCountSweep:
    """For each k in `ks`: k-means (inertia, silhouette of its labels) and a Gaussian mixture (BIC).

    Runs on a random sample of at most `max_samples` points; embeddings with more than 50 features
    are reduced to 20 PCA components for the mixture (full covariances), which keeps it to seconds.
    The callback may raise :class:`core.progress.TrainingCancelled` to stop between counts.

    Raises
    ------
    ValueError
        If `ks` is empty, holds a count below 2, or asks for more clusters than there are points.
    """
    X = np.asarray(embedding, dtype=np.float64).reshape(len(embedding), -1)
    ks = sorted({int(k) for k in ks})
    if not ks or ks[0] < 2:
        raise ValueError("cluster counts to try must be integers of at least 2.")
    if not np.all(np.isfinite(X)):
        raise ValueError("the embedding contains NaN or infinite values.")
    notes = []
    if len(X) > max_samples:
        X = X[np.sort(np.random.default_rng(random_state).choice(len(X), max_samples, replace=False))]
        notes.append(f"a random sample of {max_samples:,} of {len(embedding):,} points")
    if ks[-1] >= len(X):
        raise ValueError(f"cannot try {ks[-1]} clusters on {len(X)} points: lower the largest count.")
    reduced = X
    if X.shape[1] > SWEEP_MAX_FEATURES:
        reduced = PCA(SWEEP_MAX_FEATURES, random_state=random_state).fit_transform(X)
        notes.append(f"the mixture fitted on {SWEEP_MAX_FEATURES} PCA components of {X.shape[1]} features")
    report = PhaseReporter(callback, "sweep")
    silhouettes, bics, inertias = [], [], []
    for i, k in enumerate(ks):
        report(f"Trying {k} clusters ({i + 1} of {len(ks)})", i / len(ks))
        kmeans = KMeans(k, n_init=3, random_state=random_state).fit(X)
        inertias.append(float(kmeans.inertia_))
        silhouettes.append(float(silhouette_score(X, kmeans.labels_)) if len(np.unique(kmeans.labels_)) > 1 else np.nan)
        gmm = GaussianMixture(k, covariance_type="full", reg_covar=1e-4, random_state=random_state).fit(reduced)
        bics.append(float(gmm.bic(reduced)))
    report("Sweep done", 1.0)
    suggested = ks[int(np.nanargmax(silhouettes))]
    return ClusterCountSweep(ks=ks, silhouette=silhouettes, bic=bics, inertia=inertias, suggested=suggested,
                             bic_best=ks[int(np.argmin(bics))], n_samples=len(X), n_features=X.shape[1],
                             note="; ".join(notes))


@dataclass(frozen=True)
class ClusterCountScan(RunEmbeddingTask):
    """The cluster-count scan as a task for the training process (the web server runs no k-means) on a
    run's embedding (:class:`core.tasks.RunEmbeddingTask`). `run(store, callback)` returns the
    :class:`ClusterCountSweep`."""

    ks: tuple
    random_state: int = 0

    @property
    def title(self) -> str:
        return f"the cluster-count scan{self.of_run} ({self.ks[0]} to {self.ks[-1]} clusters)"

    def run(self, store, callback: Optional[ProgressCallback] = None) -> ClusterCountSweep:
        return sweep_cluster_counts(self.load_embedding(store), self.ks, random_state=self.random_state,
                                    callback=callback)
