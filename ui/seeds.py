"""Runs that differ only in seed, shown as a group: each seed a point, the mean and its spread (Compare and
Sweeps show the same section)."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from core.runs.compare import seed_spread
from core.viz.diff import seed_spread_figure
from core.vocabulary import METRIC_HELP

CHART_CONFIG = {"displaylogo": False}


def spread_table(spread: pd.DataFrame, metrics: list) -> pd.DataFrame:
    """One row per seed group: its setting, runs, seeds, and "mean ± SD (min-max)" for each metric and the time."""
    rows = []
    for _, group in spread.iterrows():
        row = {"Setting": group["title"], "Runs": ", ".join(f"#{i}" for i in group["runs"]),
               "Seeds": ", ".join(map(str, group["seeds"]))}
        for metric, label in [*((m, m) for m in metrics), ("seconds", "Time (s)")]:
            mean, sd, low, high = (group[f"{metric} {part}"] for part in ("Mean", "SD", "Min", "Max"))
            digits = 1 if metric == "seconds" else 3
            row[label] = "-" if pd.isna(mean) else (f"{mean:.{digits}f} ± {sd:.{digits}f} "
                                                    f"({low:.{digits}f}–{high:.{digits}f})")
        rows.append(row)
    return pd.DataFrame(rows)


def seed_spread_section(table: pd.DataFrame, metrics: list, key: str, default_metric: str = "") -> bool:
    """The seed groups of `table` (a runs_table): a chart of one metric (or the time) with each seed as a
    point and the mean ± SD, and a table of every metric's mean ± SD (min-max). Returns False, showing nothing,
    when no runs of `table` differ only in seed."""
    spread = seed_spread(table, metrics)
    if spread.empty:
        return False
    choices = [*metrics, "seconds"]
    labels = {m: m for m in metrics} | {"seconds": "Time (s)"}
    metric = st.selectbox("Score", choices, index=choices.index(default_metric) if default_metric in choices else 0,
                          key=f"{key}_seed_metric", format_func=labels.get, width=240,
                          help="Each seed's run is a point; the bar is the mean, the whiskers one standard "
                               "deviation either side.")
    st.plotly_chart(seed_spread_figure(table, spread, metric, labels[metric]), key=f"{key}_seed_chart",
                    config=CHART_CONFIG)
    st.dataframe(spread_table(spread, metrics), hide_index=True, key=f"{key}_seed_table",
                 column_config={m: st.column_config.TextColumn(m, help=METRIC_HELP.get(m)) for m in metrics}
                 | {"Setting": st.column_config.TextColumn("Setting", pinned=True)})
    n = len(spread)
    st.caption(f"{n} setting{'s' if n != 1 else ''} repeated over seeds: mean ± standard deviation over the seeds "
               "(min–max). A single run's score can be a lucky seed; the mean is what the setting gives.")
    return True
