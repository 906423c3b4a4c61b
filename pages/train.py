"""Train: pick data and an algorithm, tune it, train with live progress (and a live picture of the clusters
forming), cancel at will; or repeat the setting over several seeds."""
from dataclasses import replace

import streamlit as st

from core.vocabulary import format_seconds
from core.algorithms import ALGORITHMS
from ui.cache import run_store, training_worker
from ui.runs import load_run
from ui.config_form import config_form, config_problem, keep, load_config_into_form, remembered, run_summary
from ui.learning import live_frames, show_replay, watches
from ui.progress import LOSS_POLL_SECONDS, POLL_SECONDS, describe, fraction, job_title, show_losses, timings_table
from ui.text import plain
from ui.state import FORM, TAKEN_N_CLUSTERS, current_job, current_result, job_from_url, start_job
from ui.sweeps import MAX_REPEATS, REPEAT, queue_repeat, repeat_outcome, repeat_progress, repeat_sweep
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
bar, area = st.container(), st.container()  # Train and what it is doing, seen without scrolling; the form below
config = config_form("train")
repeat = repeat_sweep()
running = (job is not None and job.status == RUNNING) or (repeat is not None and repeat.snapshot().running)
problem = config_problem(config) if config is not None else ""
SEEDS_KEY = "train_repeat_seeds"


def train_bar(config, problem: str, running: bool) -> None:
    """One line saying what Train will train, how many seeds to repeat it with, and the Train button: at the
    top of the page, where a first visit at 1280x720 sees it without scrolling."""
    summary, seeds, button = st.columns([5, 2, 1.4], vertical_alignment="bottom")
    remembered(SEEDS_KEY, 1, lambda v: isinstance(v, int) and 1 <= v <= MAX_REPEATS)
    seeds.number_input("Repeat with N seeds", 1, MAX_REPEATS, step=1, key=SEEDS_KEY, on_change=keep, args=(SEEDS_KEY,),
                       help="With N above 1, Train queues N runs of these settings with seeds s, s+1, ..., s+N-1 (s: "
                            "the seed under Advanced), so that Compare shows the setting's mean and spread rather "
                            "than one lucky seed.")
    n_seeds = int(keep(SEEDS_KEY))
    summary.markdown(run_summary(config, n_seeds))
    if problem:
        st.error(plain(problem), icon=":material/error:")
    if button.button("Train", type="primary", disabled=running or bool(problem), key="train",
                     icon=":material/play_arrow:", width="stretch"):
        if n_seeds > 1:
            queue_repeat(config, n_seeds)
        else:
            st.session_state[REPEAT] = None
            start_job(TrainingJob(config))
        st.rerun()


if config is not None:
    with bar:
        train_bar(config, problem, running)
        device = training_worker().device  # said by the training process: the server never loads TensorFlow
        st.caption(f"Training runs on {device}." if device else "Training runs in a process that is starting.")


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


def live_view(job: TrainingJob, own: bool) -> None:
    """`job`'s progress, then its loss curve and, for a deep run, the live picture of its clusters forming."""
    live_progress(job, own=own)
    if not watches(job.config):
        live_losses(job)
        return
    losses, picture = st.columns(2, gap="large")
    with losses:
        live_losses(job)
    with picture:
        live_frames(job)


def finished_banner(result, snap) -> None:
    """The finished run's line (its duration, and why it was so short where its autoencoder was reused), the
    notes that go with it and the links to its pages."""
    note = run_store().get(snap.run_id).message if snap.run_id is not None else ""
    saved = f" Saved as run #{snap.run_id}." if snap.run_id is not None else ""
    said = f" {plain(note)}" if note and not snap.stopping else ""  # e.g. its autoencoder pretrained before, reused
    st.success(f"Finished in {format_seconds(result.total_seconds)}.{said} {result.summary()}{saved}",
               icon=":material/check_circle:")
    if snap.stopping:
        st.info(plain(note or "Training was stopped early, as asked; the clusters use what the network had "
                              "learned by then."), icon=":material/front_hand:")
    if result.degenerate_note():
        st.warning(result.degenerate_note(), icon=":material/warning:")
    left, middle, right = st.columns(3)
    link = {"query_params": {"run": str(snap.run_id)}} if snap.run_id is not None else {}
    left.page_link("pages/explore.py", label="Explore the clusters", icon=":material/scatter_plot:", **link)
    middle.page_link("pages/metrics.py", label="See the metrics", icon=":material/analytics:", **link)
    right.page_link("pages/runs.py", label="All runs", icon=":material/history:")


def outcome(job, config) -> None:
    """How this tab's last run ended: its line and links, its loss curve beside the replay of its clusters
    forming, its time per phase. Once the settings change it makes way for them."""
    snap = job.snapshot() if job is not None else None
    if snap is None:
        return
    if snap.config != config:
        if snap.status == FINISHED and snap.run_id is not None:
            st.caption(f"Run #{snap.run_id} ({job_title(snap.config)}) finished; its results stay on Explore "
                       "and Metrics. Press Train to run the settings above.")
        return
    result = None
    if snap.status == FINISHED:
        current_result()  # the pages show this run from now on
        result = job.read_result(loader=load_run)  # read back from the store by its run id
    if result is not None:
        finished_banner(result, snap)
    elif snap.status == CANCELLED:
        kept = " The previous result is still shown on Explore and Metrics." if current_result() else ""
        st.warning(f"Training cancelled after {format_seconds(snap.elapsed)}.{kept}", icon=":material/stop_circle:")
    elif snap.status == FAILED:
        st.error(f"Training failed: {snap.error}", icon=":material/error:")
    if result is not None and watches(result.config):
        losses, picture = st.columns(2, gap="large")
        with losses:
            show_losses(snap, key="final_loss")
        with picture:
            show_replay(result.frames, result.config, key="train_replay", dataset=result.dataset)
    else:
        show_losses(snap, key="final_loss")
    if result is not None and result.timings:
        with st.expander("Time per phase"):
            st.dataframe(timings_table(result.timings), hide_index=True)


def repeat_view(sweep) -> None:
    """This tab's repeat over seeds: its progress and the run training now, or how it ended."""
    snap = sweep.snapshot()
    if not snap.running:
        repeat_outcome(sweep)
        return
    repeat_progress(sweep, snap.current)
    if watches(snap.current.config):
        losses, picture = st.columns(2, gap="large")
        with losses:
            live_losses(snap.current)
        with picture:
            live_frames(snap.current)


with area:
    if repeat is not None:  # the latest thing this tab queued (a single Train clears it)
        repeat_view(repeat)
    elif job is not None and job.status == RUNNING:
        live_view(job, own=True)
    else:
        others = training_worker().active_jobs()
        if others:
            live_view(others[0], own=False)
        outcome(job, config)
