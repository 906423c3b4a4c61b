"""Comparing runs: a flat table of records, matched cluster colours and agreement between two labellings."""
from __future__ import annotations

import itertools
from typing import Sequence

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment
from sklearn.metrics import adjusted_rand_score
from sklearn.metrics.cluster import contingency_matrix

METRICS = ("ACC", "NMI", "ARI", "Purity", "Silhouette")


def runs_table(records: Sequence) -> pd.DataFrame:
    """One row per run: id, name, status, dataset, algorithm, images, k, every parameter (as `p:<name>`
    columns), metrics, duration and tags; newest first as given."""
    from core.algorithms import ALGORITHMS

    rows = []
    for record in records:
        config = record.config
        spec = ALGORITHMS.get(record.algorithm)
        row = {
            "id": record.id, "name": record.name, "status": record.status, "dataset": record.dataset,
            "algorithm": spec.title if spec else record.algorithm, "images": record.n_samples,
            "k": record.n_clusters if record.n_clusters is not None else config.n_clusters,
        }
        params = {p.name: p.default for p in spec.params} if spec else {}  # CLI runs may give only some
        params.update(config.params)
        row.update({f"p:{name}": _cell(value) for name, value in sorted(params.items())})
        row["p:seed"] = config.seed
        row["p:preprocessing"] = config.preprocessing
        row.update(record.scores)
        row["seconds"] = None if record.duration is None else round(record.duration, 1)
        row["started"] = record.started_at.replace("T", " ")[:19]
        row["tags"] = ", ".join(record.tags)
        row["sweep"] = record.sweep_id
        rows.append(row)
    table = pd.DataFrame(rows)
    if table.empty:
        return pd.DataFrame(columns=["id", "name", "status", "dataset", "algorithm", "images", "k", *METRICS,
                                     "seconds", "started", "tags", "sweep"])
    front = ["id", "name", "status", "dataset", "algorithm", "images", "k"]
    params = sorted(c for c in table.columns if c.startswith("p:"))
    rest = [c for c in table.columns if c not in front and c not in params]
    return table[front + params + rest]


def _cell(value):
    """A parameter value as a table cell: numbers stay numbers, the rest becomes text."""
    if value is None or isinstance(value, (bool, str)):
        return "auto" if value is None else str(value)
    if isinstance(value, (int, float, np.integer, np.floating)):
        return value
    return str(tuple(value)) if isinstance(value, (list, tuple)) else str(value)


def hyperparameter_columns(table: pd.DataFrame) -> list[str]:
    """Parameter columns that vary across the rows of `table` (those worth comparing)."""
    columns = [c for c in table.columns if c.startswith("p:")] + ["k", "images"]
    return [c for c in columns if c in table and table[c].astype(str).nunique(dropna=False) > 1]


def match_clusters(reference, other) -> dict:
    """Map each cluster of `other` to the cluster of `reference` it overlaps most, one to one
    (Hungarian matching); clusters of `other` left over get fresh ids after the reference's."""
    reference, other = np.asarray(reference), np.asarray(other)
    if reference.shape != other.shape:
        raise ValueError(f"the two runs clustered different images ({len(reference):,} and {len(other):,}); "
                         "matching needs the same images in the same order.")
    ref_ids, other_ids = np.unique(reference), np.unique(other)
    counts = contingency_matrix(other, reference)
    rows, cols = linear_sum_assignment(counts, maximize=True)
    mapping = {int(other_ids[r]): int(ref_ids[c]) for r, c in zip(rows, cols)}
    if -1 in other_ids:
        mapping[-1] = -1  # noise stays noise
    spare = itertools.count(int(ref_ids.max()) + 1)
    for cluster in other_ids.tolist():
        if cluster not in mapping:
            mapping[cluster] = next(spare)
    return mapping


def relabel(labels, mapping: dict) -> np.ndarray:
    return np.array([mapping[int(label)] for label in np.asarray(labels)], dtype=np.int64)


def agreement(labels_a, labels_b) -> float:
    """Adjusted Rand index between two runs' labellings of the same images (1 = identical partitions)."""
    labels_a, labels_b = np.asarray(labels_a), np.asarray(labels_b)
    if labels_a.shape != labels_b.shape:
        raise ValueError(f"the two runs clustered different images ({len(labels_a):,} and {len(labels_b):,}).")
    return float(adjusted_rand_score(labels_a, labels_b))
