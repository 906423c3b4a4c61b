"""Plotly figures comparing runs, built from the table of :func:`core.runs.compare.runs_table`."""
from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from core.viz.figures import _LAYOUT

METRIC_COLOURS = {"ACC": "#1f77b4", "NMI": "#2ca02c", "ARI": "#9467bd", "Purity": "#8c564b", "Silhouette": "#ff7f0e"}


def column_label(column: str) -> str:
    return column[2:] if column.startswith("p:") else column


def run_label(row) -> str:
    return f"#{row['id']} {row['name']}"[:40]


def _axis(values: pd.Series, label: str) -> dict:
    """A parallel-coordinates dimension: numbers as they are, anything else as evenly spaced categories."""
    numeric = pd.to_numeric(values, errors="coerce")
    if numeric.notna().all():
        return dict(label=label, values=numeric.to_numpy(dtype=float))
    text = values.map(lambda v: "n/a" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v))
    categories = sorted(text.unique())
    codes = text.map({c: i for i, c in enumerate(categories)}).to_numpy(dtype=float)
    return dict(label=label, values=codes, tickvals=list(range(len(categories))), ticktext=categories)


def parallel_coordinates(table: pd.DataFrame, hyperparameters: Sequence[str], metrics: Sequence[str],
                         colour_by: str) -> go.Figure:
    """One line per run, from its hyperparameters (left) to its metrics (right), coloured by `colour_by`."""
    metrics = [m for m in metrics if table[m].notna().any()]
    dimensions = [_axis(table[c], column_label(c)) for c in hyperparameters]
    dimensions += [dict(label=m, values=table[m].astype(float).to_numpy(), range=[min(0.0, float(table[m].min())), 1.0])
                   for m in metrics]
    colour = table[colour_by].astype(float).fillna(0.0) if colour_by in table else np.zeros(len(table))
    fig = go.Figure(go.Parcoords(
        line=dict(color=colour, colorscale="Viridis", showscale=True, colorbar=dict(title=colour_by)),
        dimensions=dimensions,
    ))
    fig.update_layout(title=f"Hyperparameters → metrics (colour: {colour_by})", height=420,
                      **{**_LAYOUT, "margin": dict(l=60, r=40, t=100, b=30)})
    return fig


def metric_bars(table: pd.DataFrame, metrics: Sequence[str]) -> go.Figure:
    """Grouped bars: every metric of every run, side by side."""
    labels = [run_label(row) for _, row in table.iterrows()]
    fig = go.Figure()
    for metric in metrics:
        values = table[metric].astype(float)
        if values.notna().any():
            fig.add_trace(go.Bar(name=metric, x=labels, y=values, marker_color=METRIC_COLOURS.get(metric),
                                 text=[("" if np.isnan(v) else f"{v:.2f}") for v in values], textposition="outside"))
    low = min(0.0, float(table[list(metrics)].min().min()) if len(table) else 0.0)
    fig.update_layout(barmode="group", title="Metrics by run", yaxis_range=[low - 0.05, 1.1], height=400,
                      legend=dict(orientation="h", y=1.02, x=1, xanchor="right", yanchor="bottom"), **_LAYOUT)
    fig.update_xaxes(type="category")
    return fig


def metric_scatter(table: pd.DataFrame, hyperparameter: str, metric: str, group: str = "algorithm") -> go.Figure:
    """`metric` against `hyperparameter`, one marker per run, one colour per `group` value; the runs of a
    group are joined by a line in hyperparameter order when the hyperparameter is numeric."""
    fig = go.Figure()
    numeric = pd.to_numeric(table[hyperparameter], errors="coerce").notna().all()
    for name, rows in table.groupby(group, sort=True):
        x = pd.to_numeric(rows[hyperparameter], errors="coerce") if numeric else rows[hyperparameter].astype(str)
        order = np.argsort(x.to_numpy()) if numeric else np.arange(len(rows))
        fig.add_trace(go.Scatter(
            x=x.to_numpy()[order], y=rows[metric].astype(float).to_numpy()[order], name=str(name),
            mode="lines+markers" if numeric and len(rows) > 1 else "markers", marker=dict(size=10),
            text=[run_label(r) for _, r in rows.iloc[order].iterrows()],
            hovertemplate="%{text}<br>" + column_label(hyperparameter) + " %{x}<br>" + metric + " %{y:.3f}<extra></extra>",
        ))
    fig.update_layout(title=f"{metric} against {column_label(hyperparameter)}", xaxis_title=column_label(hyperparameter),
                      yaxis_title=metric, height=380, legend_title_text=group, **_LAYOUT)
    if not numeric:
        fig.update_xaxes(type="category")
    return fig
