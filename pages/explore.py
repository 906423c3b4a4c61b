"""Explore: the 2-D projection of the embedding, cluster sizes, and a gallery per cluster."""
import numpy as np
import streamlit as st

from core.projection import PROJECTIONS, umap_is_warm
from core.viz.figures import cluster_sizes_bar, projection_scatter
from core.viz.images import gallery_html
from core.viz.palette import colour_ids
from core.vocabulary import cluster_name, cluster_names, majority_caption
from ui.state import require_result

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
    groups, names, colours = result.labels, cluster_names(np.unique(result.labels)), colour_ids(result.labels)
else:  # each true label takes the colour of the cluster it is matched to, so colours do not reshuffle
    groups, names = data.labels, {int(y): data.label_name(int(y)) for y in np.unique(data.labels)}
    colours = colour_ids(data.labels, clusters=result.labels)
st.plotly_chart(
    projection_scatter(points, groups, group_names=names, indices=data.indices, clusters=result.labels,
                       true_names=true_names, colour_by=colour_by, colour_ids=colours,
                       title=result.projection_title(method)),
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
        st.caption(f"{majority_caption(data.labels[members], data.label_name)} Captions: dataset index · label.")
    else:
        st.caption("Captions: dataset index.")
    st.html(gallery_html(data.images[shown], captions, tile=64))
