"""Compare: finished runs ranked by a metric, their settings against their metrics, and (on request) two
runs' clusterings side by side."""
import numpy as np
import pandas as pd
import streamlit as st

from core.metrics import stability
from core.runs import FINISHED
from core.runs.artifacts import DamagedRun
from core.runs.report import comparison_report
from core.selection import custom_values
from core.runs.compare import (METRICS, agreement, agreement_matrix, consensus_labels, default_rank_metric,
                               diff_labellings, group_leaderboard, hyperparameter_columns, leaderboard, runs_table,
                               seed_group_ids, seed_group_title, silhouette_spaces)
from core.viz.compare import LEGEND_UNDER, metric_bars, metric_scatter, parallel_coordinates
from core.viz.diff import agreement_heatmap, flow_sankey
from core.viz.figures import projection_scatter
from core.viz.images import gallery_html
from core.vocabulary import METRIC_HELP, column_label, counted, run_name, sample_captions
from ui.access import can_edit
from ui.cache import run_store
from ui.downloads import download_button
from ui.runs import load_run
from ui.seeds import seed_spread_section
from ui.text import plain

MAX_DEFAULT = 8
MAX_AGREEMENT = 20  # runs in the agreement matrix (each is read from disk)
SWEEP_PARAM = "sweep"
DIFF_PARAM = "diff"  # "3,5": the two runs the side-by-side diff shows, so a copied link opens it
_LINKED = "compare_linked_sweep"
BEST = "★"  # in the table (a font every browser has); the sentence above it uses a Material icon
CHART_CONFIG = {"displaylogo": False}

STABILITY_HELP = ("Stability: the mean agreement (ARI) between the seeds' clusterings, 1 when every seed finds the "
                  "same clusters. It needs no true labels.")

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
    open_linked_sweep(table)
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
    names = {i: run_name(n, i) for i, n in zip(table["id"], table["name"])}  # said beside "#id": once
    chosen = pick[2].multiselect("Runs", ids, default=ids if sweep is not None else ids[:MAX_DEFAULT],
                                 key=f"compare_runs_{dataset}_{sweep}", format_func=lambda i: f"#{i} · {names[i]}",
                                 help="Newest first. A sweep selects all its runs.")
    if not chosen:
        st.info("Pick at least one run.")
        st.stop()
    return table[table["id"].isin(chosen)].sort_values("id"), names, dataset


def open_linked_sweep(table) -> None:
    """A link naming a sweep (`?sweep=3`, from Train's "Repeat with N seeds" or a copied address) opens it:
    its dataset and its runs are picked, once per link, so the pickers stay the user's afterwards."""
    wanted = st.query_params.get(SWEEP_PARAM)
    if not wanted or st.session_state.get(_LINKED) == wanted:
        return
    st.session_state[_LINKED] = wanted
    rows = table[table["sweep"].astype("Int64").astype(str) == wanted]
    if rows.empty:
        st.warning("The link names a sweep with no finished run on record: showing all runs.", icon=":material/info:")
        return
    st.session_state["compare_dataset"] = rows["dataset"].iloc[0]
    st.session_state["compare_sweep"] = int(wanted)


def leaderboard_section(table, hyper: list, metrics: list, spaces: list, dataset: str) -> str:
    """The runs ranked by a metric the user picks (returned), the best named, and a warning when their
    silhouettes come from different spaces. Runs that differ only in seed can be folded into one row per
    setting, ranked by their mean, so that a lucky seed does not win."""
    mixed_spaces = len(spaces) > 1 and "Silhouette" in metrics
    rank_col, fold_col, best_col = st.columns([1, 1, 3], vertical_alignment="bottom")
    if st.session_state.get("compare_rank_by") not in metrics:  # chosen for other runs, which had that metric
        st.session_state.pop("compare_rank_by", None)
    rank_by = rank_col.selectbox("Rank by", metrics, index=metrics.index(default_rank_metric(table)),
                                 key="compare_rank_by",
                                 help="Higher is better for every metric. " + " ".join(METRIC_HELP[m] for m in metrics))
    grouped = seed_group_ids(table).notna().any()
    fold = grouped and fold_col.toggle("Fold seeds", value=True, key="compare_fold",
                                       help="Runs that differ only in seed become one row: the mean of their "
                                            "scores, with the spread of the ranking score.")
    if fold:
        board = group_leaderboard(table, rank_by, metrics)
        who, value = "Setting", lambda row: (f"{row[rank_by]:.3f} ± {row[f'{rank_by} SD']:.3f}, mean of "
                                             f"{row['Seeds']} seed{'s' if row['Seeds'] > 1 else ''}")
    else:
        board = leaderboard(table, rank_by, [c for c in hyper if c != "algorithm"])
        who, value = "Run", lambda row: f"{row[rank_by]:.3f}"
    board.insert(0, " ", [BEST if best else "" for best in board.pop("Best")])
    best = board[board[" "] == BEST]
    if len(best) and pd.notna(best[rank_by].iloc[0]):
        caveat = " Their silhouettes come from different spaces, so this order means little." if (
            rank_by == "Silhouette" and mixed_spaces) else ""
        best_col.markdown(f":material/trophy: **Best by {rank_by}: {plain(' and '.join(best[who]))}** "
                          f"({value(best.iloc[0])}).{caveat}")
    if mixed_spaces:
        st.warning("The silhouettes were computed in different spaces (" + "; ".join(spaces) + "), so they do not "
                   "compare across these runs: a compact embedding of a few dimensions scores far higher than "
                   "raw pixels. Compare silhouettes only between runs of the same space (see the last column).",
                   icon=":material/warning:")
    st.dataframe(board, hide_index=True, column_config=board_columns(board, mixed_spaces), key="compare_leaderboard")
    download_button(st, "Comparison report (HTML)", lambda: comparison_report(table, rank_by=rank_by).encode(),
                    file_name=f"comparison-{dataset}.html", mime="text/html", key="compare_report",
                    icon=":material/description:",
                    help="These runs' settings, scores and charts in one file that opens in any browser, offline.")
    st.caption(f"{counted(len(table), 'run')} on {dataset}. "
               + ("Settings that differ: " + ", ".join(column_label(c, table) for c in hyper) + "."
                  if hyper else "They share every setting: only seeds or data differ.")
               + (f" Every silhouette was computed in the same space: {spaces[0]}." if len(spaces) == 1 else "")
               + (" Folded: each row is a setting's mean over its seeds." if fold else ""))
    return rank_by


def board_columns(board, mixed_spaces: bool) -> dict:
    """Column formats and help of a leaderboard; the run or setting column pinned, so the scores can scroll
    under it on a narrow screen."""
    config = {m: st.column_config.NumberColumn(m, format="%.3f", help=METRIC_HELP[m]) for m in METRICS}
    config.update({" ": st.column_config.TextColumn(" ", width=32, help="The best by the chosen metric.",
                                                    pinned=True),
                   "Rank": st.column_config.NumberColumn("Rank", format="%d", width=50, pinned=True),
                   "Run": st.column_config.TextColumn("Run", pinned=True, width="medium"),
                   "Setting": st.column_config.TextColumn("Setting", pinned=True, width="medium"),
                   "Runs": st.column_config.TextColumn("Runs", width="small"),
                   "Seeds": st.column_config.NumberColumn("Seeds", format="%d", width=50),
                   "Duration (s)": st.column_config.NumberColumn("Duration (s)", format="%.1f")})
    for column in board.columns:
        if column.endswith(" SD"):
            config[column] = st.column_config.NumberColumn(column, format="%.3f",
                                                           help="Standard deviation over the seeds.")
    if mixed_spaces:
        config["Silhouette"] = st.column_config.NumberColumn("Silhouette", format="%.3f",
                                                             help="Not comparable across different spaces.")
    return config


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


@st.cache_data(show_spinner=False, max_entries=256)
def labelling(store_root: str, run_id: int):
    """(labels, indices) of a finished run, read once (a finished run's labels never change)."""
    return run_store().labelling(run_id)


def labellings(table) -> tuple[list, list]:
    """The runs of `table` (at most MAX_AGREEMENT) that clustered the same images as the most of them, and
    their labels; runs whose saved files cannot be read are left out with a word."""
    ids, labels, indices = [], [], []
    for run_id in table["id"].tolist()[:MAX_AGREEMENT]:
        try:
            run_labels, run_indices = labelling(str(run_store().directory), int(run_id))
        except (DamagedRun, OSError) as error:
            st.caption(f"Run #{run_id} is left out: {plain(error)}")
            continue
        ids.append(int(run_id))
        labels.append(run_labels)
        indices.append(run_indices.tobytes())
    common = max(set(indices), key=indices.count) if indices else None
    kept = [i for i, key in enumerate(indices) if key == common]
    if len(kept) < len(ids):
        st.caption(f"{len(ids) - len(kept)} of these runs clustered other images (another sample size) and are "
                   "left out of the matrix.")
    return [ids[i] for i in kept], [labels[i] for i in kept]


def open_diff(ids: list) -> None:
    """A click on a cell of the agreement matrix opens the two runs' diff below."""
    event = st.session_state.get("compare_agreement")
    points = (event.get("selection") or {}).get("points") if event else None
    custom = custom_values(points[-1].get("customdata")) if points else []
    if len(custom) >= 2 and int(custom[0]) in ids and int(custom[1]) in ids:
        st.query_params[DIFF_PARAM] = f"{int(custom[0])},{int(custom[1])}"


def agreement_section(table, names: dict) -> None:
    """The ARI between every two runs as a clickable matrix, each seed group's stability (mean ARI between its
    seeds: a score that needs no labels), and a consensus of the runs saved as a run."""
    if len(table) < 2:
        st.info("Pick two runs or more to see how much they agree.")
        return
    if len(table) > MAX_AGREEMENT:
        st.caption(f"The first {MAX_AGREEMENT} of the {len(table)} runs picked.")
    ids, labels = labellings(table)
    if len(ids) < 2:
        return
    matrix_col, side_col = st.columns([3, 2], gap="large")
    with matrix_col:
        st.plotly_chart(agreement_heatmap(agreement_matrix(labels), ids, [f"#{i} {names[i]}" for i in ids]),
                        key="compare_agreement", on_select=lambda: open_diff(ids), selection_mode="points",
                        config=CHART_CONFIG)
        st.caption("Click a cell to diff its two runs below.")
    with side_col:
        stability_table(table, ids, labels)
        consensus_form(table, ids, labels, names)


def stability_table(table, ids: list, labels: list) -> None:
    """Each seed group's stability: how alike its seeds' clusterings are (needs no true labels)."""
    groups = seed_group_ids(table.set_index("id").loc[ids].reset_index())
    rows = []
    for number in groups.dropna().unique():
        members = [i for i, g in zip(ids, groups) if g == number]
        rows.append({"Setting": seed_group_title(table, members), "Seeds": len(members),
                     "Stability": stability([labels[ids.index(i)] for i in members])})
    if not rows:
        return
    st.markdown("**Stability of each setting over its seeds**", help=STABILITY_HELP)
    for row in sorted(rows, key=lambda row: -row["Stability"]):
        st.markdown(f"**{row['Stability']:.3f}** · {plain(row['Setting'])} ({row['Seeds']} seeds)")
    st.caption(STABILITY_HELP)


def consensus_form(table, ids: list, labels: list, names: dict) -> None:
    """Save the consensus of the runs (co-association) as a run derived from the first of them."""
    if not can_edit():
        return
    k = int(pd.to_numeric(table.set_index("id").loc[ids, "k"], errors="coerce").median())
    with st.form("compare_consensus", border=True):
        st.markdown(f"**Consensus of these {len(ids)} runs**")
        n_clusters = st.number_input("Number of clusters", 2, max(2, len(labels[0]) - 1), value=max(2, k),
                                     key="compare_consensus_k")
        st.caption("Two images end in the same cluster when most runs put them together (co-association). "
                   f"Saved as a new run derived from #{ids[0]}, with its embedding and projection.")
        if not st.form_submit_button("Save the consensus as a run", icon=":material/join:"):
            return
    parent = load_run(ids[0])
    if parent is None:
        return
    try:
        consensus = consensus_labels(labels, int(n_clusters), seed=int(parent.config.seed))
        run_id = run_store().add_derived_run(
            ids[0], parent.with_labels(consensus, {}), name=f"Consensus of {', '.join(f'#{i}' for i in ids)}",
            changes=[f"Consensus of runs {', '.join(f'#{i}' for i in ids)} in {int(n_clusters)} clusters "
                     "(co-association, k-means on the runs' memberships)"])
    except (ValueError, OSError) as error:
        st.error(f"The consensus could not be saved: {plain(error)}", icon=":material/error:")
        return
    st.success(f"Saved as run #{run_id}.", icon=":material/check_circle:")
    st.page_link("pages/explore.py", label=f"Explore run #{run_id}", icon=":material/scatter_plot:",
                 query_params={"run": str(run_id)})


def linked_pair(ordered: list) -> None:
    """The two runs a link names (`?diff=3,5`, or a click on the agreement matrix) become the side-by-side's
    left and right runs, once per link value."""
    text = st.query_params.get(DIFF_PARAM, "")
    if not text or st.session_state.get("_compare_diff_applied") == text:
        return
    st.session_state["_compare_diff_applied"] = text
    try:
        first, second = (int(part) for part in text.split(","))
    except ValueError:
        return
    if first in ordered and second in ordered and first != second:
        st.session_state.update(compare_left=first, compare_right=second, compare_side_by_side=True)


def remember_pair() -> None:
    """Keep the address in step with the two runs picked, so that a copied link opens the same diff."""
    pair = f"{st.session_state['compare_left']},{st.session_state['compare_right']}"
    st.query_params[DIFF_PARAM] = st.session_state["_compare_diff_applied"] = pair


def side_by_side(table, names: dict) -> None:
    """Two runs' clusterings of the same images, with matched cluster colours, their agreement, where each
    cluster went (a flow diagram) and the images that changed cluster (loaded only when asked: loading runs is
    the slow part of this page)."""
    if len(table) < 2:
        st.info("Pick two runs or more to see their clusterings side by side.")
        return
    ordered = table["id"].tolist()
    linked_pair(ordered)
    if not st.toggle("Show two runs' clusterings side by side", key="compare_side_by_side",
                     help="Loads both runs and their images, then matches their clusters."):
        st.caption("Turn this on to follow two runs cluster by cluster: matched colours, where each cluster went, "
                   "and the images that changed cluster. A click on the agreement matrix above does it too.")
        return
    for key, default in (("compare_left", ordered[0]), ("compare_right", ordered[-1])):
        if st.session_state.get(key) not in ordered:  # first visit, or a run no longer picked
            st.session_state[key] = default
    left_pick, right_pick = st.columns(2)
    first = left_pick.selectbox("Left run", ordered, key="compare_left", on_change=remember_pair,
                                format_func=lambda i: f"#{i} · {names[i]}")
    second = right_pick.selectbox("Right run", ordered, key="compare_right", on_change=remember_pair,
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
    diff = diff_labellings(left.labels, right.labels)
    own = {matched: int(cluster) for cluster, matched in diff.matched.items()}  # the right run's own cluster ids
    right_matched = np.array([diff.matched[int(c)] for c in right.labels])
    agree, moved = st.columns(2)
    agree.metric("Agreement (ARI between the two labellings)", f"{agreement(left.labels, right.labels):.3f}",
                 help="1 means the same partition (up to renaming clusters); 0 is what chance gives.")
    moved.metric("Images that changed cluster", f"{diff.n_changed:,} of {len(diff.changed):,}",
                 help="Images whose cluster in the right run is not the one matched to their cluster in the left run.")
    st.caption("Colours are matched: each cluster of the right run takes the colour of the left run's cluster it "
               "overlaps most (Hungarian matching); unmatched clusters get new colours. Each run's clusters keep "
               "their own numbers and the names given to them by hand.")
    plot_left, plot_right = st.columns(2)
    plot_left.plotly_chart(scatter(left, left.labels, f"#{first} {names[first]}", left.cluster_label),
                           key="compare_umap_left", config=CHART_CONFIG)
    plot_right.plotly_chart(scatter(right, right_matched, f"#{second} {names[second]}",
                                    lambda matched: right.cluster_label(own[int(matched)])),
                            key="compare_umap_right", config=CHART_CONFIG)
    st.plotly_chart(flow_sankey(diff.flows, diff.matched, f"#{first}", f"#{second}",
                                left_label=lambda c: f"#{first} {left.cluster_label(c)}",
                                right_label=lambda c: f"#{second} {right.cluster_label(c)}"),
                    key="compare_sankey", config=CHART_CONFIG)
    changed_gallery(diff, left, right, first, second)


def changed_gallery(diff, left, right, first: int, second: int, pairs: int = 6, per_pair: int = 16) -> None:
    """The images that changed cluster, grouped by (left cluster, right cluster), the largest moves first."""
    moves = diff.moves()
    if not moves:
        st.success("No image changed cluster: the two runs agree up to the clusters' names.",
                   icon=":material/check_circle:")
        return
    st.markdown(f"**The images that changed cluster** · {len(moves)} moves, the largest "
                f"{min(pairs, len(moves))} shown")
    data = left.dataset
    columns = st.columns(2, gap="medium")
    for position, (a, b, rows) in enumerate(moves[:pairs]):
        shown = rows[:per_pair]
        captions, hovers = sample_captions(data, shown)
        with columns[position % 2]:
            st.markdown(f"{plain(f'#{first} ' + left.cluster_label(a))} → "
                        f"{plain(f'#{second} ' + right.cluster_label(b))} · {len(rows):,} image{'s' if len(rows) != 1 else ''}")
            st.html(gallery_html(data.images[shown], captions, tile=48, tooltips=hovers))


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
if seed_group_ids(table).notna().any():
    st.subheader("Seeds: mean and spread")
    seed_spread_section(table, metrics, "compare", default_metric=rank_by)
st.subheader("Agreement between runs")
agreement_section(table, names)
st.subheader("Two runs, side by side")
side_by_side(table, names)
