"""Plotly figures of runs against runs: the spread of a seed group, where one run's clusters went in another
(a flow diagram), and the agreement between every two runs of a group."""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from core.viz.compare import wrap
from core.viz.figures import _LAYOUT
from core.viz.palette import METRIC_COLOURS, PALETTE, cluster_color
from core.vocabulary import cluster_name


def _rgba(colour: str, alpha: float) -> str:
    colour = colour.lstrip("#")
    red, green, blue = (int(colour[i:i + 2], 16) for i in (0, 2, 4))
    return f"rgba({red},{green},{blue},{alpha})"


def seed_spread_figure(table: pd.DataFrame, spread: pd.DataFrame, metric: str, label: str = "") -> go.Figure:
    """Each seed group of `spread` (:func:`core.runs.compare.seed_spread` of `table`) as a column: every seed's
    run a point (hover: run and seed; the lowest and highest are the range), the mean a bar-shaped marker with
    the standard deviation as error bars. `metric` is a column of `table` ("seconds" for the duration)."""
    label = label or metric
    colour = METRIC_COLOURS.get(metric, PALETTE[0])
    fig = go.Figure()
    names = [wrap(title, width=22, lines=3) for title in spread["title"]]
    by_id = table.set_index("id")
    for name, (_, group) in zip(names, spread.iterrows()):
        runs = by_id.loc[[i for i in group["runs"] if i in by_id.index]]
        values = pd.to_numeric(runs[metric], errors="coerce")
        fig.add_trace(go.Scatter(
            x=[name] * len(runs), y=values, mode="markers", showlegend=False,
            marker=dict(size=9, color=_rgba(colour, 0.55), line=dict(width=1, color=colour)),
            customdata=[[int(i), int(s)] for i, s in zip(runs.index, runs["p:seed"])],
            hovertemplate=f"run #%{{customdata[0]}}, seed %{{customdata[1]}}: {label} %{{y:.3f}}<extra></extra>"))
    fig.add_trace(go.Scatter(
        x=names, y=spread[f"{metric} Mean"], mode="markers", name="mean ± SD",
        marker=dict(symbol="line-ew-open", size=26, color="#333", line=dict(width=3, color="#333")),
        error_y=dict(type="data", array=spread[f"{metric} SD"].fillna(0), color="#333", thickness=1.5, width=8),
        customdata=np.stack([spread[f"{metric} SD"], spread[f"{metric} Min"], spread[f"{metric} Max"],
                             [len(s) for s in spread["seeds"]]], axis=1),
        hovertemplate=(f"mean {label} %{{y:.3f}} ± %{{customdata[0]:.3f}} (SD) · min %{{customdata[1]:.3f}}, "
                       "max %{customdata[2]:.3f} · %{customdata[3]} seeds<extra></extra>")))
    fig.update_layout(title=f"{label} by setting: each seed a point, the mean ± SD",
                      yaxis_title=label, height=380, showlegend=False, **_LAYOUT)
    fig.update_xaxes(type="category", tickangle=0)
    return fig


def flow_sankey(flows: pd.DataFrame, matched: dict, left_title: str, right_title: str,
                left_label: Callable = cluster_name, right_label: Callable = cluster_name) -> go.Figure:
    """Where run A's clusters went in run B (`flows`: from, to, count; see :func:`core.runs.compare.diff_labellings`):
    A's clusters on the left, B's on the right in their matched colours (`matched`: B's id -> A's), a band per
    pair as wide as the images the two clusters share, coloured by A's cluster."""
    lefts = sorted(flows["from"].unique().tolist())
    rights = sorted(flows["to"].unique().tolist(), key=lambda b: (matched.get(int(b), b), b))
    node = {("a", c): i for i, c in enumerate(lefts)}
    node.update({("b", c): len(lefts) + i for i, c in enumerate(rights)})
    labels = [left_label(c) for c in lefts] + [right_label(c) for c in rights]
    colours = [cluster_color(c) for c in lefts] + [cluster_color(matched.get(int(c), c)) for c in rights]
    kept = flows["from"].to_numpy() == np.array([matched.get(int(b), b) for b in flows["to"]])
    fig = go.Figure(go.Sankey(
        arrangement="fixed",
        node=dict(label=labels, color=colours, pad=8, thickness=14, line=dict(width=0),
                  x=[0.001] * len(lefts) + [0.999] * len(rights),
                  y=_stacked(flows, "from", lefts) + _stacked(flows, "to", rights),
                  hovertemplate="%{label}: %{value} images<extra></extra>"),
        link=dict(source=[node["a", a] for a in flows["from"]], target=[node["b", b] for b in flows["to"]],
                  value=flows["count"].tolist(),
                  color=[_rgba(cluster_color(a), 0.45 if same else 0.2) for a, same in zip(flows["from"], kept)],
                  hovertemplate="%{source.label} → %{target.label}: %{value} images<extra></extra>")))
    fig.update_layout(title=f"Where the clusters of {left_title} (left) went in {right_title} (right)",
                      height=max(360, 26 * max(len(lefts), len(rights)) + 120), **_LAYOUT)
    return fig


def _stacked(flows: pd.DataFrame, side: str, order: list) -> list:
    """Node centres on one side, stacked in `order` from the top, each as tall as its images."""
    sizes = flows.groupby(side)["count"].sum().reindex(order).to_numpy(dtype=float)
    share = sizes / sizes.sum()
    gap = 0.02
    scale = max(1 - gap * (len(order) - 1), 0.2)
    tops = np.concatenate([[0], np.cumsum(share * scale + gap)[:-1]])
    return np.clip(tops + share * scale / 2, 0.001, 0.999).tolist()


def agreement_heatmap(matrix: np.ndarray, ids: Sequence[int], names: Sequence[str]) -> go.Figure:
    """The ARI between every two runs (`ids`, shown as "#id"), as a grid of square markers that can be clicked
    (Plotly heatmaps report no selection); each off-diagonal cell carries its two run ids as `customdata`."""
    matrix = np.asarray(matrix)
    n = len(ids)
    ticks = [f"#{i}" for i in ids]
    rows, columns = np.nonzero(~np.eye(n, dtype=bool))
    cell = max(18, min(48, int(560 / max(n, 1))))
    values = matrix[rows, columns]
    fig = go.Figure(go.Scatter(
        x=[ticks[c] for c in columns], y=[ticks[r] for r in rows], mode="markers+text" if n <= 12 else "markers",
        marker=dict(symbol="square", size=cell, color=values, colorscale="Viridis", cmin=min(0.0, values.min(initial=0)),
                    cmax=1, showscale=True, colorbar=dict(title="ARI", thickness=12), line=dict(width=0)),
        text=[f"{v:.2f}" for v in values], textfont=dict(size=10, color=["#222" if v > 0.6 else "white" for v in values]),
        customdata=[[int(ids[r]), int(ids[c]), names[r], names[c]] for r, c in zip(rows, columns)],
        hovertemplate="%{customdata[2]} and %{customdata[3]}: ARI %{marker.color:.3f}<extra>click to diff them</extra>",
        showlegend=False))
    fig.update_layout(title="Agreement between every two runs (ARI; 1 = the same clusters)", dragmode=False,
                      height=max(340, (cell + 4) * n + 140), **_LAYOUT)
    fig.update_yaxes(type="category", categoryorder="array", categoryarray=ticks, autorange="reversed", showgrid=False)
    fig.update_xaxes(type="category", categoryorder="array", categoryarray=ticks, showgrid=False)
    return fig
