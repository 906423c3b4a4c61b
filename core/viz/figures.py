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
