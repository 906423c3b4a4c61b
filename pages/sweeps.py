"""Sweeps: vary one or two settings over a grid of values, queue the runs, follow them, compare them."""
import pandas as pd
import streamlit as st

from core.algorithms import ALGORITHMS, DEFAULT_ALGORITHM
from core.cli import command_line
from core.metrics import HEADLINE_METRICS, METRICS
from core.runs import FAILED, FINISHED, QUEUED, RUNNING
from core.runs.compare import default_rank_metric, runs_table
from core.runs.ray_sweeps import RAY_MISSING, configured_address, ray_installed
from core.runs.runner import (axis_value, describe_point, estimate_sweep, parse_axis_value, sweep_axes, sweep_configs,
                              typical_seconds)
from ui.cache import run_store, training_worker
from ui.config_form import config_form, config_problem
from ui.seeds import seed_spread_section
from ui.progress import describe, fraction, job_title
from ui.text import plain
from ui.sweeps import queue_sweep
from ui.worker import SweepJob

POLL_SECONDS = 1.0
NO_SECOND = "(nothing)"
MAX_RUNS = 60
MAX_SEEDS = 10
OWN_SWEEPS = "sweeps_own"  # ids of the sweeps this session queued: only it may cancel them
SWEEP_PARAM = "sweep"      # the query parameter naming this tab's sweep, so that a refreshed tab takes it back


def suggested_values(algorithm: str, axis: str) -> str:
    """A starting list of values for `axis`: around the default, within the allowed range."""
    if axis == "n_clusters":
        return "8, 10, 12"
    if axis == "seed":
        return "0, 1, 2"
    if axis == "n_samples":
        return "1000, 2000, all"
    spec = {p.name: p for p in ALGORITHMS[algorithm].params}[axis]
    if spec.kind == "choice":
        return ", ".join("auto" if o is None else str(o) for o in list(spec.options)[:3])
    if spec.kind == "int":
        values = sorted({max(int(spec.low), spec.default // 2), spec.default, min(int(spec.high), spec.default * 2)})
        return ", ".join(map(str, values))
    if spec.kind == "float":
        return ", ".join(str(v) for v in sorted({spec.low, spec.default, spec.high}))
    return "auto"


def axis_values(algorithm: str, axis: str, slot: str) -> list:
    """The values box for one axis; parsed, with errors shown under it (empty list on error)."""
    text = st.text_input(f"Values of {sweep_axes(algorithm)[axis]}", value=suggested_values(algorithm, axis),
                         key=f"sweep_values_{slot}_{algorithm}_{axis}", help="Separate values with commas.")
    try:
        values = [parse_axis_value(algorithm, axis, part) for part in text.split(",") if part.strip()]
    except ValueError as error:
        st.error(plain(error))
        return []
    if not values:
        st.error("Give at least one value.")
    return values


def grid_picker(algorithm: str):
    """The first setting to vary and its values, and an optional second; returns {setting: values}
    (an empty list where the values do not parse)."""
    axes_names = sweep_axes(algorithm)
    first_col, second_col = st.columns(2)
    with first_col:
        options = list(axes_names)
        default_first = "latent_dim" if "latent_dim" in options else options[0]
        first = st.selectbox("First setting", options, index=options.index(default_first), key=f"sweep_axis1_{algorithm}",
                             format_func=axes_names.get)
        axes = {first: axis_values(algorithm, first, "1")}
    with second_col:
        rest = [NO_SECOND] + [a for a in options if a != first]
        second = st.selectbox("Second setting (optional)", rest, key=f"sweep_axis2_{algorithm}",
                              format_func=lambda a: axes_names.get(a, a))
        if second != NO_SECOND:
            axes[second] = axis_values(algorithm, second, "2")
    return axes


def seed_repeats(axes: dict) -> int:
    """How many seeds to repeat every point of the grid with (1: once), unless the seed is one of its axes."""
    if "seed" in axes:
        return 1
    return int(st.number_input("Repeat each point with N seeds", 1, MAX_SEEDS, 1, key="sweep_seeds", width=260,
                               help="Each point of the grid is trained with seeds s, s+1, ... (s: the seed below), "
                                    "so Compare and this page can show each setting's mean and spread instead of "
                                    "one lucky seed."))


def with_seeds(base, axes: dict, repeats: int) -> dict:
    """`axes` with the seed as an axis of `repeats` values from the base seed up (unchanged for one)."""
    if base is None or repeats <= 1:
        return axes
    return {**axes, "seed": [base.seed + i for i in range(repeats)]}


def planned_runs(base, axes: dict) -> tuple[list, bool]:
    """The runs the grid makes and whether they can be queued, saying why not and how to run the same
    sweep from the command line."""
    valid = base is not None and all(axes.values())
    if not valid:
        return [], False
    configs = sweep_configs(base, axes)
    axes_names = sweep_axes(base.algorithm)
    st.markdown(f"**{len(configs)} runs** of {job_title(base)}: "
                + " × ".join(f"{axes_names[a]} ({', '.join(map(str, v))})" for a, v in axes.items()))
    if len(configs) > MAX_RUNS:
        st.error(f"That is more than {MAX_RUNS} runs: use fewer values.")
        valid = False
    else:
        problem = next((p for p in map(config_problem, configs) if p), "")
        if problem:
            st.error(plain(problem), icon=":material/error:")
            valid = False
    if valid:
        estimate = estimate_sweep(len(configs), [], typical_seconds(run_store(), configs))
        st.caption(f":material/schedule: {sentence(estimate.say(started=False))}")
    with st.expander("The same sweep from the command line"):
        st.code(command_line(base, axes), language="bash")
        st.caption("Run it from the project folder with the virtual environment's Python (`.venv/bin/python`); "
                   "its runs land in the same store and show here, on Runs and on Compare.")
    return configs, valid


def ray_choice():
    """The server's Ray cluster when the sweep is to run there, else None. Offered only when the server was
    started with one (core.runs.ray_sweeps.RAY_ADDRESS_ENV): a visitor chooses it, never names one."""
    address = configured_address()
    if not address:
        return None
    if not ray_installed():
        st.caption(f":material/warning: This server is set to use the Ray cluster at {address}, but {RAY_MISSING}.")
        return None
    on_ray = st.checkbox(f"Run on the Ray cluster ({address})", key="sweep_on_ray",
                         help="Each run of the grid becomes a task on the cluster, several at a time; they are saved "
                              "here as they finish, like runs trained on this server.")
    return address if on_ray else None


def queue_button(store, worker, base, axes: dict, configs: list, valid: bool, busy: str, ray_address=None) -> None:
    """Queue the grid's runs (`busy`: why not now, when a sweep is running), on the Ray cluster at `ray_address`
    when given."""
    if st.button("Queue the sweep", type="primary", key="sweep_start", icon=":material/playlist_play:",
                 disabled=not valid or bool(busy), help=busy or None):
        sweep_id = queue_sweep(store, worker, base, axes, configs, ray_address=ray_address).sweep_id
        st.query_params[SWEEP_PARAM] = str(sweep_id)
        st.rerun()


def own_sweep(sweep: SweepJob) -> bool:
    """Whether this tab queued `sweep` (a refreshed tab knows it again by the sweep named in its address); a
    sweep queued from another tab is shown without the controls that would stop someone else's work."""
    owned = st.session_state.setdefault(OWN_SWEEPS, set())
    if st.query_params.get(SWEEP_PARAM) == str(sweep.sweep_id):
        owned.add(sweep.sweep_id)
    elif sweep.sweep_id in owned:
        st.query_params[SWEEP_PARAM] = str(sweep.sweep_id)
    return sweep.sweep_id in owned


def sentence(text: str) -> str:
    return text[:1].upper() + text[1:] + "."


def sweep_table(sweep: SweepJob, stored: dict) -> pd.DataFrame:
    """One row per run of `sweep` (`stored`: its records by run id): its id, its point on the grid, its status
    and headline scores; a run without scores says why (queued, running, cancelled, failed) where they would be."""
    axes_names = sweep_axes(sweep.jobs[0].config.algorithm) if sweep.jobs else {}
    rows = []
    for job in sweep.jobs:
        record = stored.get(job.run_id) if job.run_id is not None else None
        status = job.shown_status
        row = {"run": f"#{job.run_id}" if job.run_id is not None else "—",
               **{axes_names.get(a, a): axis_value(job.config, a) for a in sweep.axes}, "status": status}
        scores = record.scores if record is not None and record.status == FINISHED else {}
        for metric in HEADLINE_METRICS:
            value = scores.get(metric)
            row[metric] = f"{value:.3f}" if value is not None else "n/a" if scores else status
        rows.append(row)
    return pd.DataFrame(rows)


def sweep_line(sweep: SweepJob, snap, current: float, stored: dict) -> str:
    """The sweep's one line: the run it is on and the time left, or how it ended. On a Ray cluster, the runs
    done: how many train at once there is the cluster's to say, so the time left is not estimated."""
    failed = f" · {snap.failed} failed" if snap.failed else ""
    if snap.running and sweep.ray_address is not None:
        return f"{sweep.name}: {snap.done} of {snap.total} runs done on the Ray cluster{failed}"
    if snap.running:
        ended = [r.duration for r in stored.values() if r.status in (FINISHED, FAILED) and r.duration is not None]
        left = snap.total - snap.done - current
        typical = [] if ended else typical_seconds(run_store(), [job.config for job in sweep.jobs if not job.done])
        estimate = estimate_sweep(left, ended, typical)
        return f"{sweep.name}: run {snap.done + 1} of {snap.total} · {estimate.say(started=True)}{failed}"
    if snap.cancelled:
        return (f"{sweep.name}: cancelled · {snap.finished} of {snap.total} runs finished, "
                f"{snap.cancelled} cancelled{failed}")
    return f"{sweep.name}: {snap.done} of {snap.total} runs done{failed}"


def training_now(sweep: SweepJob, snap) -> list:
    """The runs of `sweep` to draw a bar for: the one training (or next) here; on a Ray cluster every one
    training there, else the next."""
    if snap.current is None:
        return []
    running = [job for job in sweep.jobs if job.shown_status == RUNNING] if sweep.ray_address is not None else []
    return running or [snap.current]


@st.fragment(run_every=POLL_SECONDS)
def sweep_progress(sweep: SweepJob, own: bool) -> None:
    """The sweep's progress, the run training now, and its table (redrawn every POLL_SECONDS); Cancel only in the
    tab that queued it (`own`)."""
    snap = sweep.snapshot()
    now = training_now(sweep, snap)
    current = sum(fraction(job.snapshot()) for job in now)
    stored = {r.id: r for r in run_store().list_runs(sweep_id=sweep.sweep_id)}
    # Only work done fills the bar: a cancelled sweep's bar stops where it was cancelled.
    st.progress(min((snap.finished + snap.failed + current) / snap.total, 1.0),
                text=sweep_line(sweep, snap, current, stored))
    if sweep.ray_address is not None and snap.running:
        shown = [job.shown_status for job in sweep.jobs]
        st.caption(f":material/hub: On the Ray cluster ({sweep.ray_address}): {shown.count(RUNNING)} running, "
                   f"{shown.count(QUEUED)} queued.")
    for job in now:
        job_snap = job.snapshot()
        st.progress(fraction(job_snap), text=f"Now: {describe_point(job.config, sweep.axes)} · {describe(job_snap)}")
    if snap.current is not None:
        if not own:
            st.caption("Queued from another tab: only that tab can cancel it.")
        elif st.button("Cancel the sweep", key="sweep_cancel", icon=":material/stop:",
                       help="Stops the run training now and drops the queued ones; finished runs are kept."):
            sweep.cancel()
            st.rerun(scope="app")
    elif st.session_state.get("sweep_seen_running") == sweep.sweep_id:
        st.session_state.pop("sweep_seen_running")
        st.rerun(scope="app")  # finished: redraw the page once with the Compare button
    if snap.running:
        st.session_state["sweep_seen_running"] = sweep.sweep_id
    st.dataframe(sweep_table(sweep, stored), hide_index=True, key=f"sweep_table_{sweep.sweep_id}")


def seeds_of_sweep(finished: list, key: str) -> bool:
    """The mean and spread of the settings a sweep repeated over seeds (False, showing nothing, when none)."""
    table = runs_table(finished)
    metrics = [m for m in METRICS if m in table and table[m].notna().any()]
    return bool(metrics) and seed_spread_section(table, metrics, key, default_metric=default_rank_metric(table))


def latest_sweep(latest: SweepJob) -> None:
    sweep_progress(latest, own=own_sweep(latest))
    if seeds_of_sweep(run_store().list_runs(sweep_id=latest.sweep_id, status=FINISHED), "sweeps"):
        st.caption("Runs of this sweep that differ only in seed, so far.")
    if any(job.run_id is not None for job in latest.jobs):
        if st.button("Compare the runs of this sweep", key="sweep_compare", icon=":material/compare_arrows:"):
            st.session_state["compare_dataset"] = latest.jobs[0].config.dataset
            st.session_state["compare_sweep"] = latest.sweep_id
            st.switch_page("pages/compare.py")


def earlier_sweeps(store, earlier: list) -> None:
    for sweep in earlier[:10]:
        runs = store.list_runs(sweep_id=sweep.id)
        finished = [r for r in runs if r.status == FINISHED]
        labels = sweep_axes(sweep.base_config.algorithm)
        grid = " × ".join(f"{labels.get(a, a)} ({', '.join(map(str, v))})" for a, v in sweep.axes.items())
        text, button = st.columns([4, 1])
        text.markdown(f"**{sweep.name}** · {job_title(sweep.base_config)}: {grid} · {len(finished)} of "
                      f"{len(runs)} runs finished · {sweep.created_at.replace('T', ' ')[:16]}")
        if finished and button.button("Compare", key=f"sweep_compare_{sweep.id}", icon=":material/compare_arrows:"):
            st.session_state["compare_dataset"] = sweep.base_config.dataset
            st.session_state["compare_sweep"] = sweep.id
            st.switch_page("pages/compare.py")
        if "seed" in sweep.axes and len(finished) > 1:
            with st.expander("Seeds: mean and spread"):
                if not seeds_of_sweep(finished, f"sweeps_{sweep.id}"):
                    st.caption("No two finished runs of this sweep differ only in seed yet.")


st.title("Sweeps")
st.caption("Train a grid of runs that differ in one or two settings, one after another, while you do something "
           "else. Each finished run is saved and appears on Runs and Compare at once.")
worker = training_worker()
store = run_store()
vary_box = st.container()
base_box = st.container()
algorithm = st.session_state.get("sweep_algorithm", DEFAULT_ALGORITHM)
with vary_box:
    st.subheader("What to vary")
    axes = grid_picker(algorithm)
    repeats = seed_repeats(axes)
with base_box:
    st.subheader("Everything else")
    base = config_form("sweep", fixed=list(axes))
axes = with_seeds(base, axes, repeats)
configs, valid = planned_runs(base, axes)
latest = worker.sweeps[-1] if worker.sweeps else None
busy = ""
if latest is not None and latest.snapshot().running:
    busy = ("One sweep at a time: cancel the running one to start another." if own_sweep(latest) else
            "One sweep at a time: another tab's sweep is running; queue this one when it has finished.")
queue_button(store, worker, base, axes, configs, valid, busy, ray_choice())
if latest is not None:
    st.subheader("Progress")
    latest_sweep(latest)
earlier = [s for s in store.sweeps.all() if latest is None or s.id != latest.sweep_id]
if earlier:
    st.subheader("Earlier sweeps")
    earlier_sweeps(store, earlier)
