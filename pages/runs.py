"""Runs: every run in the store, filterable and sortable; open one in the other pages, rename, tag, delete."""
import pandas as pd
import streamlit as st

from core.runs import FINISHED, RUNNING
from core.runs.compare import METRICS, runs_table
from ui.cache import run_store
from ui.downloads import download_buttons
from ui.runs import forget_run, load_run
from ui.state import show_result

SELECTED = "runs_selected"
CONFIRM_DELETE = "runs_confirm_delete"
STATUS_ICONS = {"finished": ":material/check_circle:", "running": ":material/pending:",
                "cancelled": ":material/stop_circle:", "failed": ":material/error:", "interrupted": ":material/warning:"}

st.title("Runs")
store = run_store()
records = store.list_runs()
st.caption(f"Every training run, from this dashboard or the command line (`python -m core`), is kept in "
           f"`{store.directory}` (set DEEP_CLUSTERING_HOME to keep it elsewhere).")
if not records:
    st.info("No runs yet. Train a model on the **Train** page (or run a sweep) and it will be listed here.")
    st.page_link("pages/train.py", label="Go to Train", icon=":material/model_training:")
    st.stop()

table = runs_table(records)

filters = st.columns([2, 2, 2, 2, 2])
search = filters[0].text_input("Search names", key="runs_search", placeholder="e.g. latent")
datasets = filters[1].multiselect("Dataset", sorted(table["dataset"].unique()), key="runs_dataset")
algorithms = filters[2].multiselect("Algorithm", sorted(table["algorithm"].unique()), key="runs_algorithm")
statuses = filters[3].multiselect("Status", sorted(table["status"].unique()), key="runs_status")
known_tags = store.all_tags()
tags = filters[4].multiselect("Tag", known_tags, key="runs_tags")

shown = table
if search:
    shown = shown[shown["name"].str.contains(search, case=False, regex=False)]
for column, chosen in (("dataset", datasets), ("algorithm", algorithms), ("status", statuses)):
    if chosen:
        shown = shown[shown[column].isin(chosen)]
if tags:
    shown = shown[shown["tags"].apply(lambda text: bool(set(text.split(", ")) & set(tags)))]

if shown.empty:
    st.warning("No run matches these filters.")
    st.stop()

# Parameter columns only where they differ between the runs shown (the rest is noise in a table).
varying = [c for c in shown.columns if c.startswith("p:") and shown[c].astype(str).nunique() > 1]
columns = ["id", "name", "status", "dataset", "algorithm", "images", "k", *varying, *METRICS, "seconds",
           "started", "tags"]
view = shown[columns].copy()
config = {name: st.column_config.NumberColumn(name, format="%.3f") for name in METRICS}
config.update({c: st.column_config.Column(c[2:]) for c in varying})
config["seconds"] = st.column_config.NumberColumn("seconds", format="%.1f")
st.caption(f"{len(shown)} of {len(table)} runs. Click a column header to sort, a row to select it.")
selection = st.dataframe(view, hide_index=True, column_config=config, key="runs_table", on_select="rerun",
                         selection_mode="single-row")

ids = shown["id"].tolist()
rows = selection.selection.rows if selection is not None else []
if rows and st.session_state.get("runs_last_row") != ids[rows[0]]:
    st.session_state["runs_last_row"] = ids[rows[0]]
    st.session_state[SELECTED] = ids[rows[0]]
if st.session_state.get(SELECTED) not in ids:
    st.session_state[SELECTED] = ids[0]
names = dict(zip(shown["id"], shown["name"]))
run_id = st.selectbox("Run", ids, key=SELECTED, format_func=lambda i: f"#{i} · {names[i]}")
record = store.get(run_id)

st.subheader(record.name)
details, preview = st.columns([3, 2], gap="large")
with details:
    status_line = f"{STATUS_ICONS.get(record.status, '')} {record.status}"
    st.markdown(f"**Status:** {status_line}" + (f" · {record.duration:.1f} s" if record.duration else "")
                + f" · started {record.started_at.replace('T', ' ')[:19]} UTC")
    if record.message:
        (st.error if record.status == "failed" else st.info)(record.message)
    if record.status == RUNNING:
        st.info("Still training: follow it on the Train page (or the Sweeps page for a sweep).")
    if record.status == FINISHED:
        scores = {k: v for k, v in record.scores.items() if v is not None}
        st.markdown(" · ".join(f"{k} **{v:.3f}**" for k, v in scores.items()))
        open_explore, open_metrics, open_model = st.columns(3)
        target = None
        if open_explore.button("Open in Explore", key="runs_open_explore", icon=":material/scatter_plot:", type="primary"):
            target = "pages/explore.py"
        if open_metrics.button("Open in Metrics", key="runs_open_metrics", icon=":material/analytics:"):
            target = "pages/metrics.py"
        if open_model.button("Open in Model", key="runs_open_model", icon=":material/hub:"):
            target = "pages/model.py"
        if target is not None:
            result = load_run(run_id)
            if result is not None:
                show_result(result)
                st.switch_page(target)
    params = {"dataset": record.dataset, "images": record.n_samples, "clusters": record.n_clusters,
              "preprocessing": record.config.preprocessing, "seed": record.config.seed,
              **(record.estimator_params or record.config.params)}
    with st.expander("Parameters and versions"):
        st.dataframe(pd.DataFrame({"parameter": list(params), "value": [str(v) for v in params.values()]}),
                     hide_index=True)
        st.caption(" · ".join(f"{k} {v}" for k, v in record.versions.items()))
with preview:
    picture = store.run_dir(run_id) / "preview.png"
    if picture.exists():
        st.image(str(picture), caption="A few images of each cluster (one row per cluster)", width=280)

with st.expander("Rename, tag or delete", expanded=False):
    rename_col, tags_col = st.columns(2)
    with rename_col:
        new_name = st.text_input("Name", value=record.name, key=f"runs_name_{run_id}")
        if st.button("Rename", key="runs_rename", icon=":material/edit:"):
            try:
                store.rename(run_id, new_name)
                st.toast(f"Run {run_id} renamed.", icon=":material/check:")
                st.rerun()
            except ValueError as error:
                st.error(str(error))
    with tags_col:
        new_tags = st.multiselect("Tags", sorted(set(known_tags) | set(record.tags)), default=record.tags,
                                  key=f"runs_tags_{run_id}", accept_new_options=True,
                                  help="Type a new tag and press Enter to add it.")
        if st.button("Save tags", key="runs_save_tags", icon=":material/sell:"):
            store.set_tags(run_id, new_tags)
            st.toast(f"Tags of run {run_id} saved.", icon=":material/check:")
            st.rerun()
    if record.status == RUNNING:
        st.caption("A running run cannot be deleted: cancel it first.")
    elif st.session_state.get(CONFIRM_DELETE) == run_id:
        st.warning(f"Delete run {run_id} ({record.name}) and its files? This cannot be undone.")
        yes, no = st.columns(2)
        if yes.button("Yes, delete it", key="runs_delete_yes", type="primary", icon=":material/delete_forever:"):
            store.delete(run_id)
            forget_run(run_id)
            st.session_state.pop(CONFIRM_DELETE, None)
            st.session_state.pop(SELECTED, None)
            st.toast(f"Run {run_id} deleted.", icon=":material/delete:")
            st.rerun()
        if no.button("Keep it", key="runs_delete_no"):
            st.session_state.pop(CONFIRM_DELETE, None)
            st.rerun()
    elif st.button("Delete run…", key="runs_delete", icon=":material/delete:"):
        st.session_state[CONFIRM_DELETE] = run_id
        st.rerun()

if record.status == FINISHED:
    st.markdown("**Take it away**")
    result = load_run(run_id)
    if result is not None:
        download_buttons(result, key="runs_download")
