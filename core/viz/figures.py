"""Plotly figures of a clustering result."""
from __future__ import annotations

from typing import Optional, Sequence

import numpy as np
import plotly.graph_objects as go

from core.viz.palette import cluster_color

_LAYOUT = dict(margin=dict(l=10, r=10, t=40, b=10), template="plotly_white")


def projection_scatter(points: np.ndarray, groups: np.ndarray, *, group_names: Optional[dict] = None,
                       indices: np.ndarray, clusters: np.ndarray, true_names: Optional[Sequence[str]] = None,
                       title: str = "", colour_by: str = "Cluster") -> go.Figure:
    """2-D scatter, one trace per group (cluster or true label) so the legend toggles groups.

    Hover shows each sample's index in the dataset, its cluster and (when known) its true label.
    """
    fig = go.Figure()
    use_gl = len(points) > 3000  # WebGL keeps big scatters smooth
    Scatter = go.Scattergl if use_gl else go.Scatter
    for group in np.unique(groups):
        mask = groups == group
        name = (group_names or {}).get(int(group), str(group))
        custom = np.column_stack([
            indices[mask], clusters[mask],
            np.asarray(true_names)[mask] if true_names is not None else np.full(mask.sum(), "-"),
        ])
        fig.add_trace(Scatter(
            x=points[mask, 0], y=points[mask, 1], mode="markers", name=name,
            marker=dict(size=6 if len(points) < 5000 else 4, color=cluster_color(int(group)), opacity=0.85),
            customdata=custom,
            hovertemplate="index %{customdata[0]}<br>cluster %{customdata[1]}<br>label %{customdata[2]}<extra></extra>",
        ))
    fig.update_layout(title=title, legend_title_text=colour_by, height=560, **_LAYOUT)
    fig.update_xaxes(showticklabels=False, title=None)
    fig.update_yaxes(showticklabels=False, title=None, scaleanchor="x")
    return fig


def cluster_sizes_bar(clusters: np.ndarray, counts: np.ndarray) -> go.Figure:
    fig = go.Figure(go.Bar(
        x=[str(c) for c in clusters], y=counts, marker_color=[cluster_color(int(c)) for c in clusters],
        hovertemplate="cluster %{x}: %{y} images<extra></extra>",
    ))
    fig.update_layout(title="Cluster sizes", xaxis_title="cluster", yaxis_title="images", height=320, **_LAYOUT)
    fig.update_xaxes(type="category")
    return fig


def loss_curve(history: Sequence[dict], title: str = "Training loss") -> go.Figure:
    """Loss per epoch, one line per training phase."""
    fig = go.Figure()
    phases = list(dict.fromkeys(h.get("phase", "train") for h in history))
    for phase in phases:
        rows = [h for h in history if h.get("phase", "train") == phase]
        fig.add_trace(go.Scatter(x=[r["epoch"] for r in rows], y=[r["loss"] for r in rows],
                                 mode="lines+markers" if len(rows) < 40 else "lines", name=phase))
    fig.update_layout(title=title, xaxis_title="epoch", yaxis_title="loss", height=300,
                      showlegend=len(phases) > 1, **_LAYOUT)
    return fig


def metrics_bar(scores: dict) -> go.Figure:
    """Bar per defined metric, on a common [-1, 1] axis (silhouette can be negative)."""
    names = [k for k, v in scores.items() if v is not None]
    values = [scores[k] for k in names]
    fig = go.Figure(go.Bar(x=names, y=values, text=[f"{v:.3f}" for v in values], textposition="outside",
                           marker_color=["#1f77b4" if n != "Silhouette" else "#ff7f0e" for n in names]))
    low = min(0.0, min(values, default=0.0) - 0.1)
    fig.update_layout(title="Scores", yaxis_range=[low, 1.1], height=360, **_LAYOUT)
    return fig


def contingency_heatmap(counts: np.ndarray, clusters: Sequence, class_names: Sequence[str]) -> go.Figure:
    """Cluster (rows) versus true label (columns), in counts."""
    fig = go.Figure(go.Heatmap(
        z=counts, x=[str(c) for c in class_names], y=[f"cluster {c}" for c in clusters],
        colorscale="Blues", text=counts, texttemplate="%{text}",
        hovertemplate="%{y}, label %{x}: %{z} images<extra></extra>",
    ))
    fig.update_layout(title="Clusters versus true labels (counts)", xaxis_title="true label",
                      height=max(320, 32 * len(clusters) + 120), **_LAYOUT)
    fig.update_yaxes(autorange="reversed", type="category")
    fig.update_xaxes(type="category")
    return fig


def confidence_box(confidence: np.ndarray, labels: np.ndarray) -> go.Figure:
    """Distribution of each cluster's soft-assignment confidence (largest membership probability)."""
    fig = go.Figure()
    for cluster in np.unique(labels):
        values = confidence[labels == cluster]
        fig.add_trace(go.Box(y=values, name="noise" if cluster < 0 else str(cluster), boxpoints=False,
                             marker_color=cluster_color(int(cluster)), showlegend=False))
    fig.update_layout(title="Confidence of the members of each cluster", xaxis_title="cluster",
                      yaxis_title="confidence", yaxis_range=[0, 1.02], height=340, **_LAYOUT)
    return fig


def label_change_curve(changes: Sequence[float], tol: Optional[float] = None) -> go.Figure:
    """Fraction of samples that changed cluster at each refresh of the target distribution."""
    steps = list(range(1, len(changes) + 1))
    fig = go.Figure(go.Scatter(x=steps, y=[100 * c for c in changes], mode="lines+markers", name="changed",
                               hovertemplate="refresh %{x}: %{y:.2f}% changed<extra></extra>"))
    if tol is not None:
        fig.add_hline(y=100 * tol, line_dash="dot", line_color="#888",
                      annotation_text=f"stop below {100 * tol:g}%", annotation_position="top right")
    fig.update_layout(title="Labels changed between target refreshes", xaxis_title="refresh",
                      yaxis_title="% of images", height=300, **_LAYOUT)
    return fig


def transition_heatmap(before: np.ndarray, after: np.ndarray) -> go.Figure:
    """How many samples went from each starting cluster (rows) to each final cluster (columns)."""
    rows, cols = np.unique(before), np.unique(after)
    counts = np.zeros((len(rows), len(cols)), dtype=int)
    np.add.at(counts, (np.searchsorted(rows, before), np.searchsorted(cols, after)), 1)
    fig = go.Figure(go.Heatmap(
        z=counts, x=[str(c) for c in cols], y=[str(r) for r in rows], colorscale="Purples",
        text=counts, texttemplate="%{text}", hovertemplate="from %{y} to %{x}: %{z} images<extra></extra>",
    ))
    fig.update_layout(title="From the k-means start (rows) to the final clusters (columns)",
                      xaxis_title="final cluster", yaxis_title="k-means start",
                      height=max(320, 30 * len(rows) + 120), **_LAYOUT)
    fig.update_yaxes(autorange="reversed", type="category")
    fig.update_xaxes(type="category")
    return fig


def dendrogram_figure(linkage: np.ndarray, n_clusters: Optional[int] = None, top: int = 30) -> go.Figure:
    """The top of a hierarchical clustering tree: the last `top` merges, with the cut that gives
    `n_clusters` drawn as a dashed line. Leaf labels give the number of images under each leaf."""
    from scipy.cluster.hierarchy import dendrogram

    tree = dendrogram(linkage, truncate_mode="lastp", p=top, no_plot=True, show_leaf_counts=True)
    fig = go.Figure()
    for xs, ys in zip(tree["icoord"], tree["dcoord"]):
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", line=dict(color="#1f77b4", width=1.5),
                                 hoverinfo="skip", showlegend=False))
    ticks = [5 + 10 * i for i in range(len(tree["ivl"]))]
    if n_clusters and 1 < n_clusters <= len(linkage):
        heights = linkage[:, 2]
        cut = (heights[-n_clusters] + heights[-n_clusters + 1]) / 2 if n_clusters > 1 else heights[-1]
        fig.add_hline(y=cut, line_dash="dash", line_color="#d62728",
                      annotation_text=f"cut: {n_clusters} clusters", annotation_position="top left")
    fig.update_layout(title=f"Top of the merge tree (last {len(tree['ivl']) - 1} merges)", yaxis_title="merge distance",
                      height=420, **_LAYOUT)
    fig.update_xaxes(tickvals=ticks, ticktext=[t.replace("(", "").replace(")", "") for t in tree["ivl"]],
                     title="images under each leaf", tickangle=-60)
    return fig


def k_distance_curve(curve: np.ndarray, eps: float, suggested: float, min_samples: int) -> go.Figure:
    """Sorted distance of each point to its k-th neighbour, with the radius used and the suggestion."""
    x = np.linspace(0, 100, len(curve))
    fig = go.Figure(go.Scatter(x=x, y=curve, mode="lines", name=f"{min_samples}-distance",
                               hovertemplate="%{x:.0f}% of points: %{y:.3f}<extra></extra>"))
    fig.add_hline(y=suggested, line_dash="dot", line_color="#2ca02c",
                  annotation_text=f"suggested eps {suggested:.3g}", annotation_position="top left")
    if abs(eps - suggested) > 1e-9:
        fig.add_hline(y=eps, line_dash="dash", line_color="#d62728",
                      annotation_text=f"eps used {eps:.3g}", annotation_position="bottom right")
    fig.update_layout(title=f"Distance to the {min_samples}-th nearest neighbour, sorted", xaxis_title="% of points",
                      yaxis_title="distance", height=340, **_LAYOUT)
    return fig


def som_hits_heatmap(hits: np.ndarray, grid: Sequence[int], node_labels: Optional[np.ndarray] = None) -> go.Figure:
    """Samples per map node, laid out as the map, annotated with each node's cluster."""
    rows, cols = int(grid[0]), int(grid[1])
    counts = np.asarray(hits).reshape(rows, cols)
    text = counts.astype(str) if node_labels is None else np.array(
        [f"{h}<br>c{c}" for h, c in zip(np.asarray(hits), np.asarray(node_labels))]).reshape(rows, cols)
    fig = go.Figure(go.Heatmap(z=counts, colorscale="Viridis", text=text, texttemplate="%{text}",
                               hovertemplate="node (%{y}, %{x}): %{z} images<extra></extra>"))
    fig.update_layout(title="Images per map node (and the node's cluster)", height=420, **_LAYOUT)
    fig.update_yaxes(autorange="reversed", scaleanchor="x", showticklabels=False)
    fig.update_xaxes(showticklabels=False)
    return fig


def cluster_count_sweep(sweep) -> go.Figure:
    """Silhouette, GMM BIC and k-means inertia against the cluster count, the suggestion marked."""
    from plotly.subplots import make_subplots

    ks = list(sweep.ks)
    fig = make_subplots(rows=1, cols=3, subplot_titles=("Silhouette (higher is better)", "GMM BIC (lower is better)",
                                                        "k-means inertia (look for the elbow)"))
    for col, (values, color) in enumerate([(sweep.silhouette, "#ff7f0e"), (sweep.bic, "#2ca02c"),
                                           (sweep.inertia, "#1f77b4")], start=1):
        fig.add_trace(go.Scatter(x=ks, y=values, mode="lines+markers", line_color=color, showlegend=False,
                                 hovertemplate="k=%{x}: %{y:.4g}<extra></extra>"), row=1, col=col)
        fig.add_vline(x=sweep.suggested, line_dash="dash", line_color="#d62728", row=1, col=col)
    fig.update_xaxes(title_text="clusters", dtick=1 if len(ks) <= 20 else None)
    fig.update_layout(height=360, **_LAYOUT)
    return fig
