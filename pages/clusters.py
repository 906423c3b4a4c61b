"""How many clusters? Sweep the cluster count on the current embedding and take the suggestion."""
import streamlit as st

from core.model_selection import ClusterCountScan
from core.viz.figures import cluster_count_sweep
from ui.access import can_edit
from ui.cache import training_worker
from ui.progress import task_progress
from ui.state import SWEEPS, TAKEN_N_CLUSTERS, require_result
from ui.text import plain
from core.runs import CANCELLED, FAILED, FINISHED
from ui.worker import TrainingJob

SCAN_JOB = "cluster_scan_job"  # (result key, TrainingJob) of this session's scan, until its outcome is shown

st.title("How many clusters?")
result = require_result()
if result is None:
    st.stop()

n_points = len(result.embedding)
st.caption(f"Sweeps the cluster count on the embedding of the current run ({result.algorithm_title}, "
           f"{result.embedding.shape[1]}-d, {n_points:,} images): k-means inertia and the silhouette of its "
           "clusters, and the BIC of a Gaussian mixture, for each count.")

top = int(min(30, n_points - 1))
low, high = st.slider("Cluster counts to try", 2, top, (2, min(15, top)), key="sweep_range")
key = (result.run_id if result.run_id is not None else id(result), low, high)
sweeps = st.session_state[SWEEPS]
pending = st.session_state.get(SCAN_JOB)
running = pending is not None and not pending[1].done
if st.button("Run the sweep", type="primary", key="sweep_run", icon=":material/query_stats:", disabled=running):
    # The k-means and mixtures run in the training process, queued with the runs: never in the web server.
    task = ClusterCountScan.on_result(result, ks=tuple(range(low, high + 1)), random_state=result.config.seed)
    pending = (key, training_worker().submit(TrainingJob(task)))
    st.session_state[SCAN_JOB] = pending
    running = True


if pending is not None:
    pending_key, job = pending
    if running:
        task_progress(job, cancel_key="sweep_cancel")
        st.stop()
    st.session_state[SCAN_JOB] = None
    if job.status == FINISHED:
        sweeps[pending_key] = job.result
    elif job.status == FAILED:
        st.error(f"The sweep failed: {plain(job.error)}", icon=":material/error:")
    elif job.status == CANCELLED:
        st.warning("The sweep was cancelled.", icon=":material/stop_circle:")

sweep = sweeps.get(key)
if sweep is None:
    st.info("Choose the range and press **Run the sweep** (a few seconds on digits; it runs in the training "
            "process, after any training queued before it).")
    st.stop()

st.success(sweep.suggestion, icon=":material/lightbulb:")
st.plotly_chart(cluster_count_sweep(sweep, current=result.n_clusters), key="sweep_chart")
if sweep.note:
    st.caption(f"Computed on {sweep.note}.")
suggested, bic, elbow, current = st.columns(4)
suggested.metric("Suggested (best silhouette)", sweep.suggested)
bic.metric("Lowest GMM BIC", sweep.bic_best)
elbow.metric("Elbow of the inertia", sweep.elbow)
current.metric("Current run", result.n_clusters)
st.caption("The suggestion is the count whose k-means clusters are best separated (highest silhouette). "
           "BIC rewards a mixture that explains the data with few parameters. Inertia always falls as the count "
           "grows; its elbow is the count farthest below the straight line from the first to the last point "
           "(both axes scaled to 0-1), where adding clusters stops paying off. When they disagree, the data has "
           "no single right answer.")
if can_edit() and st.button(f"Take {sweep.suggested} clusters and go to Train", key="sweep_take",
                            icon=":material/done:"):
    st.session_state[TAKEN_N_CLUSTERS] = (result.config.dataset, sweep.suggested)
    st.switch_page("pages/train.py")
