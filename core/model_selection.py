"""How many clusters? Sweep the cluster count on an embedding and score each count up to four ways: the
silhouette of k-means clusters in the run's 2-D UMAP picture (the criterion the suggestion follows: it named the
true count most often, docs/label-free.md), the silhouette in the embedding, a Gaussian mixture's BIC and the
elbow of the k-means inertia; say where they agree and where one peaks at the edge of the range scanned."""
from __future__ import annotations

from dataclasses import dataclass, field
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


@dataclass(frozen=True)
class Criterion:
    """One reading of a scan: its `name`, the count it picks (`best`), how it picks it (`rule`: "highest",
    "lowest" or "elbow"), the counts scanned (`ks`), its value at each (`values`) and what the page and the
    chart call its pick (`label`: "Highest UMAP silhouette")."""

    name: str
    best: int
    rule: str
    ks: tuple
    values: tuple = ()
    label: str = ""

    @property
    def at_edge(self) -> bool:
        """Whether it picks the smallest or the largest count scanned: its true best may lie outside the range
        (an elbow never sits at an end, except on a straight curve, which has none)."""
        return self.rule != "elbow" and len(self.ks) > 2 and self.best in (self.ks[0], self.ks[-1])

    @property
    def edge_note(self) -> str:
        """"The GMM BIC is lowest at 15, the largest count tried: try a wider range." ("" inside the range)."""
        if not self.at_edge:
            return ""
        rule = "highest" if self.rule == "highest" else "lowest"
        if self.best == self.ks[-1]:
            return f"The {self.name} is {rule} at {self.best}, the largest count tried: try a wider range."
        wider = ": try a wider range" if self.ks[0] > 2 else " (fewer clusters cannot be scored)"
        return f"The {self.name} is {rule} at {self.best}, the smallest count tried{wider}."


@dataclass
class ClusterCountSweep:
    """Scores per cluster count. `umap_silhouette` (None when the run has no 2-D UMAP projection): the
    silhouette of k-means clusters of the run's 2-D UMAP picture; `silhouette` that of k-means clusters of the
    embedding; `bic` a Gaussian mixture's BIC; `inertia` the k-means inertia. `suggested` is the count of
    the first of :attr:`criteria` (the UMAP silhouette when there is one, else the silhouette); `bic_best` the
    count with the lowest BIC; `elbow` the elbow of the inertia (:func:`elbow_count`); `note` says what was
    sampled or reduced."""

    ks: list
    silhouette: list
    bic: list
    inertia: list
    suggested: int
    bic_best: int
    n_samples: int
    n_features: int
    note: str = ""
    umap_silhouette: Optional[list] = None

    @property
    def elbow(self) -> int:
        """The count at the elbow of the inertia curve (:func:`elbow_count`)."""
        return elbow_count(self.ks, self.inertia)

    @property
    def criteria(self) -> list[Criterion]:
        """Every criterion of the scan, the one the suggestion follows first."""
        ks = tuple(self.ks)
        found = [Criterion("silhouette in the embedding", _best(ks, self.silhouette, max), "highest", ks,
                           tuple(self.silhouette), "Highest silhouette"),
                 Criterion("GMM BIC", self.bic_best, "lowest", ks, tuple(self.bic), "Lowest GMM BIC"),
                 Criterion("elbow of the inertia", self.elbow, "elbow", ks, tuple(self.inertia),
                           "Elbow of the inertia")]
        if self.umap_silhouette is not None:
            found.insert(0, Criterion("UMAP silhouette", _best(ks, self.umap_silhouette, max), "highest", ks,
                                      tuple(self.umap_silhouette), "Highest UMAP silhouette"))
        return found

    @property
    def criterion(self) -> str:
        """"highest UMAP silhouette": what the suggestion follows."""
        return f"highest {self.criteria[0].name}"

    @property
    def suggestion(self) -> str:
        """"Suggested: 10 clusters (highest UMAP silhouette)." """
        return f"Suggested: {self.suggested} clusters ({self.criterion})."

    @property
    def agreement(self) -> str:
        """How much the criteria agree on the suggestion: "2 of 4 criteria suggest 10 (UMAP silhouette, GMM BIC);
        the silhouette in the embedding suggests 2, the elbow of the inertia 6." """
        criteria = self.criteria
        agree = [c.name for c in criteria if c.best == self.suggested]
        others = [c for c in criteria if c.best != self.suggested]
        if not others:
            return f"All {len(criteria)} criteria suggest {self.suggested}."
        head = (f"{len(agree)} of {len(criteria)} criteria suggest {self.suggested} ({', '.join(agree)})"
                if len(agree) > 1 else f"Only the {agree[0]} suggests {self.suggested}" if agree
                else f"No criterion suggests {self.suggested}")
        rest = [f"the {others[0].name} suggests {others[0].best}"] + [f"the {c.name} {c.best}" for c in others[1:]]
        return f"{head}; {', '.join(rest)}."

    @property
    def edge_notes(self) -> list[str]:
        """A sentence for each criterion that peaks at the edge of the range scanned."""
        return [c.edge_note for c in self.criteria if c.at_edge]


def _best(ks, values, pick) -> int:
    """The count whose value is best by `pick` (max or min), nan values left out."""
    values = np.asarray(values, dtype=float)
    position = np.nanargmax(values) if pick is max else np.nanargmin(values)
    return int(ks[int(position)])


def sweep_cluster_counts(embedding, ks: Sequence[int] = range(2, 21), *, umap_points=None,
                         max_samples: int = SWEEP_MAX_SAMPLES, random_state: int = 0,
                         callback: Optional[ProgressCallback] = None) -> ClusterCountSweep:
    """For each k in `ks`: k-means (inertia, silhouette of its labels) and a Gaussian mixture (BIC) on the
    embedding, and, given `umap_points` (the run's 2-D UMAP projection, one point per row of `embedding`),
    k-means on those points and the silhouette of its clusters there (the UMAP silhouette).

    Runs on a random sample of at most `max_samples` points; embeddings with more than 50 features
    are reduced to 20 PCA components for the mixture (full covariances), which keeps it to seconds.
    The callback may raise :class:`core.progress.TrainingCancelled` to stop between counts.

    Raises
    ------
    ValueError
        If `ks` is empty, holds a count below 2, or asks for more clusters than there are points, or if
        `umap_points` are not one 2-D point per row of the embedding.
    """
    X = np.asarray(embedding, dtype=np.float64).reshape(len(embedding), -1)
    ks = sorted({int(k) for k in ks})
    if not ks or ks[0] < 2:
        raise ValueError("cluster counts to try must be integers of at least 2.")
    if not np.all(np.isfinite(X)):
        raise ValueError("the embedding contains NaN or infinite values.")
    picture = None if umap_points is None else np.asarray(umap_points, dtype=np.float64)
    if picture is not None and (picture.shape != (len(X), 2) or not np.all(np.isfinite(picture))):
        raise ValueError(f"the UMAP picture must be one finite 2-D point per image ({len(X):,}); "
                         f"got an array of shape {picture.shape}.")
    notes = []
    if len(X) > max_samples:
        rows = np.sort(np.random.default_rng(random_state).choice(len(X), max_samples, replace=False))
        X, picture = X[rows], None if picture is None else picture[rows]
        notes.append(f"a random sample of {max_samples:,} of {len(embedding):,} points")
    if ks[-1] >= len(X):
        raise ValueError(f"cannot try {ks[-1]} clusters on {len(X)} points: lower the largest count.")
    reduced = X
    if X.shape[1] > SWEEP_MAX_FEATURES:
        reduced = PCA(SWEEP_MAX_FEATURES, random_state=random_state).fit_transform(X)
        notes.append(f"the mixture fitted on {SWEEP_MAX_FEATURES} PCA components of {X.shape[1]} features")
    report = PhaseReporter(callback, "sweep")
    silhouettes, bics, inertias, umap_silhouettes = [], [], [], []
    for i, k in enumerate(ks):
        report(f"Trying {k} clusters ({i + 1} of {len(ks)})", i / len(ks))
        kmeans = KMeans(k, n_init=3, random_state=random_state).fit(X)
        inertias.append(float(kmeans.inertia_))
        silhouettes.append(_silhouette(X, kmeans.labels_))
        gmm = GaussianMixture(k, covariance_type="full", reg_covar=1e-4, random_state=random_state).fit(reduced)
        bics.append(float(gmm.bic(reduced)))
        if picture is not None:
            in_picture = KMeans(k, n_init=3, random_state=random_state).fit_predict(picture)
            umap_silhouettes.append(_silhouette(picture, in_picture))
    report("Sweep done", 1.0)
    sweep = ClusterCountSweep(ks=ks, silhouette=silhouettes, bic=bics, inertia=inertias, suggested=ks[0],
                              bic_best=ks[int(np.argmin(bics))], n_samples=len(X), n_features=X.shape[1],
                              note="; ".join(notes), umap_silhouette=umap_silhouettes if picture is not None else None)
    sweep.suggested = sweep.criteria[0].best
    return sweep


def _silhouette(points: np.ndarray, labels: np.ndarray) -> float:
    return float(silhouette_score(points, labels)) if len(np.unique(labels)) > 1 else np.nan


@dataclass(frozen=True)
class ClusterCountScan(RunEmbeddingTask):
    """The cluster-count scan as a task for the training process (the web server runs no k-means) on a
    run's embedding (:class:`core.tasks.RunEmbeddingTask`). `run(store, callback)` returns the
    :class:`ClusterCountSweep`."""

    ks: tuple
    random_state: int = 0
    # The run's 2-D UMAP projection (a few hundred kilobytes at most), for the UMAP silhouette; None leaves it out.
    umap_points: Optional[np.ndarray] = field(default=None, repr=False, compare=False)

    @property
    def title(self) -> str:
        return f"the cluster-count scan{self.of_run} ({self.ks[0]} to {self.ks[-1]} clusters)"

    def run(self, store, callback: Optional[ProgressCallback] = None) -> ClusterCountSweep:
        return sweep_cluster_counts(self.load_embedding(store), self.ks, umap_points=self.umap_points,
                                    random_state=self.random_state, callback=callback)
