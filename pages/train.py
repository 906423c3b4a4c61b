"""Train: pick data and an algorithm, tune it, train with live progress, cancel at will."""
from dataclasses import replace

import streamlit as st

from core.vocabulary import format_seconds
from core.algorithms import ALGORITHMS
from ui.cache import run_store, training_worker
from ui.runs import load_run
from ui.config_form import config_form, config_problem, load_config_into_form
from ui.progress import LOSS_POLL_SECONDS, POLL_SECONDS, describe, fraction, job_title, show_losses, timings_table
from ui.text import plain
from ui.state import FORM, TAKEN_N_CLUSTERS, current_job, current_result, job_from_url, start_job
from core.runs import CANCELLED, FAILED, FINISHED, QUEUED, RUNNING
from ui.worker import TrainingJob, is_task

st.title("Train")
taken = st.session_state.pop(TAKEN_N_CLUSTERS, None)
if taken is not None:  # "Take k clusters and go to Train": the run analysed, with that count
    analysed = current_result()
    if analysed is not None and analysed.config.dataset == taken[0]:
        load_config_into_form(replace(analysed.config, n_clusters=int(taken[1])))
    else:
        st.session_state[FORM]["train_n_clusters_pending"] = int(taken[1])
    st.toast(f"Number of clusters set to {int(taken[1])}.", icon=":material/check:")
adopted = current_job()
job = job_from_url()  # a refreshed tab takes its own job back, with the form set to its settings
if job is not None and job is not adopted and not is_task(job.config):
    load_config_into_form(job.config)
config = config_form("train")
running = job is not None and job.status == RUNNING
problem = config_problem(config) if config is not None else ""
if problem:
    st.error(plain(problem), icon=":material/error:")
if config is not None and st.button("Train", type="primary", disabled=running or bool(problem), key="train",
                                    icon=":material/play_arrow:"):
    start_job(TrainingJob(config))
    st.rerun()


@st.fragment(run_every=POLL_SECONDS)
def live_progress(job: TrainingJob, own: bool) -> None:
    """Progress of `job`; `own` is False for a job started elsewhere (another tab, a sweep), shown so that
    every tab sees what the server is training, without the buttons that would stop someone else's work."""
    snap = job.snapshot()
    if snap.status != RUNNING:
        st.rerun(scope="app")  # let the whole page show the outcome and re-enable Train
    if not own:
        where = (f"sweep {job.sweep_id}; the tab that queued it can cancel it on Sweeps" if job.sweep_id else
                 "another tab; only that tab can cancel it")
        doing = "Running" if is_task(job.config) else "Training"
        if job.shown_status == QUEUED:
            st.info(f"Queued: {job_title(job.config)} (from {where}).", icon=":material/schedule:")
        else:
            st.info(f"{doing} {job_title(job.config)} (started from {where}).", icon=":material/sync:")
    st.progress(fraction(snap), text=describe(snap))
    if own:
        stop_buttons(job, snap)


def stop_buttons(job: TrainingJob, snap) -> None:
    """Cancel, and for a deep run Stop and keep: for the tab that started the job only."""
    cancel, keep = st.columns([1, 3])
    if cancel.button("Cancel", key="cancel", icon=":material/stop:", help="Stop now; nothing is kept."):
        job.cancel()
        st.rerun(scope="app")
    if getattr(job.config, "algorithm", None) in ALGORITHMS and ALGORITHMS[job.config.algorithm].deep:
        if keep.button("Stop and keep", key="stop_keep", icon=":material/front_hand:", disabled=snap.stopping,
                       help="End training at the next epoch and cluster with what the network has learned "
                            "so far; the run is saved as usual."):
            job.stop_early()
            st.rerun(scope="fragment")
        if snap.stopping:
            keep.caption("Stopping after this epoch, then clustering...")


@st.fragment(run_every=LOSS_POLL_SECONDS)
def live_losses(job: TrainingJob) -> None:
    """The loss curve so far, redrawn less often than the progress line: on 2 cores, drawing it at every poll
    kept the browser and the server busy enough to slow the training itself (bench/first_click.py)."""
    snap = job.snapshot()
    if snap.status == RUNNING:
        show_losses(snap, key="live_loss")


if job is not None and job.status == RUNNING:
    live_progress(job, own=True)
    live_losses(job)
else:
    others = training_worker().active_jobs()
    if others:
        live_progress(others[0], own=False)
        live_losses(others[0])
    snap = job.snapshot() if job is not None else None
    if snap is not None and snap.config != config:
        # The banner belongs to the run it describes: once the settings change it makes way for them.
        if snap.status == FINISHED and snap.run_id is not None:
            st.caption(f"Run #{snap.run_id} ({job_title(snap.config)}) finished; its results stay on Explore "
                       "and Metrics. Press Train to run the settings above.")
    elif snap is not None:
        result = None
        if snap.status == FINISHED:
            current_result()  # the pages show this run from now on
            result = job.read_result(loader=load_run)  # read back from the store by its run id
        if result is not None:
            saved = f" Saved as run #{snap.run_id}." if snap.run_id is not None else ""
            st.success(f"Finished in {format_seconds(result.total_seconds)}. {result.summary()}{saved}",
                       icon=":material/check_circle:")
            if snap.stopping:
                note = run_store().get(snap.run_id).message if snap.run_id is not None else ""
                st.info(plain(note or "Training was stopped early, as asked; the clusters use what the network had "
                                      "learned by then."), icon=":material/front_hand:")
            if result.degenerate_note():
                st.warning(result.degenerate_note(), icon=":material/warning:")
            left, middle, right = st.columns(3)
            link = {"query_params": {"run": str(snap.run_id)}} if snap.run_id is not None else {}
            left.page_link("pages/explore.py", label="Explore the clusters", icon=":material/scatter_plot:", **link)
            middle.page_link("pages/metrics.py", label="See the metrics", icon=":material/analytics:", **link)
            right.page_link("pages/runs.py", label="All runs", icon=":material/history:")
        elif snap.status == CANCELLED:
            kept = " The previous result is still shown on Explore and Metrics." if current_result() else ""
            st.warning(f"Training cancelled after {format_seconds(snap.elapsed)}.{kept}", icon=":material/stop_circle:")
        elif snap.status == FAILED:
            st.error(f"Training failed: {snap.error}", icon=":material/error:")
        show_losses(snap, key="final_loss")
        if result is not None and result.timings:
            with st.expander("Time per phase"):
                st.dataframe(timings_table(result.timings), hide_index=True)
