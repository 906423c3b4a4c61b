"""Metrics: the run's scores, its training loss and how clusters map onto true labels."""
import pandas as pd
import streamlit as st

from core.metrics import contingency_in_matched_order
from core.viz.figures import contingency_heatmap, loss_curve, metrics_bar
from core.vocabulary import METRIC_HELP, run_settings
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
    st.caption(f"Silhouette computed in the space the clusters were made in: {result.silhouette_space}, on "
               f"{sample}. It compares only with runs clustered in the same space. ACC matches clusters to "
               "labels one to one (Hungarian algorithm).")

left, right = st.columns(2, gap="large")
with left:
    st.plotly_chart(metrics_bar(scores), key="metrics_bar")
with right:
    if result.history:
        st.plotly_chart(loss_curve(result.history), key="metrics_loss")
    else:
        st.info(f"{result.algorithm_title} has no training loss: it does not train a network.")

if data.has_labels:
    counts, clusters, classes = contingency_in_matched_order(data.labels, result.labels)
    st.plotly_chart(contingency_heatmap(counts, clusters, [data.label_name(int(c)) for c in classes]),
                    key="metrics_heatmap")
    st.caption("Rows are ordered by the label each cluster is matched to (Hungarian matching), "
               "so a perfect clustering is a diagonal.")

with st.expander("Run details"):
    settings = run_settings(result.config, n_samples=result.dataset.n_samples, n_clusters=result.n_clusters)
    st.dataframe(pd.DataFrame(settings, columns=["Setting", "Value"]), hide_index=True)
    st.dataframe(timings_table(result.timings), hide_index=True)

st.markdown("**Take it away**")
download_buttons(result, key="metrics_download")
