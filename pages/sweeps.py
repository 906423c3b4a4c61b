"""Sweeps: vary one or two settings over a grid of values, queue the runs, follow them, compare them."""
import pandas as pd
import streamlit as st

from core.algorithms import ALGORITHMS, DEFAULT_ALGORITHM
from core.cli import command_line
from core.metrics import HEADLINE_METRICS
from core.runs import FINISHED
from core.runs.runner import axis_value, describe_point, parse_axis_value, sweep_axes, sweep_configs
from ui.cache import run_store, training_worker
from ui.config_form import config_form, config_problem
from ui.progress import describe, fraction, job_title
from ui.text import plain
from ui.worker import SweepJob, TrainingJob

POLL_SECONDS = 1.0
NO_SECOND = "(nothing)"
MAX_RUNS = 60


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
    with st.expander("The same sweep from the command line"):
        st.code(command_line(base, axes), language="bash")
        st.caption("Run it from the project folder with the virtual environment's Python (`.venv/bin/python`); "
                   "its runs land in the same store and show here, on Runs and on Compare.")
    return configs, valid


def queue_button(store, worker, base, axes: dict, configs: list, valid: bool, busy: bool) -> None:
    if st.button("Queue the sweep", type="primary", key="sweep_start", icon=":material/playlist_play:",
                 disabled=not valid or busy,
                 help="One sweep at a time: cancel the running one to start another." if busy else None):
        sweep_id = store.sweeps.create(base, {a: list(v) for a, v in axes.items()})
        jobs = [TrainingJob(config, name=f"{describe_point(config, axes)} (sweep {sweep_id})", sweep_id=sweep_id)
                for config in configs]
        worker.submit_sweep(SweepJob(sweep_id, f"Sweep {sweep_id}", {a: list(v) for a, v in axes.items()}, jobs))
        st.rerun()


def sweep_table(store, sweep: SweepJob) -> pd.DataFrame:
    """One row per run of `sweep`: its id, its point on the grid, its status and headline scores."""
    axes_names = sweep_axes(sweep.jobs[0].config.algorithm) if sweep.jobs else {}
    stored = {r.id: r for r in store.list_runs(sweep_id=sweep.sweep_id)}
    rows = []
    for job in sweep.jobs:
        record = stored.get(job.run_id) if job.run_id is not None else None
        row = {"run": job.run_id, **{axes_names.get(a, a): axis_value(job.config, a) for a in sweep.axes},
               "status": job.shown_status}
        scores = record.scores if record is not None else {}
        row.update({metric: scores.get(metric) for metric in HEADLINE_METRICS})
        rows.append(row)
    return pd.DataFrame(rows)


@st.fragment(run_every=POLL_SECONDS)
def sweep_progress(sweep: SweepJob) -> None:
    """The sweep's progress, the run training now, and its table (redrawn every POLL_SECONDS)."""
    snap = sweep.snapshot()
    current = fraction(snap.current.snapshot()) if snap.current is not None else 0.0
    st.progress(min((snap.done + current) / snap.total, 1.0), text=f"{sweep.name}: {snap.done} of {snap.total} runs done"
                + (f" ({snap.failed} failed)" if snap.failed else "") + (f" ({snap.cancelled} cancelled)" if snap.cancelled else ""))
    if snap.current is not None:
        job_snap = snap.current.snapshot()
        point = describe_point(snap.current.config, sweep.axes)
        st.progress(fraction(job_snap), text=f"Now: {point} · {describe(job_snap)}")
        if st.button("Cancel the sweep", key="sweep_cancel", icon=":material/stop:",
                     help="Stops the run training now and drops the queued ones; finished runs are kept."):
            sweep.cancel()
            st.rerun(scope="app")
    elif st.session_state.get("sweep_seen_running") == sweep.sweep_id:
        st.session_state.pop("sweep_seen_running")
        st.rerun(scope="app")  # finished: redraw the page once with the Compare button
    if snap.running:
        st.session_state["sweep_seen_running"] = sweep.sweep_id
    st.dataframe(sweep_table(run_store(), sweep), hide_index=True, key=f"sweep_table_{sweep.sweep_id}",
                 column_config={m: st.column_config.NumberColumn(m, format="%.3f") for m in HEADLINE_METRICS})


def latest_sweep(latest: SweepJob) -> None:
    sweep_progress(latest)
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
with base_box:
    st.subheader("Everything else")
    base = config_form("sweep", fixed=list(axes))
configs, valid = planned_runs(base, axes)
latest = worker.sweeps[-1] if worker.sweeps else None
queue_button(store, worker, base, axes, configs, valid, busy=latest is not None and latest.snapshot().running)
if latest is not None:
    st.subheader("Progress")
    latest_sweep(latest)
earlier = [s for s in store.sweeps.all() if latest is None or s.id != latest.sweep_id]
if earlier:
    st.subheader("Earlier sweeps")
    earlier_sweeps(store, earlier)
