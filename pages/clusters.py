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
           f"{result.embedding.shape[1]}-d, {n_points:,} images): for each count, the silhouette of k-means "
           "clusters of the run's 2-D UMAP picture (the UMAP silhouette), the k-means inertia and the silhouette "
           "of its clusters in the embedding, and the BIC of a Gaussian mixture.")

# A 2-D UMAP of a UMAP manifold (N2D, UMAP + GMM) scatters each tight cluster into pieces: on such a run the
# UMAP silhouette names no count worth taking (docs/label-free.md), so the scan leaves it out.
manifold = result.silhouette_space.startswith("UMAP manifold")
top = int(min(30, n_points - 1))
low, high = st.slider("Cluster counts to try", 2, top, (2, min(15, top)), key="sweep_range")
key = (result.run_id if result.run_id is not None else id(result), low, high)
sweeps = st.session_state[SWEEPS]
pending = st.session_state.get(SCAN_JOB)
running = pending is not None and not pending[1].done
if st.button("Run the sweep", type="primary", key="sweep_run", icon=":material/query_stats:", disabled=running):
    # The k-means and mixtures run in the training process, queued with the runs: never in the web server.
    task = ClusterCountScan.on_result(result, ks=tuple(range(low, high + 1)), random_state=result.config.seed,
                                      umap_points=None if manifold else result.projections.get("umap"))
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

st.success(f"{sweep.suggestion} {sweep.agreement}", icon=":material/lightbulb:")
for note in sweep.edge_notes:
    st.warning(note, icon=":material/warning:")
st.plotly_chart(cluster_count_sweep(sweep, current=result.n_clusters), key="sweep_chart")
if sweep.note:
    st.caption(f"Computed on {sweep.note}.")
if sweep.umap_silhouette is None:
    why = ("its 2-D picture is a UMAP of a UMAP manifold, which scatters each cluster into pieces" if manifold else
           "it has no 2-D UMAP picture (it was projected with PCA, or not at all)")
    st.caption(f"The UMAP silhouette is left out for this run: {why}. The suggestion follows the silhouette in "
               "the embedding.")
columns = st.columns(len(sweep.criteria) + 1)
for column, criterion in zip(columns, sweep.criteria):
    column.metric(criterion.label, criterion.best, help=criterion.edge_note or None)
columns[-1].metric("Current run", result.n_clusters)
st.caption("The UMAP silhouette: how well k-means splits the run's 2-D UMAP picture into that many groups. "
           "Following it named the true count of labelled digits and shapes most often (7 of 21 scans, any other "
           "criterion 2 to 5), so the suggestion follows it; no criterion is reliable on its own. The silhouette in "
           "the embedding often favours 2. BIC rewards a mixture that explains the data with few parameters, and "
           "keeps falling on tight embeddings. Inertia always falls as the count grows; its elbow is the count "
           "farthest below the straight line from the first to the last point (both axes scaled to 0-1). When "
           "they disagree, the data has no single right answer.")
if can_edit() and st.button(f"Take {sweep.suggested} clusters and go to Train", key="sweep_take",
                            icon=":material/done:"):
    st.session_state[TAKEN_N_CLUSTERS] = (result.config.dataset, sweep.suggested)
    st.switch_page("pages/train.py")
