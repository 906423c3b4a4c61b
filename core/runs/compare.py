"""Comparing runs: a flat table of records, runs grouped by the seed they differ in (mean and spread), and\nlabellings against each other (agreement, a cluster-by-cluster diff, a consensus)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score

from core.algorithms import ALGORITHMS
from core.metrics import METRICS, RANKING_METRICS, match_clusters, relabel
from core.vocabulary import column_label, run_name, used_params, value_text


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
    them: rank (ties share one), best (rank 1), run ("#id name"), algorithm, `metric`, the other metrics in
    :data:`METRICS` order, duration in seconds, then each column of `settings` headed by its label
    (see :func:`column_label`; "-" where a run did not use it), and the silhouette's space when the
    runs' silhouettes come from more than one space."""
    ordered = table.assign(_score=pd.to_numeric(table[metric], errors="coerce") if metric in table else np.nan)
    ordered = ordered.sort_values(["_score", "id"], ascending=[False, True], na_position="last", kind="stable")
    rank = ordered["_score"].rank(method="min", ascending=False)
    board = pd.DataFrame({
        "Rank": rank.astype("Int64"),
        "Best": (rank == 1).to_numpy(),
        "Run": [f"#{i} {run_name(n, i)}" for i, n in zip(ordered["id"], ordered["name"])],
        "Algorithm": ordered["algorithm"].to_numpy(),
    })
    for name in [metric, *(m for m in METRICS if m != metric)]:  # the ranking score first: seen on a narrow screen
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


# --------------------------------------------------------------------------- runs that differ only in seed

SEED = "p:seed"
SPREAD_COLUMNS = ("Mean", "SD", "Min", "Max")


def seed_group_ids(table: pd.DataFrame) -> pd.Series:
    """For each run of `table` (a :func:`runs_table`), the number of its seed group: the runs on the same
    dataset that share every setting but the seed (same algorithm, parameters, images, clusters and
    preprocessing), at least two of them with different seeds. Runs in no such group (and runs corrected by
    hand, whose labels no seed made) get <NA>. Groups are numbered 1, 2, ... from the oldest run up."""
    if table.empty:
        return pd.Series([], dtype="Int64")
    settings = [c for c in table.columns if c.startswith("p:") and c != SEED] + ["dataset", "algorithm", "images",
                                                                                   "k"]
    own = table["derived from"].isna() if "derived from" in table else pd.Series(True, index=table.index)
    keys = pd.Series(["|".join(map(str, row)) for row in zip(*(table[c] for c in settings))],
                     index=table.index).where(own)
    ordered = table.assign(_key=keys).sort_values("id")
    numbers, seen = {}, 0
    for key, rows in ordered.dropna(subset=["_key"]).groupby("_key", sort=False):
        if rows[SEED].nunique() >= 2:
            seen += 1
            numbers[key] = seen
    return keys.map(numbers).astype("Int64")


def seed_group_title(table: pd.DataFrame, ids: Sequence[int]) -> str:
    """"DEC · Latent size 10 · Number of clusters 10": the settings a seed group's runs share that tell it
    from the other runs of `table` (the algorithm always), in the form's words."""
    rows = table[table["id"].isin(ids)]
    first = rows.iloc[0]
    varying = [c for c in hyperparameter_columns(table) if c != SEED]
    parts = [str(first["algorithm"])] + [f"{column_label(c, table)} {value_text(c, first[c])}" for c in varying
                                         if value_text(c, first[c]) != "-"]
    return " · ".join(parts)


def seed_spread(table: pd.DataFrame, metrics: Sequence[str] = METRICS, *, singles: bool = False) -> pd.DataFrame:
    """One row per seed group of `table` (with `singles`, also one per run in no group): its title, runs,
    number of seeds, and for each metric (and the duration, "seconds") its mean, standard deviation (over the
    seeds, ddof=1; 0 for one run), min and max, as columns "<metric> Mean", "<metric> SD", ... Groups come in
    the order of their first run."""
    groups = seed_group_ids(table)
    rows = []
    for number, members in table.groupby(groups.fillna(-table["id"]).to_numpy(), sort=False):
        if number < 0 and not singles:
            continue
        ids = members["id"].astype(int).tolist()
        row = {"group": int(number) if number > 0 else None, "title": seed_group_title(table, ids)
               if number > 0 else f"#{ids[0]} {members['name'].iloc[0]}",
               "runs": ids, "seeds": sorted(members[SEED].dropna().astype(int).tolist()), "first": min(ids)}
        for metric in [*metrics, "seconds"]:
            values = pd.to_numeric(members[metric], errors="coerce").dropna() if metric in members else pd.Series([])
            row.update({f"{metric} Mean": values.mean() if len(values) else np.nan,
                        f"{metric} SD": values.std(ddof=1) if len(values) > 1 else 0.0 if len(values) else np.nan,
                        f"{metric} Min": values.min() if len(values) else np.nan,
                        f"{metric} Max": values.max() if len(values) else np.nan})
        rows.append(row)
    spread = pd.DataFrame(rows)
    return spread.sort_values("first", kind="stable").reset_index(drop=True) if len(spread) else spread


def group_leaderboard(table: pd.DataFrame, metric: str, metrics: Sequence[str] = METRICS) -> pd.DataFrame:
    """`table`'s seed groups (and its runs in no group, as groups of one) ranked by their mean `metric`, so
    that a lucky seed does not win: rank (ties share one), best, the setting, its number of seeds, the mean of
    `metric` and its spread (SD and min-max), the mean of each other metric, the mean duration and the runs."""
    spread = seed_spread(table, metrics, singles=True)
    present = [m for m in metrics if spread[f"{m} Mean"].notna().any()]
    ordered = spread.assign(_score=spread[f"{metric} Mean"]).sort_values(["_score", "first"],
                                                                         ascending=[False, True],
                                                                         na_position="last", kind="stable")
    rank = ordered["_score"].rank(method="min", ascending=False)
    board = pd.DataFrame({
        "Rank": rank.astype("Int64").to_numpy(), "Best": (rank == 1).to_numpy(),
        "Setting": ordered["title"].to_numpy(), "Seeds": [len(s) for s in ordered["runs"]],
    })
    # The ranking score and its spread first, so they show on a narrow screen; the other means after.
    for name in [metric, *(m for m in present if m != metric)]:
        board[name] = ordered[f"{name} Mean"].to_numpy()
        if name == metric:
            board[f"{metric} SD"] = ordered[f"{metric} SD"].to_numpy()
            board[f"{metric} min–max"] = [f"{lo:.3f}–{hi:.3f}" if pd.notna(lo) else "-"
                                          for lo, hi in zip(ordered[f"{metric} Min"], ordered[f"{metric} Max"])]
    board["Duration (s)"] = ordered["seconds Mean"].to_numpy()
    board["Runs"] = [", ".join(f"#{i}" for i in ids) for ids in ordered["runs"]]
    return board.reset_index(drop=True)


def fold_seed_groups(table: pd.DataFrame) -> pd.DataFrame:
    """`table` (a :func:`runs_table`, newest first) with each seed group folded into one row: the newest run's
    row (its id opens that run), named after the setting and its seeds, holding the mean of every metric and
    of the duration, and the sum of any "MB" column. Runs in no group are kept as they are."""
    groups = seed_group_ids(table)
    if groups.isna().all():
        return table
    rows = []
    for position, (index, row) in enumerate(table.iterrows()):
        number = groups.iloc[position]
        if pd.isna(number):
            rows.append(row)
            continue
        members = table[groups == number]
        if row["id"] != members["id"].max():
            continue  # folded into the group's newest run
        folded = row.copy()
        ids = sorted(members["id"].astype(int))
        folded["name"] = (f"{seed_group_title(table, ids)} · mean of {len(ids)} seeds "
                          f"({', '.join(f'#{i}' for i in ids)})")
        for column in [*METRICS, "seconds"]:
            if column in members:
                folded[column] = pd.to_numeric(members[column], errors="coerce").mean()
        if "MB" in members:
            folded["MB"] = members["MB"].sum()
        folded[SEED] = ", ".join(str(int(s)) for s in sorted(members[SEED].dropna()))
        rows.append(folded)
    return pd.DataFrame(rows, columns=table.columns).reset_index(drop=True)


def seed_summary(records: Sequence, run_id: int) -> Optional[pd.DataFrame]:
    """The scores of run `run_id` beside those of its seed group among `records` (finished runs): one row per
    metric it has, and one for the duration ("Time (s)"), with columns Metric, This run, Mean, SD, Min, Max,
    Seeds. None when no other run differs from it only in seed."""
    table = runs_table([r for r in records if r.status == "finished"])
    if table.empty or run_id not in set(table["id"]):
        return None
    groups = seed_group_ids(table)
    number = groups[table["id"] == run_id].iloc[0]
    if pd.isna(number):
        return None
    members = table[groups == number]
    this = table[table["id"] == run_id].iloc[0]
    rows = []
    for metric, label in [*((m, m) for m in METRICS), ("seconds", "Time (s)")]:
        values = pd.to_numeric(members[metric], errors="coerce").dropna()
        if pd.isna(this[metric]) or not len(values):
            continue
        rows.append({"Metric": label, "This run": float(this[metric]), "Mean": values.mean(),
                     "SD": values.std(ddof=1) if len(values) > 1 else 0.0, "Min": values.min(), "Max": values.max(),
                     "Seeds": len(values)})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- two labellings, and many

def agreement_matrix(labelings: Sequence) -> np.ndarray:
    """The ARI between every two of `labelings` (labellings of the same images): a symmetric matrix with
    ones on its diagonal."""
    n = len(labelings)
    matrix = np.eye(n)
    for i in range(n):
        for j in range(i + 1, n):
            matrix[i, j] = matrix[j, i] = agreement(labelings[i], labelings[j])
    return matrix


@dataclass
class Diff:
    """How run B's clusters relate to run A's, image by image (same images). `matched` maps each of B's
    cluster ids to A's id it overlaps most (Hungarian; B's clusters left over map to fresh ids);
    `flows` has one row per (A's cluster, B's cluster) pair that shares images, with its count;
    `changed` is True for an image whose B cluster is not the match of its A cluster."""

    left: np.ndarray
    right: np.ndarray
    matched: dict
    flows: pd.DataFrame
    changed: np.ndarray

    @property
    def n_changed(self) -> int:
        return int(self.changed.sum())

    def moves(self) -> list[tuple[int, int, np.ndarray]]:
        """(A's cluster, B's cluster, rows) for each pair the changed images moved between, largest first."""
        pairs = pd.DataFrame({"a": self.left[self.changed], "b": self.right[self.changed],
                              "row": np.flatnonzero(self.changed)})
        moves = [(int(a), int(b), rows["row"].to_numpy()) for (a, b), rows in pairs.groupby(["a", "b"])]
        return sorted(moves, key=lambda move: (-len(move[2]), move[0], move[1]))


def diff_labellings(left, right) -> Diff:
    """Run A's labelling `left` against run B's `right` (the same images, in the same order)."""
    left, right = np.asarray(left), np.asarray(right)
    if left.shape != right.shape:
        raise ValueError(f"the two runs clustered different images ({len(left):,} and {len(right):,}).")
    matched = match_clusters(left, right)
    flows = (pd.DataFrame({"from": left, "to": right}).value_counts().rename("count").reset_index()
             .sort_values(["from", "to"], kind="stable").reset_index(drop=True))
    changed = relabel(right, matched) != left
    return Diff(left, right, matched, flows, changed)


def consensus_labels(labelings: Sequence, n_clusters: int, *, seed: int = 0) -> np.ndarray:
    """A consensus of `labelings` (of the same images) in `n_clusters` clusters, by their co-association: two
    images are as far apart as the share of labellings that separate them. That distance is the squared
    Euclidean one between the images' concatenated one-hot cluster memberships (scaled by 1/sqrt(2m) for m
    labellings), so k-means on those rows clusters the co-association matrix without building it (n x n
    would not fit for 70,000 images)."""
    if len(labelings) < 2:
        raise ValueError("a consensus needs at least two runs.")
    labelings = [np.asarray(labels) for labels in labelings]
    if len({len(labels) for labels in labelings}) != 1:
        raise ValueError("the runs clustered different images, so they have no consensus.")
    if not 2 <= n_clusters < len(labelings[0]):
        raise ValueError(f"Number of clusters must be between 2 and {len(labelings[0]) - 1}; got {n_clusters}.")
    columns = [np.equal.outer(labels, np.unique(labels)) for labels in labelings]
    memberships = np.hstack(columns).astype(np.float32) / np.sqrt(2 * len(labelings))
    patterns, inverse, counts = np.unique(memberships, axis=0, return_inverse=True, return_counts=True)
    if len(patterns) <= n_clusters:
        return inverse.ravel().astype(np.int64)
    model = KMeans(n_clusters=n_clusters, n_init=10, random_state=seed).fit(patterns, sample_weight=counts)
    return model.labels_[inverse.ravel()].astype(np.int64)
