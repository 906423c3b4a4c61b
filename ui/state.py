"""Session-state keys, initialised once in one place. Job and result live in non-widget keys so they
survive page switches (widget keys can be reset when their page is not shown)."""
from __future__ import annotations

import copy
from typing import Optional

import streamlit as st

from core.experiment import ClusteringResult
from ui.text import plain
from core.runs import FINISHED
from core.vocabulary import run_name
from ui.worker import TrainingJob
from ui.access import can_edit
from ui.cache import run_store, training_worker
from ui.runs import load_run

JOB = "job"          # the TrainingJob of this session (running or done), or None
RESULT = "result"    # the latest finished ClusteringResult, or None
TAKEN_N_CLUSTERS = "taken_n_clusters"  # (dataset, k) chosen on "How many clusters?", applied by Train
SWEEPS = "cluster_count_sweeps"        # {(result id, low, high): ClusterCountSweep}
TAKEN_JOB = "taken_job"  # id of the job whose result was last taken into RESULT (taken once, so a run
                         # opened from the Runs page is not replaced by an older job's result)
URL_RUN = "url_run"      # the run id last written to (or read from) the page URL's ?run=
FORM = "form_memory"     # {widget key: value} of the Train and Sweeps forms, kept while pages change
RUN_PARAM = "run"        # the query parameter that names the run a result page shows
JOB_PARAM = "job"        # the query parameter that names the Train tab's own job (its id on this server)

_DEFAULTS = {JOB: None, RESULT: None, SWEEPS: {}, TAKEN_JOB: None, URL_RUN: None, FORM: {}}


def init_state() -> None:
    for key, value in _DEFAULTS.items():
        if key not in st.session_state:
            # A fresh copy for each session: a shared dict would carry one tab's form into another's.
            st.session_state[key] = copy.copy(value)


FORM_PREFIXES = ("train_", "sweep_")  # widget keys of the Train and Sweeps forms


def remember_form() -> None:
    """Copy the form widgets' latest values into FORM, at the start of every script run.

    Done here, not only where the form is drawn: a user who moves a slider and at once clicks another
    page sends the new value with that page's run, and the Train script never sees it.
    """
    memory = st.session_state[FORM]
    for key in list(st.session_state.keys()):
        if isinstance(key, str) and key.startswith(FORM_PREFIXES):
            try:
                memory[key] = st.session_state[key]
            except (KeyError, AttributeError):  # a widget being removed, or a button with no value to keep
                pass


def current_job() -> Optional[TrainingJob]:
    return st.session_state.get(JOB)


def current_result() -> Optional[ClusteringResult]:
    """The latest finished result, taking over a job's result as soon as it finishes."""
    job = current_job()
    if job is not None and job.status == FINISHED and st.session_state.get(TAKEN_JOB) != job.id:
        st.session_state[TAKEN_JOB] = job.id
        result = job.read_result(loader=load_run)  # by run id, from the store, with the server's cached data
        if result is not None:
            st.session_state[RESULT] = result
    return st.session_state.get(RESULT)


def show_result(result: ClusteringResult) -> None:
    """Make `result` (e.g. a run opened from the store) the one the pages show."""
    current_result()  # take a finished job's result first, so it does not replace this one later
    st.session_state[RESULT] = result


FIRST_LINE_WAIT = 0.5  # seconds a click on Train waits for the worker's first progress line


def start_job(job: TrainingJob) -> None:
    """Send `job` to the training process. A warm, idle worker answers within tens of milliseconds:
    waiting that long here lets the page drawn after the click show the first progress line at once,
    not "Preparing..." until the next poll; a busy or starting worker costs at most FIRST_LINE_WAIT."""

    st.session_state[JOB] = training_worker().submit(job)
    st.query_params[JOB_PARAM] = str(st.session_state[JOB].id)
    st.session_state[JOB].wait_for_progress(FIRST_LINE_WAIT)


def job_from_url() -> Optional[TrainingJob]:
    """The Train tab's job, kept in step with its address (``/train?job=3``).

    A tab refreshed, or a link opened, while its run trains (or just after it ended) finds the job again by
    that id and takes it back as its own, with the form set to the job's settings; a tab whose job the
    address does not name writes its id there.
    """
    job = current_job()
    try:
        asked = int(st.query_params.get(JOB_PARAM, ""))
    except ValueError:
        asked = None
    if asked is not None and (job is None or job.id != asked):
        found = training_worker().find(asked)
        if found is not None:
            st.session_state[JOB] = job = found
            return found
    if job is not None and asked != job.id:
        st.query_params[JOB_PARAM] = str(job.id)
    return job


def _url_run() -> Optional[int]:
    text = st.query_params.get(RUN_PARAM)
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None


def sync_result_with_url() -> Optional[ClusteringResult]:
    """The result a result page shows, kept in step with the URL's ``?run=<id>``.

    A run named in the URL that this session did not put there (a refresh, a bookmark, a new tab, a
    link) is opened from the store; otherwise the session's result writes its id into the URL, so
    that the address bar always names the run on screen.
    """

    asked = _url_run()
    if asked is not None and asked != st.session_state.get(URL_RUN):
        st.session_state[URL_RUN] = asked
        loaded = load_run(asked)
        if loaded is not None:
            show_result(loaded)
            return loaded
    result = current_result()
    if result is not None and result.run_id is not None:
        if asked != result.run_id:
            st.query_params[RUN_PARAM] = str(result.run_id)
        st.session_state[URL_RUN] = result.run_id
    return result


def result_name(result: ClusteringResult) -> str:
    """The run's name as the user last set it (looked up in the store, so a rename shows at once)."""

    if result.run_id is not None:
        try:
            return run_store().get(result.run_id).name
        except Exception:  # deleted meanwhile, or the store is unreadable: fall back to its settings
            pass
    return f"{result.algorithm_title} on {result.config.dataset}"


def result_heading(result: ClusteringResult) -> str:
    """"Run #7 · my run" (or the settings for a result that is not in the store), for Markdown: the user's
    name is escaped."""
    if result.run_id is None:
        return plain(result_name(result))
    return f"Run #{result.run_id} · {plain(run_name(result_name(result), result.run_id))}"  # '#' mid-line is text


def require_result() -> Optional[ClusteringResult]:
    """The result the page shows (from the URL, or this session's latest), with its name as a heading;
    or None after telling the user how to get one: the latest finished run in one click, or Train."""
    result = sync_result_with_url()
    if result is not None:
        st.markdown(f"##### {result_heading(result)}")
        return result
    job = current_job()
    if job is not None and not job.done:
        st.info("A model is training now: follow it on the Train page, and come back here when it "
                "has finished.")
    elif not can_edit():  # a viewer trains nothing: the runs are where results are
        st.info("Nothing to show yet: open a run on the **Runs** page.")
    else:
        st.info("Nothing to show yet: train a model first. Pick a dataset and an algorithm on the "
                "**Train** page and press **Train**, or open a saved run.")
    _offer_latest_run()
    if can_edit():
        st.page_link("pages/train.py", label="Go to Train", icon=":material/model_training:")
    return None


def _offer_latest_run() -> None:
    latest = next(iter(run_store().list_runs(status=FINISHED, limit=1)), None)
    if latest is None:
        return
    if st.button(f"Open the latest run: #{latest.id} · {plain(latest.name)}", key="open_latest_run", type="primary",
                 icon=":material/history:"):
        st.query_params[RUN_PARAM] = str(latest.id)
        st.rerun()
