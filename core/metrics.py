"""Clustering quality: accuracy with Hungarian matching, NMI, ARI, purity and silhouette.

Hungarian matching lives here once (:func:`hungarian_matching`): ACC, the heatmap's row order, the
colours shared by clusters and true labels, and the matching of two runs' clusters all use it.
"""
from __future__ import annotations

import itertools
from dataclasses import asdict, dataclass
from typing import Optional

import numpy as np
from scipy.optimize import linear_sum_assignment
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score, silhouette_score
from sklearn.metrics.cluster import contingency_matrix

SILHOUETTE_MAX_SAMPLES = 5000

# The metrics, in the order every table and chart shows them (their one-line meanings: core.vocabulary).
UMAP_SILHOUETTE = "UMAP silhouette"
METRICS = ("ACC", "NMI", "ARI", "Purity", "Silhouette", UMAP_SILHOUETTE)
LABEL_METRICS = ("ACC", "NMI", "ARI", "Purity")  # the ones that need true labels
# What runs are ranked by unless a person chooses: NMI where there are true labels (steadier than ACC), else
# the UMAP silhouette (on one map of the images, core.experiment.umap_silhouette), which needs none and tracked
# NMI best of the scores without labels measured (Spearman +0.77 to +0.93 on three sets of real digits,
# docs/label-free.md); else (runs made without a UMAP projection) the silhouette in the clustering's own space.
RANKING_METRICS = ("NMI", UMAP_SILHOUETTE, "Silhouette")
# The few a compact table (a sweep's progress) shows: the ranking ones and ACC, the papers' headline.
HEADLINE_METRICS = ("NMI", "ACC", "Silhouette", UMAP_SILHOUETTE)


def _check_pair(labels_true, labels_pred) -> tuple[np.ndarray, np.ndarray]:
    labels_true = np.asarray(labels_true)
    labels_pred = np.asarray(labels_pred)
    if labels_true.ndim != 1 or labels_pred.ndim != 1:
        raise ValueError("labels must be one-dimensional arrays.")
    if len(labels_true) != len(labels_pred):
        raise ValueError(
            f"labels_true and labels_pred differ in length: {len(labels_true)} != {len(labels_pred)}."
        )
    if len(labels_true) == 0:
        raise ValueError("cannot score an empty labelling.")
    return labels_true, labels_pred


def contingency(labels_true, labels_pred) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Counts of samples per (cluster, true label).

    Returns ``(counts, clusters, classes)`` where ``counts[i, j]`` is the number of samples of
    cluster ``clusters[i]`` whose true label is ``classes[j]``.
    """
    labels_true, labels_pred = _check_pair(labels_true, labels_pred)
    clusters = np.unique(labels_pred)
    classes = np.unique(labels_true)
    return contingency_matrix(labels_pred, labels_true), clusters, classes


def _matched_cells(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(rows, columns) of the one-to-one matching of a contingency table's rows to its columns that
    maximises the counts matched: the one call of the Hungarian algorithm."""
    return linear_sum_assignment(counts, maximize=True)


def hungarian_matching(source, target) -> dict:
    """The one-to-one map from the ids of labelling `source` to those of `target` (same samples) that
    maximises the samples they share (Hungarian algorithm). Ids left over on the larger side are absent."""
    counts, source_ids, target_ids = contingency(target, source)
    rows, cols = _matched_cells(counts)
    return {source_ids[r].item(): target_ids[c].item() for r, c in zip(rows, cols)}


def match_labels(labels_true, labels_pred) -> dict:
    """The one-to-one map cluster -> true label maximising agreement (Hungarian algorithm).

    Clusters left unmatched (more clusters than classes) are absent from the map.
    """
    return hungarian_matching(labels_pred, labels_true)


def match_clusters(reference, other) -> dict:
    """Map every id of labelling `other` onto the ids of `reference` (same samples): matched one to one
    by the Hungarian algorithm; noise (-1) stays -1; ids left over get fresh ids after the reference's.

    Used to give two runs' clusters, or true labels and clusters, the same colours.
    """
    reference, other = np.asarray(reference), np.asarray(other)
    if reference.shape != other.shape:
        raise ValueError(f"the two labellings cover different images ({len(reference):,} and {len(other):,}); "
                         "matching needs the same images in the same order.")
    keep = (reference != -1) & (other != -1)
    mapping = hungarian_matching(other[keep], reference[keep]) if keep.any() else {}
    if -1 in other:
        mapping[-1] = -1  # noise stays noise
    spare = itertools.count(int(max(reference.max(initial=-1), -1)) + 1)
    for cluster in np.unique(other).tolist():
        if cluster not in mapping:
            mapping[cluster] = next(spare)
    return mapping


def relabel(labels, mapping: dict) -> np.ndarray:
    """`labels` with every id replaced by `mapping[id]`."""
    return np.array([mapping[int(label)] for label in np.asarray(labels)], dtype=np.int64)


def contingency_in_matched_order(labels_true, labels_pred) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`contingency` with clusters (rows) ordered by the class each is matched to, so that
    agreement shows as a diagonal; unmatched clusters come last."""
    counts, clusters, classes = contingency(labels_true, labels_pred)
    matched = match_labels(labels_true, labels_pred)
    column = {c: i for i, c in enumerate(classes.tolist())}
    order = sorted(range(len(clusters)), key=lambda r: column.get(matched.get(clusters[r].item()), len(classes)))
    return counts[order], clusters[order], classes


def clustering_accuracy(labels_true, labels_pred) -> float:
    """Best accuracy over one-to-one matchings of clusters to classes (1.0 for any relabelling of the truth)."""
    counts, _, _ = contingency(labels_true, labels_pred)
    rows, cols = _matched_cells(counts)
    return float(counts[rows, cols].sum() / counts.sum())


def purity(labels_true, labels_pred) -> float:
    """Fraction of samples belonging to the majority class of their cluster."""
    counts, _, _ = contingency(labels_true, labels_pred)
    return float(counts.max(axis=1).sum() / counts.sum())


def nmi(labels_true, labels_pred) -> float:
    """Normalised mutual information (arithmetic normalisation, as scikit-learn's default)."""
    labels_true, labels_pred = _check_pair(labels_true, labels_pred)
    return float(normalized_mutual_info_score(labels_true, labels_pred))


def ari(labels_true, labels_pred) -> float:
    """Adjusted Rand index."""
    labels_true, labels_pred = _check_pair(labels_true, labels_pred)
    return float(adjusted_rand_score(labels_true, labels_pred))


def stability(labelings) -> float:
    """Mean adjusted Rand index over every pair of `labelings` of the same images (at least two): 1.0 when
    they all agree up to renaming the clusters, about 0 when they agree no more than chance. Needs no
    true labels: a setting whose seeds keep finding the same clusters is more to be trusted.

    Raises ValueError for fewer than two labellings, or labellings of different lengths.

    Examples
    --------
    >>> stability([np.array([0, 0, 1, 1]), np.array([1, 1, 0, 0])])
    1.0
    """
    labelings = [np.asarray(labels) for labels in labelings]
    if len(labelings) < 2:
        raise ValueError(f"stability needs at least two labellings of the same images; got {len(labelings)}.")
    lengths = {len(labels) for labels in labelings}
    if len(lengths) > 1 or any(labels.ndim != 1 for labels in labelings):
        raise ValueError("the labellings cover different images (lengths "
                         f"{', '.join(f'{len(labels):,}' for labels in labelings)}); stability needs the same "
                         "images in the same order.")
    pairs = itertools.combinations(labelings, 2)
    return float(np.mean([adjusted_rand_score(a, b) for a, b in pairs]))


@dataclass(frozen=True)
class Silhouette:
    """A silhouette score with how it was computed; `score` is None when it is undefined (`reason` says why)."""

    score: Optional[float]
    n_samples: int
    n_total: int
    reason: str = ""
    space: str = ""   # where it was computed, e.g. "autoencoder embedding (10-d)" ("" in older records)

    @property
    def sampled(self) -> bool:
        return self.n_samples < self.n_total


def silhouette(embedding, labels, *, max_samples: int = SILHOUETTE_MAX_SAMPLES, random_state: int = 0,
               space: str = "") -> Silhouette:
    """Silhouette of `labels` in `embedding` (Euclidean), on a random sample of at most `max_samples` points.

    Noise points (label -1) are left out. Undefined (score None) with fewer than two clusters or
    when every point is its own cluster.
    """
    embedding = np.asarray(embedding, dtype=np.float64).reshape(len(embedding), -1)
    labels = np.asarray(labels)
    if len(embedding) != len(labels):
        raise ValueError(f"embedding and labels differ in length: {len(embedding)} != {len(labels)}.")
    keep = labels != -1
    embedding, labels = embedding[keep], labels[keep]
    n_total = len(labels)
    n_clusters = len(np.unique(labels))
    if n_clusters < 2:
        return Silhouette(None, 0, n_total, "the silhouette needs at least two clusters.", space)
    if n_clusters >= n_total:
        return Silhouette(None, 0, n_total, "the silhouette is undefined when every sample is its own cluster.",
                          space)
    n_used = min(n_total, max_samples)
    if n_used < n_total:
        positions = np.random.default_rng(random_state).choice(n_total, size=n_used, replace=False)
        embedding, labels = embedding[positions], labels[positions]
        if len(np.unique(labels)) < 2:
            return Silhouette(None, n_used, n_total, "the sample drawn holds a single cluster.", space)
    return Silhouette(float(silhouette_score(embedding, labels)), n_used, n_total, space=space)


@dataclass(frozen=True)
class MetricReport:
    """All scores of one clustering. External scores are None when there are no true labels (see `note`)."""

    silhouette: Silhouette
    accuracy: Optional[float] = None
    nmi: Optional[float] = None
    ari: Optional[float] = None
    purity: Optional[float] = None
    n_clusters_found: int = 0
    note: str = ""
    # The UMAP silhouette: the silhouette on a 2-D UMAP map of the run's images (core.experiment.umap_silhouette;
    # its `reason` says why it is empty for a run projected with PCA or not at all); None in older records.
    umap_silhouette: Optional[Silhouette] = None

    def as_dict(self) -> dict:
        """Flat mapping of metric name to value (None where undefined), in the order of `METRICS`."""
        umap_score = self.umap_silhouette.score if self.umap_silhouette is not None else None
        return dict(zip(METRICS, (self.accuracy, self.nmi, self.ari, self.purity, self.silhouette.score, umap_score)))

    def to_record(self) -> dict:
        return asdict(self)


def metric_report_from_record(record: dict) -> MetricReport:
    """The MetricReport saved by :meth:`MetricReport.to_record` (e.g. read back from the run store).

    Raises ValueError naming the first field that is not of its kind (a score that is not a number from -1
    to 1 or empty, a count that is not a whole number, a note that is not text): a record edited by hand
    must be refused where it is read, not raise later on the page that draws it.
    """
    if not isinstance(record, dict) or not isinstance(record.get("silhouette"), dict):
        raise ValueError("the scores are not a table of named values with a silhouette.")
    known = set(MetricReport.__dataclass_fields__)
    fields = {k: v for k, v in record.items() if k in known}
    for name in ("accuracy", "nmi", "ari", "purity"):
        _check_score(name, fields.get(name))
    value = fields.get("n_clusters_found", 0)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**62:
        raise ValueError(f"the score n_clusters_found must be a whole number; got {value!r}.")
    if not isinstance(fields.get("note", ""), str) or len(fields.get("note", "")) > 2000:
        raise ValueError(f"the score's note must be a short text; got a {type(fields['note']).__name__}.")
    fields["silhouette"] = _silhouette_from_record("silhouette", record["silhouette"])
    if fields.get("umap_silhouette") is not None:  # absent from records made before it was kept
        fields["umap_silhouette"] = _silhouette_from_record("umap_silhouette", fields["umap_silhouette"])
    return MetricReport(**fields)


def _silhouette_from_record(name: str, record) -> Silhouette:
    """The :class:`Silhouette` saved under `name` (a table of its fields); ValueError naming the first field
    that is not of its kind."""
    if not isinstance(record, dict):
        raise ValueError(f"the score {name} is not a table of named values.")
    fields = {k: v for k, v in record.items() if k in Silhouette.__dataclass_fields__}
    if "score" not in fields:
        raise ValueError(f"the {name} has no score (not even an empty one).")
    _check_score(name, fields.get("score"))
    for part in ("n_samples", "n_total"):
        value = fields.get(part)
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**62:
            raise ValueError(f"the score {name}.{part} must be a whole number; got {value!r}.")
    for part in ("reason", "space"):
        value = fields.get(part, "")
        if not isinstance(value, str) or len(value) > 2000:
            raise ValueError(f"the score's {name}.{part} must be a short text; got a {type(value).__name__}.")
    return Silhouette(**fields)


def _check_score(name: str, value) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not -1.0 <= value <= 1.0:
        raise ValueError(f"the score {name} must be a number from -1 to 1, or empty; got {value!r}.")


def evaluate(labels_pred, embedding, labels_true=None, *, silhouette_max_samples: int = SILHOUETTE_MAX_SAMPLES,
             random_state: int = 0, space: str = "") -> MetricReport:
    """Score a clustering: silhouette always (in `embedding`, described as `space`), ACC / NMI / ARI /
    purity when `labels_true` is given."""
    labels_pred = np.asarray(labels_pred)
    sil = silhouette(embedding, labels_pred, max_samples=silhouette_max_samples, random_state=random_state,
                     space=space)
    n_found = int(len(np.unique(labels_pred[labels_pred != -1])))
    if labels_true is None:
        return MetricReport(
            silhouette=sil,
            n_clusters_found=n_found,
            note="This dataset has no true labels, so only the silhouettes (which need none) can be computed.",
        )
    return MetricReport(
        silhouette=sil,
        accuracy=clustering_accuracy(labels_true, labels_pred),
        nmi=nmi(labels_true, labels_pred),
        ari=ari(labels_true, labels_pred),
        purity=purity(labels_true, labels_pred),
        n_clusters_found=n_found,
    )
