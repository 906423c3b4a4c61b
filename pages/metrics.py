"""Metrics: the run's scores, its training loss and how clusters map onto true labels."""
import numpy as np
import pandas as pd
import streamlit as st

from core.metrics import contingency_in_matched_order
from core.viz.figures import contingency_heatmap, metrics_bar
from core.runs.export import confidence
from core.runs.report import loss_note, story_loss_curve
from core.selection import cell_rows, custom_values
from core.viz.images import gallery_html
from core.viz.tables import feature_frame
from core.vocabulary import METRIC_HELP, run_settings, sample_captions, umap_silhouette_note
from ui.text import plain
from ui.downloads import download_buttons
from ui.progress import timings_table
from ui.state import require_result

st.title("Metrics")
result = require_result()
if result is None:
    st.stop()

data, report = result.dataset, result.metrics
st.caption(result.description())

scores = report.as_dict()
for column, (name, value) in zip(st.columns(len(scores)), scores.items()):
    column.metric(name, "n/a" if value is None else f"{value:.3f}", help=METRIC_HELP[name])

if result.degenerate_note():
    st.warning(result.degenerate_note(), icon=":material/warning:")
if not data.has_labels:
    st.info(report.note)
sil = report.silhouette
if sil.score is None:
    st.caption(f"Silhouette not computed: {sil.reason}")
else:
    sample = f"a random sample of {sil.n_samples:,} of {sil.n_total:,} images" if sil.sampled else f"all {sil.n_total:,} images"
    st.caption(f"Silhouette computed in the space the clusters were made in: {plain(result.silhouette_space)}, on "
               f"{sample}. It compares only with runs clustered in the same space. ACC matches clusters to "
               "labels one to one (Hungarian algorithm).")
if umap_silhouette_note(report):
    st.caption(plain(umap_silhouette_note(report)))

left, right = st.columns(2, gap="large")
with left:
    st.plotly_chart(metrics_bar(scores), key="metrics_bar")
with right:
    if result.history:  # the optimiser's restarts marked, and the spikes after them explained
        st.plotly_chart(story_loss_curve(result), key="metrics_loss")
        if loss_note(result):
            st.caption(loss_note(result))
    else:
        st.info(f"{result.algorithm_title} has no training loss: it does not train a network.")

CELL_PARAM = "cell"        # ?cell=<cluster>,<label>: the cell of the cluster-versus-label table opened
MAX_CELL_SHOWN = 96


def url_cell():
    """The (cluster, label) cell the URL opens, or None."""
    try:
        cluster, label = (int(v) for v in st.query_params.get(CELL_PARAM, "").split(","))
        return cluster, label
    except ValueError:
        return None


def on_cell_click() -> None:
    event = st.session_state.get("metrics_heatmap")
    points = (event.get("selection") or {}).get("points") if event else None
    custom = custom_values(points[-1].get("customdata")) if points else []
    if len(custom) == 2:
        cluster, label = custom
        st.query_params[CELL_PARAM] = f"{int(cluster)},{int(label)}"
    else:
        close_cell()


def close_cell() -> None:
    if CELL_PARAM in st.query_params:
        del st.query_params[CELL_PARAM]


@st.fragment
def contingency_view() -> None:
    """The cluster-versus-label table; a click on a cell shows its images, least confident first."""
    counts, clusters, classes = contingency_in_matched_order(data.labels, result.labels)
    st.plotly_chart(contingency_heatmap(counts, clusters, [data.label_name(int(c)) for c in classes], classes=classes,
                                        cluster_label=result.cluster_label),
                    key="metrics_heatmap", on_select=on_cell_click, selection_mode="points")
    st.caption("Rows are ordered by the label each cluster is matched to (Hungarian matching), "
               "so a perfect clustering is a diagonal. Click a cell to see its images.")
    cell = url_cell()
    if cell is None:
        return
    cluster, label = cell
    if cluster not in clusters or label not in classes:
        st.warning(f"This link opens the cell of cluster {cluster} and label {label}, which this run's table does "
                   "not have: click a cell of the table.", icon=":material/info:")
        return
    rows = cell_rows(result.labels, data.labels, cluster, label, confidence(result))
    head, close = st.columns([4, 1], vertical_alignment="bottom")
    head.subheader(f"{plain(result.cluster_label(cluster))}, true label {plain(data.label_name(label))}: {len(rows):,} images")
    close.button("Close", key="metrics_close_cell", icon=":material/close:", width="stretch", on_click=close_cell)
    if len(rows) == 0:
        st.info("No image is in this cell.")
        return
    shown = rows[:MAX_CELL_SHOWN]
    trust = confidence(result)[shown]
    captions, hovers = sample_captions(data, shown)
    if not np.all(np.isnan(trust)):
        captions = [f"{c} · {t:.2f}" for c, t in zip(captions, trust)]
        order = "Least confident first; captions end with the model's confidence."
    else:
        order = f"{result.algorithm_title} gives no confidence: in dataset order."
    more = f" The first {len(shown)} of {len(rows):,}." if len(rows) > len(shown) else ""
    st.caption(f"{order}{more}")
    if data.is_table:
        st.dataframe(feature_frame(data, shown), hide_index=True, height=300)
    else:
        st.html(gallery_html(data.images[shown], captions, tile=64, tooltips=hovers))


if data.has_labels:
    contingency_view()

with st.expander("Run details"):
    settings = run_settings(result.config, n_samples=result.dataset.n_samples, n_clusters=result.n_clusters)
    st.dataframe(pd.DataFrame(settings, columns=["Setting", "Value"]), hide_index=True)
    st.dataframe(timings_table(result.timings), hide_index=True)

st.markdown("**Take it away**")
download_buttons(result, key="metrics_download")
