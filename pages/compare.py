"""Compare: finished runs side by side, from hyperparameters to metrics, and two runs' clusterings."""
import numpy as np
import streamlit as st

from core.runs import FINISHED
from core.runs.compare import METRICS, agreement, hyperparameter_columns, match_clusters, relabel, runs_table
from core.viz.compare import column_label, metric_bars, metric_scatter, parallel_coordinates
from core.viz.figures import projection_scatter
from ui.cache import run_store
from ui.runs import load_run

MAX_DEFAULT = 8

st.title("Compare")
store = run_store()
records = store.list_runs(status=FINISHED)
if not records:
    st.info("No finished runs to compare yet. Train a few on the **Train** page, or queue a grid on **Sweeps**.")
    st.stop()

table = runs_table(records)
by_id = {record.id: record for record in records}

pick = st.columns([2, 2, 3])
datasets = sorted(table["dataset"].unique())
dataset = pick[0].selectbox("Dataset", datasets, key="compare_dataset",
                            help="Runs are compared on one dataset at a time.")
table = table[table["dataset"] == dataset]
sweeps = {s.id: s.name for s in store.list_sweeps() if s.id in set(table["sweep"].dropna().astype(int))}
sweep = pick[1].selectbox("Sweep", [None, *sweeps], key="compare_sweep",
                          format_func=lambda s: "All runs" if s is None else sweeps[s])
if sweep is not None:
    table = table[table["sweep"] == sweep]
ids = table["id"].tolist()
names = dict(zip(table["id"], table["name"]))
default = ids if sweep is not None else ids[:MAX_DEFAULT]
key = f"compare_runs_{dataset}_{sweep}"
chosen = pick[2].multiselect("Runs", ids, default=default, key=key, format_func=lambda i: f"#{i} · {names[i]}",
                             help="Newest first. A sweep selects all its runs.")
if not chosen:
    st.info("Pick at least one run.")
    st.stop()
table = table[table["id"].isin(chosen)].sort_values("id")
metrics = [m for m in METRICS if table[m].notna().any()]

hyper = hyperparameter_columns(table)
if len(table) > 1 and not table["algorithm"].nunique() == 1:
    hyper = ["algorithm", *hyper]
st.caption(f"{len(table)} runs on {dataset}. Varying: "
           + (", ".join(column_label(c) for c in hyper) if hyper else "nothing (same settings: only seeds or data differ)"))

colour_by = st.selectbox("Colour lines by", metrics, index=metrics.index("NMI") if "NMI" in metrics else 0,
                         key="compare_colour")
st.plotly_chart(parallel_coordinates(table, hyper, metrics, colour_by), key="compare_parcoords")

bars, scatter_col = st.columns(2, gap="large")
with bars:
    st.plotly_chart(metric_bars(table, metrics), key="compare_bars")
with scatter_col:
    if hyper:
        x_col, y_col = st.columns(2)
        x_axis = x_col.selectbox("Hyperparameter", hyper, key="compare_x", format_func=column_label)
        y_axis = y_col.selectbox("Metric", metrics, key="compare_y", index=metrics.index(colour_by))
        st.plotly_chart(metric_scatter(table, x_axis, y_axis), key="compare_scatter")
    else:
        st.info("These runs share every hyperparameter, so there is nothing to plot a metric against.")

st.subheader("Two runs, side by side")
if len(table) < 2:
    st.info("Pick two runs or more to see their clusterings side by side.")
    st.stop()
ordered = table["id"].tolist()
left_pick, right_pick = st.columns(2)
first = left_pick.selectbox("Left run", ordered, index=0, key="compare_left", format_func=lambda i: f"#{i} · {names[i]}")
second = right_pick.selectbox("Right run", ordered, index=len(ordered) - 1, key="compare_right",
                              format_func=lambda i: f"#{i} · {names[i]}")
if first == second:
    st.info("Pick two different runs.")
    st.stop()
left, right = load_run(first), load_run(second)
if left is None or right is None:
    st.stop()
if not np.array_equal(left.dataset.indices, right.dataset.indices):
    st.warning("These two runs clustered different images (different sample sizes), so their clusterings "
               "cannot be matched image by image.")
    st.stop()

mapping = match_clusters(left.labels, right.labels)
right_matched = relabel(right.labels, mapping)
score = agreement(left.labels, right.labels)
st.metric("Agreement (ARI between the two labellings)", f"{score:.3f}",
          help="1 means the same partition (up to renaming clusters); 0 is what chance gives.")
st.caption("Colours are matched: each cluster of the right run takes the colour of the left run's cluster it "
           "overlaps most (Hungarian matching); unmatched clusters get new colours.")


def scatter(result, labels, title):
    method = "umap" if "umap" in result.projections else "pca"
    points = result.projection(method)
    names_ = {int(c): ("noise" if c < 0 else f"cluster {c}") for c in np.unique(labels)}
    return projection_scatter(points, labels, group_names=names_, indices=result.dataset.indices, clusters=labels,
                              title=f"{title} ({method.upper()})")


plot_left, plot_right = st.columns(2)
plot_left.plotly_chart(scatter(left, left.labels, f"#{first} {names[first]}"), key="compare_umap_left")
plot_right.plotly_chart(scatter(right, right_matched, f"#{second} {names[second]}"), key="compare_umap_right")
