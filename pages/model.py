"""Model: the view of the algorithm that made the current result (what it learned, how sure it is)."""
import numpy as np
import pandas as pd
import streamlit as st

from core.viz.figures import (CERTAIN_CONFIDENCE, cluster_profiles_heatmap, confidence_box, dendrogram_figure,
                              is_certain, k_distance_curve, label_change_curve, som_hits_heatmap, transition_heatmap)
from core.data.images import image_grid
from core.viz.images import displayable, gallery_html
from core.viz.tables import feature_frame
from core.vocabulary import cluster_name, sample_name
from ui.learning import show_replay
from ui.state import require_result
from ui.text import plain

def label_of(i: int) -> str:
    return f" · {data.label_name(int(data.labels[i]))}" if data.has_labels else ""


def show_doubtful(confidence: np.ndarray) -> None:
    """The confidence box plot and a gallery of the least confident members of one cluster."""
    certain = float(np.mean(confidence >= CERTAIN_CONFIDENCE))
    st.caption(f"An image's confidence is its largest membership probability; {certain:.1%} of the images "
               f"have at least {CERTAIN_CONFIDENCE:g}. Low-confidence members sit between clusters: the "
               "doubtful ones to look at.")
    st.plotly_chart(confidence_box(confidence, labels), key="model_confidence")
    doubtful_in = {int(c): int(np.sum((labels == c) & (confidence < CERTAIN_CONFIDENCE))) for c in np.unique(labels)}
    left, right = st.columns([1, 3])
    options = list(doubtful_in)  # start on the first cluster, or the most doubtful one when the first has none
    first = 0 if doubtful_in[options[0]] else int(np.argmax(list(doubtful_in.values())))
    cluster = left.selectbox("Cluster", options, index=first, key="model_cluster",
                             format_func=lambda c: f"{cluster_name(c)} ({doubtful_in[c]} doubtful)")
    n_show = left.slider("Images shown", 8, 64, 24, step=8, key="model_n_show")
    members = np.flatnonzero(labels == cluster)
    doubtful = members[np.argsort(confidence[members])][:min(n_show, doubtful_in[cluster])]
    with right:
        if not len(doubtful):
            st.markdown(f"**The model is certain about every member of {cluster_name(cluster)}**: every "
                        f"confidence is at least {CERTAIN_CONFIDENCE:g}.")
            return
        st.markdown(f"**Least confident members of {cluster_name(cluster)}** "
                    f"(median confidence {np.median(confidence[members]):.2f}).")
        st.caption("Captions: confidence · true label; hover for the image's name." if data.has_labels
                   else "Captions: confidence; hover for the image's name.")
        tooltips = [f"confidence {confidence[i]:.3f}, image {sample_name(data, i)}" for i in doubtful]
        if data.has_labels:
            tooltips = [f"{t}, true label {data.label_name(int(data.labels[i]))}" for t, i in zip(tooltips, doubtful)]
        if data.is_table:
            rows = feature_frame(data, doubtful)
            rows.insert(1, "confidence", np.round(confidence[doubtful], 3))
            st.dataframe(rows, hide_index=True, height=300)
            return
        st.html(gallery_html(data.images[doubtful], [f"{confidence[i]:.2f}{label_of(i)}" for i in doubtful], tile=64,
                             tooltips=tooltips))


def centres(result, view) -> None:
    st.subheader("What each cluster looks like")
    data = result.dataset
    centers = displayable(view["centers"])
    in_pixels = result.silhouette_space.startswith("pixels")  # centres made in the pixels, or decoded
    if data.is_table:  # centres of a table are feature vectors (scaled 0-1 per feature): a profile each
        st.caption("Each cluster's centre, feature by feature (0-1 of each feature's range)." if
                   in_pixels else "Each cluster's centre decoded by the autoencoder, "
                   "feature by feature (0-1 of each feature's range).")
        profiles = pd.DataFrame(centers.reshape(len(centers), -1), columns=data.feature_names)
        st.plotly_chart(cluster_profiles_heatmap(profiles), key="model_centre_profiles")
    else:
        kind = "mean image" if in_pixels else "centre decoded by the autoencoder"
        st.caption(f"Each cluster's {kind}.")
        st.html(gallery_html(centers, [cluster_name(i) for i in range(len(centers))], tile=72))


def generated_images(result, view) -> None:
    st.subheader("Images generated from each cluster")
    st.caption("Each row samples the cluster's Gaussian component of the prior and decodes the samples: "
               "what the model thinks a member of that cluster looks like.")
    generated = view["generated"]
    n_clusters, per_cluster = generated.shape[:2]
    st.image(image_grid(displayable(generated.reshape(-1, *generated.shape[2:])), n_cols=per_cluster, size=40),
             caption=f"Row i: images drawn from cluster i's component (clusters 0 to {n_clusters - 1}, top to bottom).")


def som_map(result, view) -> None:
    rows, cols = (int(v) for v in view["som_grid"])
    st.subheader(f"The {rows}x{cols} self-organizing map")
    st.caption("Left: each node's prototype (decoded by the autoencoder when the map was trained on the "
               "embedding); neighbouring nodes hold similar images. Right: how many images each node "
               "won, and the cluster its node was grouped into.")
    left, right = st.columns(2, gap="large")
    if result.dataset.is_table:
        left.caption("The prototypes of a table are feature vectors, not images; the hits show the map.")
    else:
        left.image(image_grid(displayable(view["som_prototype_images"]), n_cols=cols, size=40),
                   caption="prototype images, laid out as the map")
    right.plotly_chart(som_hits_heatmap(view["som_hits"], (rows, cols), view.get("som_node_labels")), key="model_som")


def dendrogram(result, view) -> None:
    st.subheader("Dendrogram")
    st.caption("The top of the merge tree: the higher a merge, the more different the groups it joined. A long "
               "vertical gap below the cut line means the chosen number of clusters is well separated.")
    st.plotly_chart(dendrogram_figure(view["linkage"], result.n_clusters), key="model_dendrogram")


def density(result, view) -> None:
    labels = result.labels
    noise = int(np.sum(labels == -1))
    st.subheader("Density: the k-distance curve")
    st.caption(f"Radius eps used {view['eps']:.4g}; suggested {view['suggested_eps']:.4g} (the radius on this curve "
               "whose clusters score best: silhouette times the share of points clustered). "
               f"Found {result.n_clusters} clusters and {noise:,} noise points ({noise / len(labels):.0%}). "
               "Points above the radius line have too few neighbours within it: noise unless near a core point. "
               "Raise the radius for fewer, larger clusters; lower it for more noise.")
    st.plotly_chart(k_distance_curve(view["k_distances"], view["eps"], view["suggested_eps"],
                                     int(view["min_samples"])), key="model_kdist")


def label_moves(result, view) -> None:
    st.subheader("How the clustering phase moved the labels")
    initial, changes = view["initial_labels"], view["label_changes"]
    moved = float(np.mean(initial != result.labels))
    st.caption(f"{moved:.1%} of the images ended in a different cluster than the k-means start, over "
               f"{len(changes)} refreshes of the target distribution.")
    left, right = st.columns(2, gap="large")
    left.plotly_chart(label_change_curve(changes, result.estimator_params.get("tol")), key="model_changes")
    right.plotly_chart(transition_heatmap(initial, result.labels), key="model_transitions")


def confidence_per_image(result, view) -> None:
    st.subheader("Confidence per image")
    if is_certain(view["confidence"]):
        st.info(f"The model is certain about every image: every confidence (largest membership probability) "
                f"is at least {CERTAIN_CONFIDENCE:g}, so no image sits between clusters.", icon=":material/verified:")
    else:
        show_doubtful(view["confidence"])


# Each section draws what the view data holds under its key, in this order.
SECTIONS = [("centers", centres), ("generated", generated_images), ("som_prototype_images", som_map),
            ("linkage", dendrogram), ("k_distances", density), ("label_changes", label_moves),
            ("confidence", confidence_per_image)]

st.title("Model")
result = require_result()
if result is None:
    st.stop()
data, view, labels = result.dataset, result.view_data, result.labels
st.caption(plain(result.summary()))
st.markdown(f"**{result.algorithm_title}.** {result.spec.description}")
drawn = [draw for key, draw in SECTIONS if key in view and (key != "generated" or not data.is_table)]
for draw in drawn:
    draw(result, view)
if len(result.frames) >= 2:  # a network trained in it: how its clusters formed, epoch by epoch
    st.subheader("How the clusters formed")
    replay, _ = st.columns([3, 2])
    with replay:
        show_replay(result.frames, result.config, key="model_replay", dataset=data, title="")
elif not drawn:
    st.info(f"{result.algorithm_title} has no model to look inside: see its clusters on **Explore** and its "
            "scores on **Metrics**.")
