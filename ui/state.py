"""Session-state keys, initialised once in one place. Job and result live in non-widget keys so they
survive page switches (widget keys can be reset when their page is not shown)."""
from __future__ import annotations

from typing import Optional

import streamlit as st

from core.experiment import ClusteringResult
from ui.worker import TrainingJob

JOB = "job"          # the TrainingJob of this session (running or done), or None
RESULT = "result"    # the latest finished ClusteringResult, or None
TAKEN_N_CLUSTERS = "taken_n_clusters"  # (dataset, k) chosen on "How many clusters?", applied by Train
SWEEPS = "cluster_count_sweeps"        # {(result id, low, high): ClusterCountSweep}
TAKEN_JOB = "taken_job"  # id of the job whose result was last taken into RESULT (taken once, so a run
                         # opened from the Runs page is not replaced by an older job's result)

_DEFAULTS = {JOB: None, RESULT: None, SWEEPS: {}, TAKEN_JOB: None}


def init_state() -> None:
    for key, value in _DEFAULTS.items():
        st.session_state.setdefault(key, value)


def current_job() -> Optional[TrainingJob]:
    return st.session_state.get(JOB)


def current_result() -> Optional[ClusteringResult]:
    """The latest finished result, taking over a job's result as soon as it finishes."""
    job = current_job()
    if job is not None and job.result is not None and st.session_state.get(TAKEN_JOB) != job.id:
        st.session_state[RESULT] = job.result
        st.session_state[TAKEN_JOB] = job.id
    return st.session_state.get(RESULT)


def show_result(result: ClusteringResult) -> None:
    """Make `result` (e.g. a run opened from the store) the one the pages show."""
    current_result()  # take a finished job's result first, so it does not replace this one later
    st.session_state[RESULT] = result


def start_job(job: TrainingJob) -> None:
    from ui.cache import training_worker

    st.session_state[JOB] = training_worker().submit(job)


def require_result() -> Optional[ClusteringResult]:
    """The current result, or None after telling the user how to make one."""
    result = current_result()
    if result is None:
        job = current_job()
        if job is not None and not job.done:
            st.info("A model is training now: follow it on the Train page, and come back here when it "
                    "has finished.")
        else:
            st.info("Nothing to show yet: train a model first. Pick a dataset and an algorithm on the "
                    "**Train** page and press **Train**.")
        st.page_link("pages/train.py", label="Go to Train", icon=":material/model_training:")
    return result
