"""Drawing a training job's progress (shared by Train and Sweeps)."""
from __future__ import annotations

import streamlit as st

from core.viz.figures import loss_curve
from ui.text import plain
from core.runs import RUNNING
from ui.worker import is_task
from core.algorithms import ALGORITHMS
from core.vocabulary import phase_label, run_seconds

POLL_SECONDS = 1.0  # how often a page asks the training process how a job is going
LOSS_POLL_SECONDS = 3.0  # how often the loss curve is drawn again while training (it costs the browser most)


def fraction(snap) -> float:
    """How far the whole run is, for its progress bar (not just the current phase)."""
    event = snap.event
    if event is None:
        return 0.0
    return event.overall if event.overall is not None else event.fraction


def describe(snap) -> str:
    """One line: what the job is doing, its loss, time left and elapsed."""
    event = snap.event
    if event is None:
        return f"{snap.waiting_for}..."
    parts = [f"{fraction(snap):.0%}", event.message]
    if event.loss is not None:
        parts.append(f"loss {event.loss:.4f}")
    left = event.seconds_left
    if left is not None and event.n_epochs:
        parts.append(f"about {left:.0f} s left in this phase")
    parts.append(f"{snap.elapsed:.0f} s elapsed")
    return " · ".join(parts)


@st.fragment(run_every=POLL_SECONDS)
def task_progress(job, cancel_key: str) -> None:
    """The progress bar of a task queued with the runs (the cluster-count scan, a projection), with
    Cancel; the whole page is drawn again once the task has ended, to show its outcome."""
    snap = job.snapshot()
    if snap.status != RUNNING:
        st.rerun(scope="app")
    st.progress(fraction(snap), text=describe(snap))
    if st.button("Cancel", key=cancel_key, icon=":material/stop:"):
        job.cancel()
        st.rerun(scope="app")


def show_losses(snap, key: str) -> None:
    if snap.losses:
        title = "Loss so far" if snap.status == RUNNING else "Training loss"
        st.plotly_chart(loss_curve(snap.losses, title=title), key=key)


def job_title(config) -> str:
    if is_task(config):
        return config.title

    return f"{ALGORITHMS[config.algorithm].title} on {plain(config.dataset)}"  # shown as Markdown: name escaped


def timings_table(timings: dict):
    """Seconds per phase under the phases' names, and the total (the run's duration on every page)."""
    import pandas as pd

    rows = [(phase_label(phase), round(seconds, 2)) for phase, seconds in timings.items() if phase != "total"]
    rows.append(("Total", round(run_seconds(timings), 2)))
    return pd.DataFrame(rows, columns=["Phase", "Seconds"])
