"""Queueing a sweep (Sweeps' grid, Train's "Repeat with N seeds") and following a repeat over seeds on Train."""
from __future__ import annotations

from typing import Optional

import streamlit as st

from core.algorithms import ALGORITHMS
from core.runs import FAILED, FINISHED
from core.runs.runner import describe_point, estimate_sweep, sweep_configs, typical_seconds
from core.vocabulary import format_seconds
from ui.cache import run_store, training_worker
from ui.progress import POLL_SECONDS, describe, fraction
from ui.worker import SweepJob, TrainingJob

OWN_SWEEPS = "sweeps_own"  # ids of the sweeps this session queued: only it may cancel them (the Sweeps page's key)
REPEAT = "repeat_sweep"    # the sweep id of Train's latest "Repeat with N seeds", or None
MAX_REPEATS = 10


def queue_sweep(store, worker, base, axes: dict, configs: list, *, name: Optional[str] = None,
                ray_address: Optional[str] = None) -> SweepJob:
    """Record a sweep of `base` over `axes` in `store`, queue its runs (`configs`, in grid order) on `worker`
    (to be trained on the Ray cluster at `ray_address`, the server's, when given), and mark it this session's
    own (it may cancel it); returns it."""
    grid = {axis: list(values) for axis, values in axes.items()}
    sweep_id = store.sweeps.create(base, grid, name=name)
    jobs = [TrainingJob(config, name=f"{describe_point(config, axes)} (sweep {sweep_id})", sweep_id=sweep_id)
            for config in configs]
    sweep = worker.submit_sweep(SweepJob(sweep_id, name or f"Sweep {sweep_id}", grid, jobs, ray_address))
    st.session_state.setdefault(OWN_SWEEPS, set()).add(sweep_id)
    return sweep


def seeds_of(config, n_seeds: int) -> list[int]:
    """The seeds a repeat of `config` runs: its own and the `n_seeds` - 1 after it."""
    return [int(config.seed) + i for i in range(n_seeds)]


def seeds_text(seeds: list) -> str:
    """"seeds 0, 1 and 2" / "seeds 4 to 9"."""
    if len(seeds) > 3:
        return f"seeds {seeds[0]} to {seeds[-1]}"
    return "seeds " + (", ".join(map(str, seeds[:-1])) + f" and {seeds[-1]}" if len(seeds) > 1 else str(seeds[0]))


def queue_repeat(config, n_seeds: int) -> SweepJob:
    """Queue `config` over `n_seeds` seeds (its own and the next ones) as a sweep whose one axis is the seed,
    as this tab's repeat (:data:`REPEAT`)."""
    axes = {"seed": seeds_of(config, n_seeds)}
    title = f"{ALGORITHMS[config.algorithm].title} on {config.dataset}, {seeds_text(axes['seed'])}"
    sweep = queue_sweep(run_store(), training_worker(), config, axes, sweep_configs(config, axes), name=title)
    st.session_state[REPEAT] = sweep.sweep_id
    return sweep


def repeat_sweep() -> Optional[SweepJob]:
    """This tab's latest repeat, while the server still knows it."""
    wanted = st.session_state.get(REPEAT)
    return next((s for s in training_worker().sweeps if s.sweep_id == wanted), None) if wanted is not None else None


@st.fragment(run_every=POLL_SECONDS)
def repeat_progress(sweep: SweepJob, shown_job: Optional[TrainingJob]) -> None:
    """The repeat's progress: one bar for all its runs (the time left), one for the run training now, and Cancel.
    The whole page is drawn again when the run it trains changes (`shown_job`: the one the page drew the live
    view of) and when the repeat ends."""
    snap = sweep.snapshot()
    if not snap.running or snap.current is not shown_job:
        st.rerun(scope="app")
    job_snap = snap.current.snapshot()
    st.progress(min((snap.finished + snap.failed + fraction(job_snap)) / snap.total, 1.0),
                text=repeat_line(sweep, snap, fraction(job_snap)))
    st.progress(fraction(job_snap), text=f"Seed {snap.current.config.seed}: {describe(job_snap)}")
    if st.button("Cancel the repeat", key="repeat_cancel", icon=":material/stop:",
                 help="Stops the run training now and drops the seeds still queued; finished runs are kept."):
        sweep.cancel()
        st.rerun(scope="app")


def repeat_line(sweep: SweepJob, snap, current: float) -> str:
    """"Run 2 of 3 · about 40 s left, judging from the run finished so far"."""
    stored = run_store().list_runs(sweep_id=sweep.sweep_id)
    ended = [r.duration for r in stored if r.status in (FINISHED, FAILED) and r.duration is not None]
    typical = [] if ended else typical_seconds(run_store(), [job.config for job in sweep.jobs if not job.done])
    estimate = estimate_sweep(snap.total - snap.done - current, ended, typical)
    failed = f" · {snap.failed} failed" if snap.failed else ""
    return f"Run {snap.done + 1} of {snap.total} · {estimate.say(started=True)}{failed}"


def repeat_outcome(sweep: SweepJob) -> None:
    """How the repeat ended, its runs, and a link to Compare with its runs chosen."""
    snap = sweep.snapshot()
    seeds = [job.config.seed for job in sweep.jobs]
    runs = [job.run_id for job in sweep.jobs if job.status == FINISHED and job.run_id is not None]
    saved = ", ".join(f"#{run}" for run in runs)
    if snap.finished == snap.total:
        spent = sum(r.duration or 0.0 for r in run_store().list_runs(sweep_id=sweep.sweep_id))
        st.success(f"Repeated with {seeds_text(seeds)}: {snap.total} runs finished in {format_seconds(spent)}, "
                   f"saved as runs {saved}.", icon=":material/check_circle:")
    else:
        ended = "cancelled" if snap.cancelled else "ended"
        st.warning(f"The repeat with {seeds_text(seeds)} was {ended}: {snap.finished} of {snap.total} runs "
                   f"finished{f' (runs {saved})' if runs else ''}, {snap.failed} failed, {snap.cancelled} cancelled.",
                   icon=":material/warning:")
    if runs:
        # Compare opens on this sweep: by the link's ?sweep=, and by its pickers' state for this session
        st.session_state["compare_dataset"] = sweep.jobs[0].config.dataset
        st.session_state["compare_sweep"] = sweep.sweep_id
        st.page_link("pages/compare.py", label=f"Compare the {len(runs)} runs of these seeds",
                     icon=":material/compare_arrows:", query_params={"sweep": str(sweep.sweep_id)})
