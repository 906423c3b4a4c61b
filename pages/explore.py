"""Explore: the 2-D projection of the embedding, cluster sizes, and a gallery per cluster."""
import numpy as np
import streamlit as st

from core.projection import PROJECTIONS, umap_is_warm
from core.viz.figures import cluster_sizes_bar, projection_scatter
from core.viz.images import to_uint8
from ui.state import require_result

def cluster_name(cluster) -> str:
    return "noise" if cluster < 0 else f"cluster {cluster}"


st.title("Explore")
result = require_result()
if result is None:
    st.stop()

data = result.dataset
st.caption(result.summary())

controls = st.columns(3)
method = controls[0].radio("Projection", list(PROJECTIONS), format_func=PROJECTIONS.get, horizontal=True,
                           key="explore_projection", help="UMAP keeps neighbourhoods; PCA is instant and linear.")
colour_options = ["Cluster", "True label"] if data.has_labels else ["Cluster"]
colour_by = controls[1].radio("Colour by", colour_options, horizontal=True, key="explore_colour")

if method not in result.projections:
    note = "" if method != "umap" or umap_is_warm() else " The first UMAP in this server compiles for 20-30 s."
    with st.spinner(f"Projecting {len(result.embedding):,} points with {PROJECTIONS[method]}...{note}"):
        result.projection(method)
points = result.projection(method)

true_names = [data.label_name(int(y)) for y in data.labels] if data.has_labels else None
if colour_by == "Cluster":
    groups, names = result.labels, {int(c): cluster_name(c) for c in np.unique(result.labels)}
else:
    groups, names = data.labels, {int(y): data.label_name(int(y)) for y in np.unique(data.labels)}
st.plotly_chart(
    projection_scatter(points, groups, group_names=names, indices=data.indices, clusters=result.labels,
                       true_names=true_names, colour_by=colour_by,
                       title=f"{PROJECTIONS[method]} of the {result.embedding.shape[1]}-d embedding"),
    key="explore_scatter",
)

sizes_col, gallery_col = st.columns([2, 3], gap="large")
clusters, counts = result.cluster_sizes()
with sizes_col:
    st.plotly_chart(cluster_sizes_bar(clusters, counts), key="explore_sizes")

with gallery_col:
    st.subheader("Gallery")
    size_of = dict(zip(clusters.tolist(), counts.tolist()))
    cluster = st.selectbox("Cluster", clusters.tolist(), key="explore_cluster",
                           format_func=lambda c: f"{cluster_name(c)} ({size_of[c]} images)")
    members = result.members(cluster)
    n_show = st.slider("Images shown", 8, 96, 40, step=8, key="explore_n_show")
    shown = np.random.default_rng(0).choice(members, size=min(n_show, len(members)), replace=False)
    captions = [f"#{data.indices[i]}" + (f" · {data.label_name(int(data.labels[i]))}" if data.has_labels else "")
                for i in shown]
    if data.has_labels:
        top, top_count = np.unique(data.labels[members], return_counts=True)
        majority = top[np.argmax(top_count)]
        st.caption(f"Most common true label: {data.label_name(int(majority))} "
                   f"({top_count.max() / len(members):.0%} of the cluster). Captions: dataset index · label.")
    st.image([to_uint8(data.images[i], 64) for i in shown], caption=captions, width=64)
