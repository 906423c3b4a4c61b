"""Comparing runs: a flat table of records, matched cluster colours and agreement between two labellings."""
from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd
from sklearn.metrics import adjusted_rand_score

from core.algorithms import ALGORITHMS
from core.metrics import METRICS, RANKING_METRICS
from core.vocabulary import column_label, used_params, value_text


def runs_table(records: Sequence) -> pd.DataFrame:
    """One row per run: id, name, status, dataset, algorithm, images, k, the algorithm parameters it used
    (as `p:<name>` columns; empty where a run did not use one, e.g. a latent size on pixel k-means),
    metrics, the silhouette's space, duration, start, tags, sweep and the run a hand correction was derived
    from; newest first as given."""
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
        row["derived from"] = record.parent_id
        rows.append(row)
    table = pd.DataFrame(rows)
    if table.empty:
        return pd.DataFrame(columns=["id", "name", "status", "dataset", "algorithm", "images", "k", *METRICS,
                                     "silhouette space", "seconds", "started", "tags", "sweep", "derived from"])
    front = ["id", "name", "status", "dataset", "algorithm", "images", "k"]
    params = sorted(c for c in table.columns if c.startswith("p:"))
    rest = [c for c in table.columns if c not in front and c not in params]
    return table[front + params + rest]


def filter_runs(table: pd.DataFrame, *, search: str = "", datasets: Sequence[str] = (),
                algorithms: Sequence[str] = (), statuses: Sequence[str] = (), tags: Sequence[str] = ()) -> pd.DataFrame:
    """The rows of a runs_table whose name contains `search` (any case) and that match every non-empty
    choice: one of `datasets`, `algorithms` (titles) and `statuses`, and at least one of `tags`."""
    shown = table
    if search:
        shown = shown[shown["name"].str.contains(search, case=False, regex=False)]
    for column, chosen in (("dataset", datasets), ("algorithm", algorithms), ("status", statuses)):
        if chosen:
            shown = shown[shown[column].isin(chosen)]
    if tags:
        shown = shown[shown["tags"].apply(lambda text: bool(set(text.split(", ")) & set(tags)))]
    return shown


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
    for metric in RANKING_METRICS:
        if metric in present:
            return metric
    return present[0] if present else RANKING_METRICS[0]


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


def agreement(labels_a, labels_b) -> float:
    """Adjusted Rand index between two runs' labellings of the same images (1 = identical partitions)."""
    labels_a, labels_b = np.asarray(labels_a), np.asarray(labels_b)
    if labels_a.shape != labels_b.shape:
        raise ValueError(f"the two runs clustered different images ({len(labels_a):,} and {len(labels_b):,}).")
    return float(adjusted_rand_score(labels_a, labels_b))
