"""Compare: finished runs ranked by a metric, their settings against their metrics, and (on request) two
runs' clusterings side by side."""
import numpy as np
import pandas as pd
import streamlit as st

from core.runs import FINISHED
from core.metrics import match_clusters, relabel
from core.runs.compare import (METRICS, agreement, default_rank_metric, hyperparameter_columns, leaderboard, runs_table,
                               silhouette_spaces)
from core.viz.compare import LEGEND_UNDER, metric_bars, metric_scatter, parallel_coordinates
from core.viz.figures import projection_scatter
from core.vocabulary import METRIC_HELP, column_label
from ui.cache import run_store
from ui.runs import load_run

MAX_DEFAULT = 8
BEST = "★"  # in the table (a font every browser has); the sentence above it uses a Material icon
CHART_CONFIG = {"displaylogo": False}

FIGURES = {"parallel coordinates": parallel_coordinates, "bars": metric_bars, "scatter": metric_scatter}


@st.cache_resource(show_spinner=False, max_entries=32, hash_funcs={pd.DataFrame: lambda t: t.to_json(orient="split")})
def figure(kind: str, table, *args):
    """A comparison figure, built once per runs and options (building Plotly figures is most of this page's
    time) and shared by sessions: Streamlit only reads it."""
    return FIGURES[kind](table, *args)


def chosen_runs(store):
    """The dataset, sweep and runs pickers; returns the runs chosen (a runs_table, oldest first), their
    names by id and the dataset. The page stops with a message when there is nothing to compare."""
    records = store.list_runs(status=FINISHED)
    if not records:
        st.info("No finished runs to compare yet. Train a few on the **Train** page, or queue a grid on **Sweeps**.")
        st.stop()
    table = runs_table(records)
    pick = st.columns([2, 2, 3])
    dataset = pick[0].selectbox("Dataset", sorted(table["dataset"].unique()), key="compare_dataset",
                                help="Runs are compared on one dataset at a time.")
    table = table[table["dataset"] == dataset]
    sweeps = {s.id: s.name for s in store.sweeps.all() if s.id in set(table["sweep"].dropna().astype(int))}
    sweep = pick[1].selectbox("Sweep", [None, *sweeps], key="compare_sweep",
                              format_func=lambda s: "All runs" if s is None else sweeps[s])
    if sweep is not None:
        table = table[table["sweep"] == sweep]
    ids = table["id"].tolist()
    names = dict(zip(table["id"], table["name"]))
    chosen = pick[2].multiselect("Runs", ids, default=ids if sweep is not None else ids[:MAX_DEFAULT],
                                 key=f"compare_runs_{dataset}_{sweep}", format_func=lambda i: f"#{i} · {names[i]}",
                                 help="Newest first. A sweep selects all its runs.")
    if not chosen:
        st.info("Pick at least one run.")
        st.stop()
    return table[table["id"].isin(chosen)].sort_values("id"), names, dataset


def leaderboard_section(table, hyper: list, metrics: list, spaces: list, dataset: str) -> str:
    """The runs ranked by a metric the user picks (returned), the best named, and a warning when their
    silhouettes come from different spaces."""
    mixed_spaces = len(spaces) > 1 and "Silhouette" in metrics
    rank_col, best_col = st.columns([1, 3], vertical_alignment="bottom")
    if st.session_state.get("compare_rank_by") not in metrics:  # chosen for other runs, which had that metric
        st.session_state.pop("compare_rank_by", None)
    rank_by = rank_col.selectbox("Rank by", metrics, index=metrics.index(default_rank_metric(table)),
                                 key="compare_rank_by",
                                 help="Higher is better for every metric. " + " ".join(METRIC_HELP[m] for m in metrics))
    board = leaderboard(table, rank_by, [c for c in hyper if c != "algorithm"])
    board.insert(0, " ", [BEST if best else "" for best in board.pop("Best")])
    best = board[board[" "] == BEST]
    if len(best):
        caveat = " Their silhouettes come from different spaces, so this order means little." if (
            rank_by == "Silhouette" and mixed_spaces) else ""
        best_col.markdown(f":material/trophy: **Best by {rank_by}: {' and '.join(best['Run'])}** "
                          f"({best[rank_by].iloc[0]:.3f}).{caveat}")
    if mixed_spaces:
        st.warning("The silhouettes were computed in different spaces (" + "; ".join(spaces) + "), so they do not "
                   "compare across these runs: a compact embedding of a few dimensions scores far higher than "
                   "raw pixels. Compare silhouettes only between runs of the same space (see the last column).",
                   icon=":material/warning:")
    config = {m: st.column_config.NumberColumn(m, format="%.3f", help=METRIC_HELP[m]) for m in METRICS}
    config.update({" ": st.column_config.TextColumn(" ", width=32, help="The best run by the chosen metric.",
                                                    pinned=True),
                   "Rank": st.column_config.NumberColumn("Rank", format="%d", width=50, pinned=True),
                   "Run": st.column_config.TextColumn("Run", pinned=True),
                   "Duration (s)": st.column_config.NumberColumn("Duration (s)", format="%.1f")})
    if mixed_spaces:
        config["Silhouette"] = st.column_config.NumberColumn("Silhouette", format="%.3f",
                                                             help="Not comparable across different spaces.")
    st.dataframe(board, hide_index=True, column_config=config, key="compare_leaderboard")
    st.caption(f"{len(table)} runs on {dataset}. "
               + ("Settings that differ: " + ", ".join(column_label(c, table) for c in hyper) + "."
                  if hyper else "They share every setting: only seeds or data differ.")
               + (f" Every silhouette was computed in the same space: {spaces[0]}." if len(spaces) == 1 else ""))
    return rank_by


def settings_and_metrics(table, hyper: list, metrics: list, rank_by: str) -> None:
    """Parallel coordinates from settings to metrics, the metrics as bars, and one metric against one setting."""
    st.plotly_chart(figure("parallel coordinates", table, hyper, metrics, rank_by,
                           f"Each run from its settings to its metrics, coloured by {rank_by}"),
                    key="compare_parcoords", config=CHART_CONFIG)
    if len(hyper) and table[hyper].isna().any().any():
        st.caption("A line stops short of a setting its run does not use (the latent size of a run on pixels, say). "
                   "Hover a line for the run's values.")
    else:
        st.caption("Hover a line for the run's values.")
    bars, scatter_col = st.columns(2, gap="large")
    with bars:
        st.plotly_chart(figure("bars", table, metrics), key="compare_bars", config=CHART_CONFIG)
    with scatter_col:
        if not hyper:
            st.info("These runs share every setting, so there is nothing to plot a metric against.")
            return
        x_col, y_col = st.columns(2)
        first_setting = next((i for i, c in enumerate(hyper) if c != "algorithm"), 0)
        x_axis = x_col.selectbox("Setting", hyper, index=first_setting, key="compare_x",
                                 format_func=lambda c: column_label(c, table))
        y_axis = y_col.selectbox("Metric", metrics, key="compare_y", index=metrics.index(rank_by))
        st.plotly_chart(figure("scatter", table, x_axis, y_axis), key="compare_scatter", config=CHART_CONFIG)


def side_by_side(table, names: dict) -> None:
    """Two runs' clusterings of the same images, with matched cluster colours and their agreement (loaded
    only when asked: loading runs is the slow part of this page)."""
    if len(table) < 2:
        st.info("Pick two runs or more to see their clusterings side by side.")
        return
    if not st.toggle("Show two runs' clusterings side by side", key="compare_side_by_side",
                     help="Loads both runs and their images, then matches their clusters' colours."):
        st.caption("Turn this on to see how two runs split the same images, with matched cluster colours.")
        return
    ordered = table["id"].tolist()
    left_pick, right_pick = st.columns(2)
    first = left_pick.selectbox("Left run", ordered, index=0, key="compare_left",
                                format_func=lambda i: f"#{i} · {names[i]}")
    second = right_pick.selectbox("Right run", ordered, index=len(ordered) - 1, key="compare_right",
                                  format_func=lambda i: f"#{i} · {names[i]}")
    if first == second:
        st.info("Pick two different runs.")
        return
    left, right = load_run(first), load_run(second)
    if left is None or right is None:
        return
    if not np.array_equal(left.dataset.indices, right.dataset.indices):
        st.warning("These two runs clustered different images (different sample sizes), so their clusterings "
                   "cannot be matched image by image.")
        return
    mapping = match_clusters(left.labels, right.labels)
    right_matched = relabel(right.labels, mapping)
    own = {matched: int(cluster) for cluster, matched in mapping.items()}  # the right run's own cluster ids
    st.metric("Agreement (ARI between the two labellings)", f"{agreement(left.labels, right.labels):.3f}",
              help="1 means the same partition (up to renaming clusters); 0 is what chance gives.")
    st.caption("Colours are matched: each cluster of the right run takes the colour of the left run's cluster it "
               "overlaps most (Hungarian matching); unmatched clusters get new colours. Each run's clusters keep "
               "their own numbers and the names given to them by hand.")
    plot_left, plot_right = st.columns(2)
    plot_left.plotly_chart(scatter(left, left.labels, f"#{first} {names[first]}", left.cluster_label),
                           key="compare_umap_left", config=CHART_CONFIG)
    plot_right.plotly_chart(scatter(right, right_matched, f"#{second} {names[second]}",
                                    lambda matched: right.cluster_label(own[int(matched)])),
                            key="compare_umap_right", config=CHART_CONFIG)


def scatter(result, labels, title, cluster_label):
    """`result`'s projection coloured by `labels`, each cluster named by `cluster_label` (the run's own name
    for it, where `labels` were matched to another run's)."""
    method = "umap" if "umap" in result.projections else "pca"
    points = result.projection(method)
    fig = projection_scatter(points, labels, group_names={int(c): cluster_label(c) for c in np.unique(labels)},
                             indices=result.dataset.indices, clusters=labels, cluster_label=cluster_label,
                             title=f"{title} ({method.upper()})")
    return fig.update_layout(title_x=0, title_xanchor="left", legend=LEGEND_UNDER)  # clear of the toolbar


st.title("Compare")
table, names, dataset = chosen_runs(run_store())
metrics = [m for m in METRICS if table[m].notna().any()]
if not metrics:
    st.info("None of these runs has a score to compare.")
    st.stop()
hyper = hyperparameter_columns(table)
if table["algorithm"].nunique() > 1:
    hyper = ["algorithm", *hyper]

st.subheader("Leaderboard")
rank_by = leaderboard_section(table, hyper, metrics, silhouette_spaces(table), dataset)
st.subheader("Settings and metrics")
settings_and_metrics(table, hyper, metrics, rank_by)
st.subheader("Two runs, side by side")
side_by_side(table, names)
