"""Plotly figures of a clustering result."""
from __future__ import annotations

from typing import Optional, Sequence

import numpy as np
import plotly.graph_objects as go

from core.viz.palette import ACCENT, METRIC_COLOURS, PALETTE, cluster_color, cluster_symbol
from core.selection import Selection
from core.viz.images import png_data_uri
from core.vocabulary import METRICS, cluster_name, phase_label

# Plotly's toolbar (the modebar) shows in a band at the top right of a chart while the pointer is over it.
# Every chart keeps that band free: its title sits left-aligned just above the plot area, below the band,
# and legends stay inside the plot area's height (right of it or below it), never in the band.
MODEBAR_BAND = 30    # px: the toolbar's height and its offset from the top of the chart
TITLE_HEIGHT = 30    # px: one line of title and its gap to the plot
_LAYOUT = dict(
    margin=dict(l=10, r=10, t=MODEBAR_BAND + TITLE_HEIGHT, b=10), template="plotly_white",
    title_x=0, title_xref="container", title_xanchor="left", title_y=1, title_yref="paper", title_yanchor="bottom",
    title_pad=dict(b=10),
)
# Legends for a few entries: one horizontal row under the plot, aligned left.
_LEGEND_BELOW = dict(orientation="h", x=0, xanchor="left", y=-0.18, yanchor="top")
# A confidence at least this high is certainty: nothing to learn from the "least confident" members.
CERTAIN_CONFIDENCE = 0.995


def projection_scatter(points: np.ndarray, groups: np.ndarray, *, group_names: Optional[dict] = None,
                       indices: np.ndarray, clusters: np.ndarray, true_names: Optional[Sequence[str]] = None,
                       title: str = "", colour_by: str = "Cluster", colour_ids: Optional[dict] = None,
                       selected: Optional[np.ndarray] = None, shape: Optional[Selection] = None,
                       cluster_label=cluster_name, height: int = 560) -> go.Figure:
    """2-D scatter, one trace per group (cluster or true label) so the legend toggles groups.

    Each group is drawn with the colour and marker symbol of its colour id (`colour_ids`, {group: id}; by
    default the group itself, see :func:`core.viz.palette.colour_ids`). Each point carries its row (its
    position in the run's data) and its dataset index as `customdata` (numbers only; its cluster's name and
    true label are its `text`), the row being what a selection event reads back; hover
    shows its index in the dataset, its cluster (named by `cluster_label`) and (when known) its true label.
    `selected` rows are drawn selected (the rest dimmed) and `shape`, a box or lasso on these points, is
    outlined: how a selection read from a link looks the same as the one drawn. `height` in pixels.
    """
    fig = go.Figure()
    use_gl = len(points) > 3000  # WebGL keeps big scatters smooth
    Scatter = go.Scattergl if use_gl else go.Scatter
    colour_ids = colour_ids or {}
    rows = np.arange(len(points))
    chosen = None
    if selected is not None:
        chosen = np.zeros(len(points), dtype=bool)
        chosen[np.asarray(selected, dtype=np.int64)] = True
    names_of = {int(c): cluster_label(c) for c in np.unique(clusters)}
    for group in np.unique(groups):
        mask = groups == group
        name = (group_names or {}).get(int(group), str(group))
        colour_id = colour_ids.get(group.item(), int(group))
        labels = np.asarray(true_names)[mask] if true_names is not None else np.full(mask.sum(), "-")
        trace = Scatter(
            x=points[mask, 0], y=points[mask, 1], mode="markers", name=name,
            marker=dict(size=7 if len(points) < 5000 else 5, color=cluster_color(colour_id),
                        symbol=cluster_symbol(colour_id), opacity=0.85),
            # numbers as one typed array, words as text: a figure of 70,000 points copies and sends fast
            customdata=np.column_stack([rows[mask], indices[mask]]).astype(np.int32),
            text=[f"{names_of[int(c)]}<br>label {y}" for c, y in zip(clusters[mask], labels)],
            hovertemplate="index %{customdata[1]}<br>%{text}<extra></extra>",
        )
        if chosen is not None:
            trace.selectedpoints = np.flatnonzero(chosen[mask]).tolist()
            trace.unselected = dict(marker=dict(opacity=0.15))
        fig.add_trace(trace)
    fig.update_layout(title=title, legend_title_text=colour_by, height=height, **_LAYOUT)
    if shape is not None and shape.kind in ("box", "lasso"):
        fig.update_layout(selections=[_outline(shape)])
    fig.update_xaxes(showticklabels=False, title=None)
    fig.update_yaxes(showticklabels=False, title=None, scaleanchor="x")
    return fig


def _outline(shape: Selection) -> dict:
    """A box or lasso as a Plotly layout selection (the dashed outline Plotly draws around a selection)."""
    if shape.kind == "box":
        (x0, x1), (y0, y1) = sorted(shape.x[:2]), sorted(shape.y[:2])
        return dict(type="rect", xref="x", yref="y", x0=x0, x1=x1, y0=y0, y1=y1)
    path = "M" + "L".join(f"{x:.6g},{y:.6g}" for x, y in zip(shape.x, shape.y)) + "Z"
    return dict(type="path", xref="x", yref="y", path=path)


def add_new_points(fig: go.Figure, points: np.ndarray, clusters: np.ndarray, names: Sequence[str]) -> go.Figure:
    """New images placed in a run, drawn over its projection as large outlined stars in their cluster's
    colour; hover names the image and its cluster."""
    fig.add_trace(go.Scatter(
        x=points[:, 0], y=points[:, 1], mode="markers", name="new images",
        marker=dict(size=18, symbol="star", color=[cluster_color(int(c)) for c in clusters],
                    line=dict(color="#000", width=1.5)),
        customdata=np.column_stack([list(names), [cluster_name(c) for c in clusters]]),
        hovertemplate="new: %{customdata[0]}<br>%{customdata[1]}<extra></extra>"))
    return fig


def cluster_sizes_bar(clusters: np.ndarray, counts: np.ndarray, cluster_label=cluster_name) -> go.Figure:
    names = [cluster_label(c) for c in clusters]
    fig = go.Figure(go.Bar(
        x=names, y=counts, marker_color=[cluster_color(int(c)) for c in clusters],
        hovertemplate="%{x}: %{y} images<extra></extra>",
    ))
    fig.update_layout(title="Cluster sizes", yaxis_title="images", height=340, **_LAYOUT)
    fig.update_xaxes(type="category", tickangle=-45 if len(names) > 6 else 0)
    return fig


def cluster_profiles_heatmap(profiles, highlight: Optional[int] = None) -> go.Figure:
    """Each cluster's mean feature values (rows: clusters, columns: features, scaled 0-1 per feature over the
    whole table), the tabular counterpart of an image gallery; `highlight` outlines one cluster's row."""
    names = [cluster_name(c) for c in profiles.index]
    fig = go.Figure(go.Heatmap(
        z=profiles.to_numpy(), x=[str(c) for c in profiles.columns], y=names, colorscale="Viridis", zmin=0, zmax=1,
        colorbar=dict(title="mean<br>(0-1)"),
        hovertemplate="%{y}, %{x}: %{z:.2f} of the feature's range<extra></extra>"))
    if highlight is not None and highlight in list(profiles.index):
        row = list(profiles.index).index(highlight)
        fig.add_shape(type="rect", x0=-0.5, x1=len(profiles.columns) - 0.5, y0=row - 0.5, y1=row + 0.5,
                      line=dict(color="#d62728", width=3))
    fig.update_layout(title="Mean feature profile of each cluster", height=max(260, 60 + 26 * len(names)), **_LAYOUT)
    fig.update_yaxes(autorange="reversed", type="category")
    fig.update_xaxes(type="category", tickangle=-45 if len(profiles.columns) > 8 else 0)
    return fig


RESTART_PHASE = "pretrain"  # the history phase whose optimiser restarts (the autoencoder's, core.models.training)


def restart_epochs(history: Sequence[dict], restart_every: Optional[int]) -> list[int]:
    """The epochs of `history`'s autoencoder training that began with a restart of its optimiser (every
    `restart_every`-th epoch after the first, :func:`core.models.training.restarts`): each shows as a spike."""
    if not restart_every:
        return []
    epochs = [int(h["epoch"]) for h in history if h.get("phase", "train") == RESTART_PHASE]
    return [e for e in epochs if e > 1 and (e - 1) % int(restart_every) == 0]


def loss_curve(history: Sequence[dict], title: str = "Training loss", restart_every: Optional[int] = None,
               height: int = 320) -> go.Figure:
    """Loss per epoch, one line per training phase. With `restart_every` (the run's setting), a faint dotted
    line marks each restart of the autoencoder's optimiser, with one legend entry, so the spike after it
    is explained on the chart."""
    fig = go.Figure()
    phases = list(dict.fromkeys(h.get("phase", "train") for h in history))
    for i, phase in enumerate(phases):
        rows = [h for h in history if h.get("phase", "train") == phase]
        fig.add_trace(go.Scatter(x=[r["epoch"] for r in rows], y=[r["loss"] for r in rows], name=phase_label(phase),
                                 mode="lines+markers" if len(rows) < 40 else "lines",
                                 line_color=PALETTE[i % len(PALETTE)]))
    restarts = restart_epochs(history, restart_every)
    if restarts:  # one trace of vertical segments: one legend entry, toggled as one
        losses = [float(h["loss"]) for h in history]
        low, high = min(losses), max(losses)
        xs, ys = [], []
        for epoch in restarts:  # between the epoch before and the one that starts afresh
            xs += [epoch - 0.5, epoch - 0.5, None]
            ys += [low, high, None]
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", name="optimizer restart",
                                 line=dict(color="#888888", width=1, dash="dot"),
                                 hovertemplate="the optimiser (Adam) restarted: the loss jumps, then falls lower"
                                               "<extra></extra>"))
    # the legend inside the plot's top right, which a falling loss leaves empty (below it, it ran into the
    # axis title on a half-width chart)
    fig.update_layout(title=title, xaxis_title="epoch", yaxis_title="loss", height=height,
                      showlegend=len(phases) > 1 or bool(restarts),
                      legend=dict(x=1, xanchor="right", y=1, yanchor="top", bgcolor="rgba(255,255,255,0.8)"),
                      **_LAYOUT)
    return fig


def metrics_bar(scores: dict) -> go.Figure:
    """Bar per defined metric, on a common [-1, 1] axis (silhouette can be negative)."""
    names = [k for k, v in scores.items() if v is not None]
    values = [scores[k] for k in names]
    fig = go.Figure(go.Bar(x=names, y=values, text=[f"{v:.3f}" for v in values], textposition="outside",
                           marker_color=[METRIC_COLOURS.get(n, PALETTE[0]) for n in names]))
    low = min(0.0, min(values, default=0.0) - 0.1)
    fig.update_layout(title="Scores", yaxis_range=[low, 1.1], height=360, **_LAYOUT)
    return fig


def scores_with_spread(summary, height: int = 360) -> go.Figure:
    """A run's scores as bars beside their spread over the seeds of its group: the mean with a bar of one
    standard deviation either side, and a thin line from the lowest to the highest seed. `summary` is
    :func:`core.runs.compare.seed_summary`'s table (rows that are not scores, the time, are left out)."""
    rows = summary[summary["Metric"].isin(METRICS)]
    names, seeds = rows["Metric"].tolist(), int(rows["Seeds"].max()) if len(rows) else 0
    this, mean = rows["This run"].astype(float), rows["Mean"].astype(float)
    fig = go.Figure(go.Bar(x=names, y=this, name="this run", text=[f"{v:.3f}" for v in this], textposition="inside",
                           marker_color=[METRIC_COLOURS.get(n, PALETTE[0]) for n in names], opacity=0.85,
                           hovertemplate="%{x}, this run: %{y:.3f}<extra></extra>"))
    fig.add_trace(go.Scatter(x=names, y=mean, mode="markers", name=f"lowest–highest of {seeds} seeds",
                             marker=dict(color="#555555", size=12, symbol="line-ns-open", line=dict(width=1)),
                             error_y=dict(type="data", symmetric=False, array=rows["Max"].astype(float) - mean,
                                          arrayminus=mean - rows["Min"].astype(float), color="#555555", thickness=1,
                                          width=14), hoverinfo="skip"))
    fig.add_trace(go.Scatter(x=names, y=mean, mode="markers", name=f"mean ± SD of {seeds} seeds",
                             marker=dict(color="#222222", size=10, symbol="diamond"),
                             error_y=dict(type="data", array=rows["SD"].astype(float), color="#222222", thickness=3,
                                          width=6),
                             customdata=np.column_stack([rows["SD"], rows["Min"], rows["Max"]]).astype(float),
                             hovertemplate="%{x}: mean %{y:.3f} ± %{customdata[0]:.3f}, from %{customdata[1]:.3f} "
                                           "to %{customdata[2]:.3f}<extra></extra>"))
    low = min(0.0, float(rows["Min"].min()) - 0.1 if len(rows) else 0.0, float(this.min()) - 0.1 if len(rows) else 0.0)
    fig.update_layout(title=f"Scores, and their spread over {seeds} seeds", yaxis_range=[low, 1.1], height=height,
                      legend=_LEGEND_BELOW, **{**_LAYOUT, "margin": dict(_LAYOUT["margin"], b=60)})
    return fig


def contingency_heatmap(counts: np.ndarray, clusters: Sequence, class_names: Sequence[str],
                        classes: Optional[Sequence] = None, cluster_label=cluster_name) -> go.Figure:
    """Cluster (rows) versus true label (columns), in counts: a grid of square markers shaded by count, so
    that a cell can be clicked (Plotly heatmaps report no selection). Each non-empty cell carries its
    (cluster id, class id) as `customdata`; `classes` are the ids of `class_names` (their positions when
    not given)."""
    counts = np.asarray(counts)
    classes = list(range(len(class_names))) if classes is None else list(classes)
    rows, columns = np.nonzero(counts > 0)
    values = counts[rows, columns]
    names = [cluster_label(c) for c in clusters]
    cell = max(16, min(40, int(560 / max(len(clusters), len(class_names), 1))))
    fig = go.Figure(go.Scatter(
        x=[str(class_names[c]) for c in columns], y=[names[r] for r in rows], mode="markers+text",
        marker=dict(symbol="square", size=cell, color=values, colorscale="Blues", cmin=0,
                    cmax=max(int(counts.max()), 1), showscale=True, line=dict(width=0)),
        text=[str(int(v)) for v in values],
        textfont=dict(size=10, color=["white" if v > counts.max() / 2 else "#333" for v in values]),
        # a list, not an array: Plotly sends a numeric array as a typed array, whose points read back as {"0": ..}
        customdata=[[int(clusters[r]), int(classes[c])] for r, c in zip(rows, columns)],
        hovertemplate="%{y}, label %{x}: %{text} images<extra>click to see them</extra>",
        showlegend=False,
    ))
    fig.update_layout(title="Clusters versus true labels (counts)", xaxis_title="true label",
                      height=max(340, (cell + 4) * len(clusters) + 140), dragmode=False, **_LAYOUT)
    fig.update_yaxes(autorange="reversed", type="category", categoryorder="array", categoryarray=names,
                     showgrid=False)
    fig.update_xaxes(type="category", categoryorder="array", categoryarray=[str(n) for n in class_names],
                     showgrid=False)
    return fig


def is_certain(confidence: np.ndarray) -> bool:
    """Whether every confidence is at least :data:`CERTAIN_CONFIDENCE` (the model doubts no image)."""
    confidence = np.asarray(confidence)
    return confidence.size > 0 and float(np.min(confidence)) >= CERTAIN_CONFIDENCE


def confidence_box(confidence: np.ndarray, labels: np.ndarray) -> go.Figure:
    """Distribution of each cluster's soft-assignment confidence (largest membership probability)."""
    fig = go.Figure()
    for cluster in np.unique(labels):
        values = confidence[labels == cluster]
        fig.add_trace(go.Box(y=values, name=cluster_name(cluster), boxpoints=False,
                             marker_color=cluster_color(int(cluster)), showlegend=False))
    fig.update_layout(title="Confidence of the members of each cluster", yaxis_title="confidence",
                      yaxis_range=[0, 1.02], height=360, **_LAYOUT)
    fig.update_xaxes(tickangle=-45 if len(np.unique(labels)) > 8 else 0)
    return fig


def label_change_curve(changes: Sequence[float], tol: Optional[float] = None) -> go.Figure:
    """Fraction of samples that changed cluster at each refresh of the target distribution."""
    steps = list(range(1, len(changes) + 1))
    fig = go.Figure(go.Scatter(x=steps, y=[100 * c for c in changes], mode="lines+markers", name="changed",
                               line_color=PALETTE[0],
                               hovertemplate="refresh %{x}: %{y:.2f}% changed<extra></extra>"))
    if tol is not None:
        fig.add_hline(y=100 * tol, line_dash="dot", line_color="#555",
                      annotation_text=f"stop below {100 * tol:g}%", annotation_position="bottom left")
    fig.update_layout(title="Labels changed between target refreshes", xaxis_title="refresh",
                      yaxis_title="% of images", height=320, **_LAYOUT)
    return fig


def transition_heatmap(before: np.ndarray, after: np.ndarray) -> go.Figure:
    """How many samples went from each starting cluster (rows) to each final cluster (columns)."""
    rows, cols = np.unique(before), np.unique(after)
    counts = np.zeros((len(rows), len(cols)), dtype=int)
    np.add.at(counts, (np.searchsorted(rows, before), np.searchsorted(cols, after)), 1)
    fig = go.Figure(go.Heatmap(
        z=counts, x=[cluster_name(c) for c in cols], y=[cluster_name(r) for r in rows], colorscale="Purples",
        text=counts, texttemplate="%{text}", hovertemplate="from %{y} to %{x}: %{z} images<extra></extra>",
    ))
    fig.update_layout(title="From the k-means start (rows) to the final clusters", xaxis_title="final cluster",
                      yaxis_title="k-means start", height=max(340, 30 * len(rows) + 160), **_LAYOUT)
    fig.update_yaxes(autorange="reversed", type="category")
    fig.update_xaxes(type="category", tickangle=-45)
    return fig


def dendrogram_figure(linkage: np.ndarray, n_clusters: Optional[int] = None, top: int = 30) -> go.Figure:
    """The top of a hierarchical clustering tree: the last `top` merges, with the cut that gives
    `n_clusters` drawn as a dashed line. Leaf labels give the number of images under each leaf."""
    from scipy.cluster.hierarchy import dendrogram

    tree = dendrogram(linkage, truncate_mode="lastp", p=top, no_plot=True, show_leaf_counts=True)
    fig = go.Figure()
    for xs, ys in zip(tree["icoord"], tree["dcoord"]):
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", line=dict(color=PALETTE[0], width=1.5),
                                 hoverinfo="skip", showlegend=False))
    n_leaves = len(tree["ivl"])
    ticks = [5 + 10 * i for i in range(n_leaves)]
    if n_clusters and 1 < n_clusters <= len(linkage):
        heights = linkage[:, 2]
        cut = (heights[-n_clusters] + heights[-n_clusters + 1]) / 2
        fig.add_hline(y=cut, line_dash="dash", line_color=ACCENT,
                      annotation_text=f"cut: {n_clusters} clusters", annotation_position="top left")
    fig.update_layout(title=f"Top of the merge tree (last {n_leaves - 1} merges)", yaxis_title="merge distance",
                      height=440, **{**_LAYOUT, "margin": dict(_LAYOUT["margin"], r=30)})
    # Leaves sit every 10 units from 5: half a step of room on both sides keeps the first and last
    # (slanted) leaf labels inside the chart.
    fig.update_xaxes(tickvals=ticks, ticktext=[t.replace("(", "").replace(")", "") for t in tree["ivl"]],
                     range=[-5, 10 * n_leaves + 5], title="images under each leaf", tickangle=-60,
                     automargin=True, showgrid=False, zeroline=False)
    return fig


def k_distance_curve(curve: np.ndarray, eps: float, suggested: float, min_samples: int) -> go.Figure:
    """Sorted distance of each point to its k-th neighbour, with the radius used and the suggestion."""
    x = np.linspace(0, 100, len(curve))
    fig = go.Figure(go.Scatter(x=x, y=curve, mode="lines", name=f"{min_samples}-distance", line_color=PALETTE[0],
                               hovertemplate="%{x:.0f}% of points: %{y:.3f}<extra></extra>"))
    fig.add_hline(y=suggested, line_dash="dot", line_color=PALETTE[1],
                  annotation_text=f"suggested eps {suggested:.3g}", annotation_position="top left")
    if abs(eps - suggested) > 1e-9:
        fig.add_hline(y=eps, line_dash="dash", line_color=ACCENT,
                      annotation_text=f"eps used {eps:.3g}", annotation_position="bottom left")
    fig.update_layout(title=f"Distance to the {min_samples}-th nearest neighbour, sorted", xaxis_title="% of points",
                      yaxis_title="distance", height=360, **_LAYOUT)
    return fig


def som_hits_heatmap(hits: np.ndarray, grid: Sequence[int], node_labels: Optional[np.ndarray] = None) -> go.Figure:
    """Samples per map node, laid out as the map, annotated with each node's cluster."""
    rows, cols = int(grid[0]), int(grid[1])
    counts = np.asarray(hits).reshape(rows, cols)
    text = counts.astype(str) if node_labels is None else np.array(
        [f"{h}<br>c{c}" for h, c in zip(np.asarray(hits), np.asarray(node_labels))]).reshape(rows, cols)
    fig = go.Figure(go.Heatmap(z=counts, colorscale="Viridis", text=text, texttemplate="%{text}",
                               hovertemplate="node (%{y}, %{x}): %{z} images<extra></extra>"))
    fig.update_layout(title="Images per map node (and its cluster)", height=440, **_LAYOUT)
    fig.update_yaxes(autorange="reversed", scaleanchor="x", showticklabels=False)
    fig.update_xaxes(showticklabels=False)
    return fig


def _current_run_line(current: int, ks: Sequence[int], values: Sequence[float], first: bool) -> go.Scatter:
    """A dotted vertical line at the current run's count (only a legend entry when it is outside `ks`)."""
    inside = ks[0] <= current <= ks[-1]
    finite = [v for v in values if np.isfinite(v)]
    return go.Scatter(x=[current, current] if inside else [None], y=[min(finite), max(finite)] if inside else [None],
                      mode="lines", name=f"Current run: {current}" + ("" if inside else " (outside the range swept)"),
                      line=dict(color="#555555", dash="dot", width=2), legendgroup="current", showlegend=first,
                      legendrank=1001, hoverinfo="skip")


_SWEEP_PANELS = {  # criterion (core.model_selection.Criterion.name): panel title, line colour
    "UMAP silhouette": ("UMAP silhouette (higher is better)", PALETTE[2]),
    "silhouette in the embedding": ("Embedding silhouette (higher is better)", PALETTE[1]),
    "GMM BIC": ("GMM BIC (lower is better)", PALETTE[0]),
    "elbow of the inertia": ("k-means inertia (look for the elbow)", PALETTE[6]),
}


def cluster_count_sweep(sweep, current: Optional[int] = None) -> go.Figure:
    """Each criterion of the scan (:attr:`core.model_selection.ClusterCountSweep.criteria`: the UMAP silhouette
    when the run has a UMAP, the silhouette in the embedding, the GMM BIC, the k-means inertia) against the
    cluster count, one panel each, two to a row, each titled as the other charts are (left, above its plot).
    Each panel marks its own best count with a star and a legend entry naming it (and saying when it is at the
    edge of the range scanned); a dotted line marks `current`, the current run's count. The x axes span the
    counts scanned, with at most about eight upright ticks."""
    from plotly.subplots import make_subplots

    ks = list(sweep.ks)
    criteria = sweep.criteria
    cols = min(2, len(criteria))
    rows = -(-len(criteria) // cols)
    fig = make_subplots(rows=rows, cols=cols, horizontal_spacing=0.1, vertical_spacing=0.22,
                        subplot_titles=[_SWEEP_PANELS[c.name][0] for c in criteria])
    for i, criterion in enumerate(criteria):
        row, col = i // cols + 1, i % cols + 1
        _, colour = _SWEEP_PANELS[criterion.name]
        values, k, label = list(criterion.values), criterion.best, criterion.label
        fig.add_trace(go.Scatter(x=ks, y=values, mode="lines+markers", line_color=colour, showlegend=False,
                                 hovertemplate="%{x} clusters: %{y:.4g}<extra></extra>"), row=row, col=col)
        edge = " (edge of the range)" if criterion.at_edge else ""
        fig.add_trace(go.Scatter(
            x=[k], y=[values[ks.index(k)]], mode="markers", name=f"{label}: {k}{edge}",
            marker=dict(symbol="star", size=17, color=colour, line=dict(color="#000000", width=1.5)),
            hovertemplate=f"{label}: {k} clusters{edge}<extra></extra>"), row=row, col=col)
        if current is not None:
            fig.add_trace(_current_run_line(current, ks, values, first=i == 0), row=row, col=col)
    step = max(1, -(-len(ks) // 8))  # upright ticks: about eight per panel at most
    fig.update_xaxes(range=[ks[0] - 0.5, ks[-1] + 0.5], tickmode="linear", tick0=ks[0], dtick=step, tickangle=0,
                     showgrid=False)
    fig.update_xaxes(title_text="clusters")
    for i, title in enumerate(fig.layout.annotations):  # panel titles: left, over their plot, as chart titles are
        title.update(x=fig.layout[f"xaxis{i + 1 if i else ''}"].domain[0], xanchor="left", font=dict(size=14))
    fig.update_layout(height=300 * rows + 60, legend=dict(_LEGEND_BELOW, y=-0.22 / rows),
                      **{**_LAYOUT, "margin": dict(_LAYOUT["margin"], b=20)})
    return fig


def _framed(image: np.ndarray, cluster: Optional[int], size: int = 32, border: int = 2) -> np.ndarray:
    """`image` (H, W, C) in [0, 1] as RGB enlarged by whole pixels to about `size`, inside a `border`-pixel
    frame of `cluster`'s colour (none without a cluster)."""
    image = np.asarray(image, dtype=np.float32)
    image = np.repeat(image, 3, axis=-1) if image.shape[-1] == 1 else image[..., :3]
    factor = max(1, int(round(size / max(image.shape[:2]))))
    image = np.repeat(np.repeat(image, factor, axis=0), factor, axis=1)
    if cluster is None:
        return image
    colour = np.array([int(cluster_color(int(cluster))[i:i + 2], 16) for i in (1, 3, 5)], dtype=np.float32) / 255
    framed = np.empty((image.shape[0] + 2 * border, image.shape[1] + 2 * border, 3), dtype=np.float32)
    framed[...] = colour
    framed[border:-border, border:-border] = image
    return framed


def add_image_map(fig: go.Figure, points: np.ndarray, rows: np.ndarray, images: np.ndarray, cells: int = 20,
                  clusters: Optional[np.ndarray] = None) -> go.Figure:
    """Draw `images` ((len(rows), H, W, C) in [0, 1], the images of `rows`) at their rows' `points`, each about
    one cell of a `cells` x `cells` grid of the view wide, over dimmed markers: an image map of the projection
    (zooming in makes them larger). With `clusters` (the cluster of each image), each image is framed in its
    cluster's colour. Small images are enlarged by whole pixels first, so the browser does not blur them."""
    points = np.asarray(points, dtype=np.float64)
    span = np.maximum(points.max(axis=0) - points.min(axis=0), 1e-12) / cells * 0.9
    fig.update_layout(images=[dict(source=png_data_uri(_framed(image, None if clusters is None else clusters[k])),
                                   x=float(points[i, 0]), y=float(points[i, 1]), sizex=float(span[0]),
                                   sizey=float(span[1]), xref="x", yref="y", xanchor="center", yanchor="middle",
                                   layer="above", sizing="contain")
                            for k, (i, image) in enumerate(zip(rows, images))])
    fig.update_traces(marker_opacity=0.25, selector=dict(mode="markers"))
    return fig
