"""Plotly figures comparing runs, built from the table of :func:`core.runs.compare.runs_table`.

Every figure keeps its title at the top left and its legend under the plot (the colour bar low on the right): Plotly's
toolbar (the modebar) sits at the top right of a chart and would otherwise cover them.
"""
from __future__ import annotations

import math
import textwrap
from dataclasses import dataclass, field
from typing import Optional, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.colors import sample_colorscale

from core.algorithms import ALGORITHMS
from core.viz import figures as _figures
from core.viz.palette import METRIC_COLOURS
from core.vocabulary import METRIC_HELP, METRICS, algorithm_names, column_label, run_name, value_text

COLOURSCALE = "Viridis"
MISSING_COLOUR = "#b0b0b0"  # a run without the colouring metric (e.g. no labels for NMI)

_LAYOUT = {k: v for k, v in _figures._LAYOUT.items() if not k.startswith("title")}  # titles: see _title
MODEBAR_BAND = getattr(_figures, "MODEBAR_BAND", 30)  # px at the top where the toolbar shows
_TOP = MODEBAR_BAND + 30  # top margin: the toolbar's band, then one line of title


def _title(text: str, *, above_plot: bool = True) -> dict:
    """A title at the left, below the toolbar's band: just above the plot area (as on every page), or at the
    top of the figure when the plot's own top margin holds something else (the axis titles)."""
    where = (dict(y=1, yref="paper", yanchor="bottom", pad=dict(b=10, l=8)) if above_plot
             else dict(y=1, yref="container", yanchor="top", pad=dict(t=MODEBAR_BAND, l=8)))
    return dict(text=text, x=0, xref="container", xanchor="left", font=dict(size=16), **where)


# A horizontal legend at the bottom of the figure.
LEGEND_UNDER = dict(orientation="h", x=0, xanchor="left", y=0, yref="container", yanchor="bottom")

def run_label(row) -> str:
    return f"#{row['id']} {run_name(row['name'], row['id'])}"[:40]


def wrap(text: str, width: int = 14, lines: int = 2) -> str:
    """`text` broken into at most `lines` lines of about `width` characters (joined with <br>), cut
    with "…" when longer (show the full text on hover)."""
    parts = textwrap.wrap(text, width=width, break_long_words=True) or [""]
    if len(parts) > lines:
        parts = parts[:lines]
        parts[-1] = parts[-1][: max(1, width - 1)].rstrip() + "…"
    return "<br>".join(parts)


# --------------------------------------------------------------------------- parallel coordinates

@dataclass
class Axis:
    """One vertical axis: a run's position on it in [0, 1] (NaN: the run has no value there), the tick
    positions and texts, and the title in full (for hover) and as drawn."""

    column: str
    title: str
    positions: np.ndarray
    texts: list
    ticks: list = field(default_factory=list)  # [(position, text)]
    note: str = ""


def _nice_ticks(low: float, high: float, count: int = 4) -> list[float]:
    span = high - low
    if span <= 0:
        return [low]
    step = 10 ** math.floor(math.log10(span / count))
    for factor in (1, 2, 2.5, 5, 10):
        if span / (step * factor) <= count:
            step *= factor
            break
    first = math.ceil(low / step - 1e-9) * step
    return [round(first + i * step, 10) for i in range(int((high - first) / step + 1e-9) + 1)]


def _numeric_axis(column: str, title: str, values: pd.Series, low=None, high=None) -> Axis:
    numbers = pd.to_numeric(values, errors="coerce").astype(float).to_numpy()
    present = numbers[~np.isnan(numbers)]
    texts = [value_text(column, v) for v in values]
    low = float(present.min()) if low is None else low
    high = float(present.max()) if high is None else high
    log = low > 0 and high / low >= 20 and column not in METRICS
    scale = np.log10 if log else (lambda v: v)
    lo, hi = scale(low), scale(high)
    span = hi - lo
    if span <= 0:  # one value: the middle of the axis
        return Axis(column, title, np.where(np.isnan(numbers), np.nan, 0.5), texts,
                    [(0.5, value_text(column, low))])
    positions = (scale(np.where(np.isnan(numbers), np.nan, numbers)) - lo) / span
    distinct = np.unique(present)
    if column in METRICS:
        tick_values = sorted({low, *[t for t in (0.0, 0.5, 1.0) if low <= t <= high]})
    elif len(distinct) <= 6:
        tick_values = list(distinct)
    elif log:
        tick_values = [10.0 ** e for e in range(math.ceil(lo), math.floor(hi) + 1)] or [low, high]
    else:
        tick_values = _nice_ticks(low, high)
    ticks, seen = [], set()
    for value in tick_values:
        text = f"{value:.2f}".rstrip("0").rstrip(".") if column in METRICS else value_text(column, value)
        if text not in seen:  # never the same label twice on one axis
            seen.add(text)
            ticks.append(((float(scale(value)) - lo) / span, text))
    return Axis(column, title, positions, texts, ticks)


def _category_axis(column: str, title: str, values: pd.Series) -> Axis:
    texts = [value_text(column, v) for v in values]
    present = sorted({t for t, v in zip(texts, values) if t != "-"})
    spots = {c: (i / (len(present) - 1) if len(present) > 1 else 0.5) for i, c in enumerate(present)}
    positions = np.array([spots.get(t, np.nan) if t != "-" else np.nan for t in texts], dtype=float)
    return Axis(column, title, positions, texts, [(spots[c], c) for c in present])


def comparison_axes(table: pd.DataFrame, hyperparameters: Sequence[str], metrics: Sequence[str]) -> list[Axis]:
    """The axes of :func:`parallel_coordinates`: each hyperparameter (numeric or categorical), then each
    metric any run has, on a fixed scale from min(0, lowest) to 1 so metrics read on the same scale."""
    axes = []
    for column in hyperparameters:
        values = table[column]
        numeric = pd.to_numeric(values.dropna(), errors="coerce").notna().all() and column != "algorithm"
        values = values.where(values.notna(), None)
        title = column_label(column, table)
        axis = (_numeric_axis if numeric else _category_axis)(column, title, values)
        if column == "k":
            found = [ALGORITHMS[a].title for a in algorithm_names(table["algorithm"])
                     if a in ALGORITHMS and not ALGORITHMS[a].uses_n_clusters]
            if found:
                axis.note = "Found by the algorithm for " + ", ".join(found) + "."
        axes.append(axis)
    for metric in metrics:
        if metric in table and table[metric].notna().any():
            low = min(0.0, float(table[metric].min()))
            axis = _numeric_axis(metric, metric, table[metric].astype(float), low=low, high=1.0)
            axis.note = METRIC_HELP.get(metric, "")
            axes.append(axis)
    return axes


def parallel_coordinates(table: pd.DataFrame, hyperparameters: Sequence[str], metrics: Sequence[str],
                         colour_by: str, title: Optional[str] = None) -> go.Figure:
    """One line per run across vertical axes, from the hyperparameters that vary (left) to the metrics
    (right), coloured by `colour_by` (colour bar at the right, below the toolbar).

    Drawn with plain lines rather than ``go.Parcoords``: a run that did not use a parameter leaves a
    gap on that axis instead of a made-up value, axis titles and categories are wrapped (full text on
    hover), each tick label is printed once, and hovering a line names the run and lists its values.
    """
    axes = comparison_axes(table, hyperparameters, metrics)
    n = len(axes)
    colour = table[colour_by].astype(float).to_numpy() if colour_by in table else np.full(len(table), np.nan)
    known = colour[~np.isnan(colour)]
    c_low, c_high = (float(known.min()), float(known.max())) if len(known) else (0.0, 1.0)
    spread = c_high - c_low >= 1e-9  # one run (or runs all alike) has nothing to colour: no made-up scale
    if not spread:
        c_low, c_high = c_low - 0.5, c_high + 0.5  # every line the middle colour
    fig = go.Figure()
    for i, (_, row) in enumerate(table.iterrows()):
        fig.add_trace(_run_line(run_label(row), i, axes, colour[i], c_low, c_high))
    if spread:  # the colour bar: an invisible trace carrying the colour scale
        fig.add_trace(go.Scatter(
            x=[None], y=[None], mode="markers", showlegend=False, hoverinfo="skip",
            marker=dict(color=[c_low, c_high], colorscale=COLOURSCALE, cmin=c_low, cmax=c_high, showscale=True,
                        colorbar=dict(title=dict(text=colour_by, side="top"), x=1.0, xanchor="left", xpad=10,
                                      y=0, yanchor="bottom", len=0.75, thickness=12)),
        ))
    annotations, shapes = _axis_drawing(axes, width=int(np.clip(120 / max(n, 1), 10, 18)))
    fig.update_layout(
        **{**_LAYOUT, "margin": dict(l=20, r=70, t=_TOP + 50, b=20)},
        title=_title(title or f"Settings → metrics (colour: {colour_by})", above_plot=False), height=480,
        annotations=annotations, shapes=shapes, hovermode="closest",
        xaxis=dict(range=[-0.75, max(n - 1, 0) + 0.25], visible=False, fixedrange=True),
        yaxis=dict(range=[-0.04, 1.04], visible=False, fixedrange=True),
    )
    return fig


def _run_line(name: str, i: int, axes, value: float, c_low: float, c_high: float) -> go.Scatter:
    """Run `i`'s line across the axes (a gap where it did not use a setting), coloured by `value` on the
    colour scale from `c_low` to `c_high`; hovering it lists the run's values."""
    lines = [f"<b>{name}</b>"] + [f"{a.title}: {'not used' if a.texts[i] == '-' else a.texts[i]}" for a in axes]
    line_colour = MISSING_COLOUR if np.isnan(value) else sample_colorscale(
        COLOURSCALE, [(value - c_low) / (c_high - c_low)])[0]
    ys = [None if np.isnan(a.positions[i]) else float(a.positions[i]) for a in axes]
    return go.Scatter(x=list(range(len(axes))), y=ys, mode="lines+markers", name=name, connectgaps=False,
                      showlegend=False, line=dict(color=line_colour, width=3), marker=dict(color=line_colour, size=8),
                      hovertemplate="<br>".join(lines) + "<extra></extra>")


def _axis_drawing(axes, width: int) -> tuple[list, list]:
    """The vertical axes as (annotations, shapes): each axis a line, its title wrapped to `width`
    characters (full text and note on hover) and its tick labels printed once."""
    annotations, shapes = [], []
    for x, axis in enumerate(axes):
        shapes.append(dict(type="line", x0=x, x1=x, y0=0, y1=1, line=dict(color="#555", width=1.5), layer="below"))
        hover = axis.title + (f": {axis.note}" if axis.note else "")
        annotations.append(dict(x=x, y=1, yref="y", yshift=14, yanchor="bottom",
                                text=f"<b>{wrap(axis.title, width=width)}</b>", showarrow=False, font=dict(size=12),
                                hovertext=hover))
        for position, text in axis.ticks:
            short = wrap(text, width=width, lines=3)
            annotations.append(dict(
                x=x, y=position, xanchor="right", xshift=-5, showarrow=False, text=short, align="right",
                font=dict(size=11, color="#333"), bgcolor="rgba(255,255,255,0.85)",
                hovertext=text if "…" in short else None))
    return annotations, shapes


# --------------------------------------------------------------------------- bars and scatter

def _wrapped_run_label(row, width: int = 14) -> str:
    return wrap(f"#{row['id']} {row['name']}", width=width, lines=3)


def metric_bars(table: pd.DataFrame, metrics: Sequence[str]) -> go.Figure:
    """Grouped bars: every metric of every run, side by side (legend under the plot)."""
    labels = [_wrapped_run_label(row) for _, row in table.iterrows()]
    names = [run_label(row) for _, row in table.iterrows()]
    fig = go.Figure()
    shown = [m for m in METRICS if m in metrics] + [m for m in metrics if m not in METRICS]
    for metric in shown:
        values = table[metric].astype(float)
        if values.notna().any():
            fig.add_trace(go.Bar(name=metric, x=labels, y=values, marker_color=METRIC_COLOURS.get(metric),
                                 customdata=names, text=[("" if np.isnan(v) else f"{v:.2f}") for v in values],
                                 textposition="outside", cliponaxis=False,
                                 hovertemplate="%{customdata}<br>" + metric + " %{y:.3f}<extra></extra>"))
    low = min(0.0, float(table[list(shown)].min().min()) if len(table) and shown else 0.0)
    fig.update_layout(**{**_LAYOUT, "margin": dict(l=10, r=10, t=_TOP, b=50)}, barmode="group",
                      title=_title("Metrics by run"), yaxis_range=[low - 0.05 if low < 0 else 0, 1.08],
                      height=420, legend=LEGEND_UNDER, uniformtext=dict(minsize=9, mode="hide"))
    fig.update_xaxes(type="category", tickangle=0)
    return fig


def metric_scatter(table: pd.DataFrame, hyperparameter: str, metric: str, group: str = "algorithm") -> go.Figure:
    """`metric` against `hyperparameter`, one marker per run, one colour per `group` value (legend under
    the plot); the runs of a group are joined by a line in hyperparameter order when it is numeric.
    Runs that did not use the hyperparameter are left out (said in the title)."""
    fig = go.Figure()
    label = column_label(hyperparameter, table)
    used = table[table[hyperparameter].notna()]
    numeric = hyperparameter != "algorithm" and pd.to_numeric(used[hyperparameter], errors="coerce").notna().all()
    for name, rows in used.groupby(group, sort=True):
        if numeric:
            x = pd.to_numeric(rows[hyperparameter], errors="coerce").to_numpy()
            order = np.argsort(x)
            x = x[order]
        else:
            x = np.array([wrap(value_text(hyperparameter, v), 12, 3) for v in rows[hyperparameter]])
            order = np.arange(len(rows))
        fig.add_trace(go.Scatter(
            x=x, y=rows[metric].astype(float).to_numpy()[order], name=str(name),
            mode="lines+markers" if numeric and len(rows) > 1 else "markers", marker=dict(size=11),
            customdata=[[run_label(r), value_text(hyperparameter, r[hyperparameter])]
                        for _, r in rows.iloc[order].iterrows()],
            hovertemplate="%{customdata[0]}<br>" + label + ": %{customdata[1]}<br>" + metric
                          + " %{y:.3f}<extra></extra>",
        ))
    left_out = len(table) - len(used)
    title = f"{metric} against {label}" + (f" ({left_out} run{'s' if left_out > 1 else ''} without it)"
                                            if left_out else "")
    fig.update_layout(**{**_LAYOUT, "margin": dict(l=10, r=10, t=_TOP, b=50)}, title=_title(title),
                      xaxis_title=label, yaxis_title=metric, height=420, legend=LEGEND_UNDER, showlegend=True)
    if not numeric:
        fig.update_xaxes(type="category", tickangle=0)
    return fig
