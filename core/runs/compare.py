"""Comparing runs: a flat table of records, matched cluster colours and agreement between two labellings."""
from __future__ import annotations

import math
from typing import Optional, Sequence

import numpy as np
import pandas as pd
from sklearn.metrics import adjusted_rand_score

from core.metrics import match_clusters, relabel  # noqa: F401  (one home: core.metrics)
from core.vocabulary import METRICS, format_value, preprocessing_label, setting_label


def runs_table(records: Sequence) -> pd.DataFrame:
    """One row per run: id, name, status, dataset, algorithm, images, k, the algorithm parameters it used
    (as `p:<name>` columns; empty where a run did not use one, e.g. a latent size on pixel k-means),
    metrics, the silhouette's space, duration, start and tags; newest first as given."""
    from core.algorithms import ALGORITHMS
    from core.vocabulary import used_params

    rows = []
    for record in records:
        config = record.config
        spec = ALGORITHMS.get(record.algorithm)
        row = {
            "id": record.id, "name": record.name, "status": record.status, "dataset": record.dataset,
            "algorithm": spec.title if spec else record.algorithm, "images": record.n_samples,
            "k": record.n_clusters if record.n_clusters is not None else config.n_clusters,
        }
        row.update({f"p:{name}": _cell(value) for name, value in used_params(record.algorithm, config.params).items()})
        row["p:seed"] = config.seed
        row["p:preprocessing"] = config.preprocessing
        row.update(record.scores)
        row["silhouette space"] = record.silhouette_space if record.scores.get("Silhouette") is not None else None
        row["seconds"] = None if record.duration is None else round(record.duration, 1)
        row["started"] = record.started_at.replace("T", " ")[:19]
        row["tags"] = ", ".join(record.tags)
        row["sweep"] = record.sweep_id
        rows.append(row)
    table = pd.DataFrame(rows)
    if table.empty:
        return pd.DataFrame(columns=["id", "name", "status", "dataset", "algorithm", "images", "k", *METRICS,
                                     "silhouette space", "seconds", "started", "tags", "sweep"])
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
    """Parameter columns whose value varies among the rows of `table` that use them (a parameter only
    some runs use, and that is the same in all of those, is not "varying")."""
    columns = [c for c in table.columns if c.startswith("p:")] + ["k", "images"]
    return [c for c in columns if c in table and table[c].dropna().astype(str).nunique() > 1]


def silhouette_spaces(table: pd.DataFrame) -> list[str]:
    """The different spaces the silhouettes of `table`'s runs were computed in (more than one: do not
    compare them)."""
    if "silhouette space" not in table:
        return []
    return sorted(table["silhouette space"].dropna().unique().tolist())


def default_rank_metric(table: pd.DataFrame) -> str:
    """The metric a leaderboard of `table` ranks by unless told: NMI when the runs have true labels
    (it is steadier than accuracy), else the silhouette, else the first metric any run has."""
    present = [m for m in METRICS if m in table and table[m].notna().any()]
    for metric in ("NMI", "Silhouette"):
        if metric in present:
            return metric
    return present[0] if present else "NMI"


def leaderboard(table: pd.DataFrame, metric: str, settings: Sequence[str] = ()) -> pd.DataFrame:
    """`table`'s runs best first by `metric` (higher is better; runs without it last), as the pages show
    them: rank (ties share one), best (rank 1), run ("#id name"), algorithm, the metrics in
    :data:`METRICS` order, duration in seconds, then each column of `settings` headed by its label
    (see :func:`column_label`; "-" where a run did not use it), and the silhouette's space when the
    runs' silhouettes come from more than one space."""
    ordered = table.assign(_score=pd.to_numeric(table[metric], errors="coerce") if metric in table else np.nan)
    ordered = ordered.sort_values(["_score", "id"], ascending=[False, True], na_position="last", kind="stable")
    rank = ordered["_score"].rank(method="min", ascending=False)
    board = pd.DataFrame({
        "Rank": rank.astype("Int64"),
        "Best": (rank == 1).to_numpy(),
        "Run": [f"#{i} {n}" for i, n in zip(ordered["id"], ordered["name"])],
        "Algorithm": ordered["algorithm"].to_numpy(),
    })
    for name in METRICS:
        if name in ordered and ordered[name].notna().any():
            board[name] = ordered[name].astype(float).to_numpy()
    board["Duration (s)"] = pd.to_numeric(ordered["seconds"], errors="coerce").to_numpy()
    for column in settings:
        if column == "algorithm":
            continue
        values = ordered[column]
        numeric = pd.to_numeric(values.dropna(), errors="coerce").notna().all()
        board[column_label(column, table)] = (values.to_numpy() if numeric and column != "p:preprocessing"
                                              else [value_text(column, v) for v in values])
    if len(silhouette_spaces(ordered)) > 1:
        board["Silhouette space"] = ordered["silhouette space"].fillna("-").to_numpy()
    return board.reset_index(drop=True)


def column_label(column: str, table: Optional[pd.DataFrame] = None) -> str:
    """What the user sees for a column of :func:`runs_table`: "Number of clusters" for `k`, "Images",
    "Algorithm", "Duration (s)", a parameter's label for `p:<name>` (the label the algorithms using it
    among `table`'s runs give it when they agree, else its plain shared label), metrics as they are."""
    fixed = {"k": "n_clusters", "images": "images", "algorithm": "algorithm"}
    if column in fixed:
        return setting_label(fixed[column])
    if column == "seconds":
        return "Duration (s)"
    if column == "silhouette space":
        return "Silhouette space"
    if not column.startswith("p:"):
        return column
    name = column[2:]
    if table is not None and column in table and "algorithm" in table:
        users = algorithm_names(table.loc[table[column].notna(), "algorithm"])
        labels = {setting_label(name, algorithm) for algorithm in users}
        if len(labels) == 1:
            return labels.pop()
    return setting_label(name)


def algorithm_names(titles) -> list[str]:
    """Registry names of the algorithms whose titles (the table's "algorithm" column) are `titles`."""
    from core.algorithms import ALGORITHMS

    by_title = {spec.title: name for name, spec in ALGORITHMS.items()}
    return sorted({by_title.get(t, t) for t in titles})


def value_text(column: str, value) -> str:
    """A cell of the runs table as the pages print it ("-" where the run did not use the setting)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if column == "p:preprocessing":
        return preprocessing_label(str(value))
    if column in METRICS:
        return f"{float(value):.3f}"
    return format_value(value.item() if isinstance(value, np.generic) else value)


def agreement(labels_a, labels_b) -> float:
    """Adjusted Rand index between two runs' labellings of the same images (1 = identical partitions)."""
    labels_a, labels_b = np.asarray(labels_a), np.asarray(labels_b)
    if labels_a.shape != labels_b.shape:
        raise ValueError(f"the two runs clustered different images ({len(labels_a):,} and {len(labels_b):,}).")
    return float(adjusted_rand_score(labels_a, labels_b))
