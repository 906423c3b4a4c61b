"""Runs: every run in the store, filterable and sortable; open one in the other pages, rename, tag, delete."""
import zlib

import pandas as pd
import streamlit as st

from core.runs import CANCELLED, FAILED, FINISHED, INTERRUPTED, RUNNING, StoreError
from core.runs.compare import (filter_runs, fold_seed_groups, hyperparameter_columns, runs_table, seed_group_ids,
                               silhouette_spaces)
from core.runs.transfer import import_run, run_archive
from core.vocabulary import (METRIC_HELP, METRICS, counted, format_seconds, run_name, run_settings, run_title,
                             setting_label)
from ui.access import can_edit
from ui.cache import run_store, training_worker
from ui.config_form import load_config_into_form
from ui.downloads import download_button, download_buttons
from ui.runs import forget_run, load_run
from ui.state import RUN_PARAM, show_result
from ui.text import plain

SELECTED = "runs_selected"  # the id of the run on screen: plain state, never a widget's, so that a rename
                            # (which changes the picker's labels) cannot move the page to another run
CONFIRM_DELETE = "runs_confirm_delete"
BULK_CONFIRM = "runs_bulk_confirm"
STATUS_ICONS = {FINISHED: ":material/check_circle:", RUNNING: ":material/pending:", CANCELLED: ":material/stop_circle:",
                FAILED: ":material/error:", INTERRUPTED: ":material/warning:"}


def records_or_stop(store) -> list:
    """Every run (after marking interrupted those whose process is gone), with what to know about the
    store; the page stops with a message when it cannot be read or holds no run."""
    try:
        store.recover()  # a command-line run killed since the last look shows as interrupted, not running
        records = store.list_runs()
    except StoreError as error:
        st.error(plain(error), icon=":material/error:")
        st.stop()
    st.caption(f"Every training run, from this dashboard or the command line (`python -m core`), is kept in "
               f"`{store.directory}` (set DEEP_CLUSTERING_HOME to keep it elsewhere).")
    if store.read_only:
        st.info("This store is read-only: its runs can be opened and downloaded, but new runs, renames and deletes "
                "cannot be saved.", icon=":material/lock:")
    if store.unknown_folders:
        st.warning(plain(store.unknown_folders_note()), icon=":material/folder_off:")
    if not records and not editor:
        st.info("No runs yet: they are listed here once someone trains one.")
        st.stop()
    if not records:
        st.info("No runs yet. Train a model on the **Train** page (or run a sweep) and it will be listed here.")
        st.page_link("pages/train.py", label="Go to Train", icon=":material/model_training:")
        st.stop()
    return records


def filtered(table: pd.DataFrame, known_tags: list) -> pd.DataFrame:
    """The filter widgets and the runs they let through (the page stops when none)."""
    filters = st.columns([2, 2, 2, 2, 2])
    shown = filter_runs(
        table, search=filters[0].text_input("Search names", key="runs_search", placeholder="e.g. latent"),
        datasets=filters[1].multiselect("Dataset", sorted(table["dataset"].unique()), key="runs_dataset"),
        algorithms=filters[2].multiselect("Algorithm", sorted(table["algorithm"].unique()), key="runs_algorithm"),
        statuses=filters[3].multiselect("Status", sorted(table["status"].unique()), key="runs_status"),
        tags=filters[4].multiselect("Tag", known_tags, key="runs_tags"))
    if shown.empty:
        st.warning("No run matches these filters.")
        st.stop()
    return shown


def runs_grid(shown: pd.DataFrame, total: int):
    """The table of runs shown, its parameter columns only where they differ between them (the rest is
    noise in a table); returns the selection."""
    varying = [c for c in hyperparameter_columns(shown) if c.startswith("p:")]
    # the scores next to the name, so a 1280-pixel screen shows them without scrolling the table sideways
    columns = ["id", "name", *METRICS, "status", "dataset", "algorithm", "images", "k", *varying, "seconds",
               "started", "tags", "MB"]
    config = {name: st.column_config.NumberColumn(name, format="%.3f", width="small" if len(name) <= 10 else None,
                                                  help=METRIC_HELP.get(name)) for name in METRICS}
    config.update({c: st.column_config.Column(setting_label(c[2:])) for c in varying})
    config.update({c: st.column_config.Column(c.capitalize()) for c in ("name", "status", "dataset", "algorithm", "tags")})
    config["id"] = st.column_config.NumberColumn("Run", width="small")
    config["name"] = st.column_config.Column("Name", width="medium")
    config["k"] = st.column_config.NumberColumn("Clusters", help="Number of clusters")
    config["images"] = st.column_config.NumberColumn("Images")
    config["seconds"] = st.column_config.NumberColumn("Duration (s)", format="%.1f")
    config["started"] = st.column_config.Column("Started (UTC)")
    config["MB"] = st.column_config.NumberColumn("Disk (MB)", format="%.1f", help="Space the run's saved files take.")
    spaces = silhouette_spaces(shown)
    if len(spaces) > 1:
        st.warning("The silhouettes below were computed in different spaces (" + "; ".join(spaces) + "), so they do "
                   "not compare across those runs: a compact 10-d embedding scores far higher than raw pixels.",
                   icon=":material/warning:")
    st.caption(f"{len(shown)} of {counted(total, 'run')}. Click a column header to sort, a row to select it.")
    frame = shown[columns].copy()
    frame["name"] = [run_name(name, int(i)) for name, i in zip(frame["name"], frame["id"])]  # the number is beside it
    return st.dataframe(frame, hide_index=True, column_config=config, key="runs_table",
                        on_select="rerun", selection_mode="single-row")


def show_pretrained(store, entries) -> None:
    """The pretrained autoencoders kept for reuse, and deleting some (runs keep their own saved models)."""
    st.dataframe(pd.DataFrame({"Pretrained autoencoder": [e.describe() for e in entries],
                               "Reused": [int(e.info.get("uses", 0)) for e in entries],
                               "MB": [round(e.size_bytes / 2**20, 2) for e in entries]}), hide_index=True,
                 column_config={"Pretrained autoencoder": st.column_config.TextColumn(width="large"),
                                "Reused": st.column_config.NumberColumn(width="small"),
                                "MB": st.column_config.NumberColumn(width="small", format="%.2f")})
    keys = {e.key: e.describe() for e in entries}
    chosen = st.multiselect("Pretrained autoencoders to delete", list(keys), key="runs_pretrained",
                            format_func=lambda key: f"{keys[key]} · {key[:8]}",
                            help="A run whose network, training settings and images match one of these skips "
                                 "pretraining. Deleting one only means the next such run trains it again; runs "
                                 "keep their own saved models.")
    if st.button(f"Delete {len(chosen)} pretrained autoencoders" if chosen else "Delete pretrained autoencoders",
                 key="runs_pretrained_delete", icon=":material/delete:", disabled=not chosen):
        for key in chosen:
            try:
                store.autoencoders.remove(key)
            except KeyError:  # already deleted in another tab
                pass
            except OSError as error:  # e.g. a read-only store
                st.error(f"Could not delete a pretrained autoencoder: {error.strerror or error}.",
                         icon=":material/error:")
                st.stop()
        st.session_state.pop("runs_pretrained", None)
        st.toast(f"Deleted {len(chosen)} pretrained autoencoders.", icon=":material/delete:")
        st.rerun()


def forget_features(store, entries) -> None:
    """The backbone features kept for reuse, and deleting them (the next run on those images computes them again)."""
    st.dataframe(pd.DataFrame({"Backbone features": [e.describe() for e in entries],
                               "Reused": [int(e.info.get("uses", 0)) for e in entries],
                               "MB": [round(e.size_bytes / 2**20, 2) for e in entries]}), hide_index=True)
    if st.button("Delete the kept backbone features", key="runs_features_clear", icon=":material/delete:",
                 help="A run on the same images and backbone reads them back instead of running the network "
                      "again; deleted, the next such run computes them again."):
        try:
            count = store.autoencoders.features.clear()
        except OSError as error:  # e.g. a read-only store
            st.error(f"Could not delete the kept features: {error.strerror or error}.", icon=":material/error:")
            st.stop()
        st.toast(f"Deleted the features of {count} datasets.", icon=":material/delete:")
        st.rerun()


def disk_use(store, names_all: dict, sizes: dict) -> None:
    """What the runs, datasets and pretrained autoencoders take on disk; the largest runs."""
    library = store.datasets.list()
    pretrained = store.autoencoders.entries()
    features = store.autoencoders.features.entries()
    st.markdown(f"Runs take **{sum(sizes.values()) / 2**20:,.1f} MB** in {len(sizes)} folders; your datasets "
                f"**{sum(d.size_bytes for d in library) / 2**20:,.1f} MB** in {len(library)}; backbone features "
                f"kept for reuse **{sum(e.size_bytes for e in features) / 2**20:,.1f} MB** in {len(features)}; "
                f"pretrained autoencoders kept for reuse **{sum(e.size_bytes for e in pretrained) / 2**20:,.1f} MB** "
                f"in {len(pretrained)}.")
    biggest = sorted(sizes.items(), key=lambda item: -item[1])[:8]
    st.dataframe(pd.DataFrame({"Largest runs": [f"#{i} · {names_all[i]}" for i, _ in biggest],
                               "MB": [round(b / 2**20, 2) for _, b in biggest]}), hide_index=True)
    if library:
        st.dataframe(pd.DataFrame({"Dataset": [d.name for d in library],
                                   "MB": [round(d.size_bytes / 2**20, 2) for d in library]}), hide_index=True)
    if pretrained:
        show_pretrained(store, pretrained)
    if features:
        forget_features(store, features)


def delete_several(store, shown: pd.DataFrame, names_all: dict, sizes: dict) -> None:
    """Delete several of the runs shown (not running ones), after a confirmation."""
    deletable = [int(i) for i, status in zip(shown["id"], shown["status"]) if status != RUNNING]
    chosen = st.multiselect("Runs to delete", deletable, key="runs_bulk", format_func=lambda i: f"#{i} · {names_all[i]}",
                            help="Among the runs the filters above show; running ones are left out.")
    if chosen and st.session_state.get(BULK_CONFIRM) == sorted(chosen):
        st.warning(f"Delete {len(chosen)} runs and their files ({sum(sizes[i] for i in chosen) / 2**20:,.1f} MB)? "
                   "This cannot be undone.")
        if st.button(f"Yes, delete {len(chosen)} runs", key="runs_bulk_yes", type="primary",
                     icon=":material/delete_forever:"):
            try:
                deleted = store.delete_many(chosen)
            except StoreError as error:
                st.error(plain(error))
                st.stop()
            forget_run()
            st.session_state.pop(BULK_CONFIRM, None)
            st.session_state.pop("runs_bulk", None)
            st.toast(f"Deleted {len(deleted)} runs.", icon=":material/delete:")
            st.rerun()
    elif st.button(f"Delete {len(chosen)} runs…" if chosen else "Delete runs…", key="runs_bulk_delete",
                   icon=":material/delete:", disabled=not chosen):
        st.session_state[BULK_CONFIRM] = sorted(chosen)
        st.rerun()


def import_archive(store) -> None:
    """Import a whole run exported from another dashboard (or the command line)."""
    archive = st.file_uploader("Import a run (.zip)", type=["zip"], key=f"runs_import_{st.session_state.get('runs_imports', 0)}",
                               help="A whole run downloaded from another dashboard's Runs page (or "
                                    "`python -m core export RUN --what run`). Its dataset must be here too.")
    if archive is not None and st.button("Import it", key="runs_import_go", icon=":material/upload:"):
        try:
            new_id = import_run(store, archive.getvalue())
        except (ValueError, StoreError) as error:
            st.error(plain(error), icon=":material/error:")
        else:
            st.session_state["runs_imports"] = st.session_state.get("runs_imports", 0) + 1
            st.session_state[SELECTED] = new_id
            st.toast(f"Imported as run {new_id}.", icon=":material/check:")
            st.rerun()


def selected_run(shown: pd.DataFrame, selection) -> int:
    """The run on screen: the row last clicked, else the one a link names, else the newest shown; the
    picker shows it and the address names it (so a refresh keeps it)."""
    ids = shown["id"].tolist()
    rows = selection.selection.rows if selection is not None else []
    if rows and st.session_state.get("runs_last_row") != ids[rows[0]]:
        st.session_state["runs_last_row"] = ids[rows[0]]
        st.session_state[SELECTED] = ids[rows[0]]
    asked = st.query_params.get(RUN_PARAM)
    if asked is not None and asked.isdigit() and st.session_state.get("runs_url_run") != int(asked):
        st.session_state["runs_url_run"] = int(asked)  # a link or refresh naming a run selects it once
        st.session_state[SELECTED] = int(asked)
    if st.session_state.get(SELECTED) not in ids:
        st.session_state[SELECTED] = ids[0]
    names = dict(zip(shown["id"], shown["name"]))
    selected = st.session_state[SELECTED]
    # Keyed by the run on screen and the names listed: picking another run, or a rename, draws a new picker
    # at the run on screen (a kept picker would show the old name, and could fall back to the first run).
    picker = f"runs_pick_{selected}_{zlib.crc32(repr(sorted(names.items())).encode())}"
    st.selectbox("Run", ids, index=ids.index(selected), key=picker, on_change=pick_run, args=(picker,),
                 format_func=lambda i: run_title(i, names[i]))
    run_id = st.session_state[SELECTED]
    st.query_params[RUN_PARAM] = str(run_id)
    st.session_state["runs_url_run"] = run_id
    return run_id


def pick_run(key: str) -> None:
    st.session_state[SELECTED] = st.session_state[key]


def still_running_elsewhere(store, record) -> None:
    """A run another process is training: when it last showed life, and marking it interrupted."""
    where = "on this machine" if record.host == store.host else f"on {plain(record.host)}"
    beat = plain((record.heartbeat or record.started_at).replace("T", " ")[:19])
    st.info(f"Running {where}, from another process (the command line or another server); last sign of life "
            f"{beat} UTC. If that process is gone (the machine was switched off, the terminal closed), mark "
            "the run interrupted: it is then kept with what it recorded, and can be deleted.",
            icon=":material/pending:")
    if editor and st.button("Mark interrupted", key="runs_mark_interrupted", icon=":material/block:"):
        try:
            store.mark_interrupted(record.id)
        except (ValueError, StoreError) as error:
            st.error(plain(error))
        else:
            st.toast(f"Run {record.id} marked interrupted.", icon=":material/check:")
            st.rerun()


def finished_run(record) -> None:
    """A finished run's scores and the buttons that open it in the other pages."""
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
        result = load_run(record.id)
        if result is not None:
            show_result(result)
            st.switch_page(target, query_params={RUN_PARAM: str(record.id)})
    st.page_link("pages/present.py", label="Present this run", query_params={RUN_PARAM: str(record.id)},
                 icon=":material/slideshow:", help="Its story on one page, full width, without controls: for a "
                                                   "meeting or a projector.")
    if record.scores.get("Silhouette") is not None:
        st.caption(f"Silhouette computed in the space the clusters were made in: {plain(record.silhouette_space)}.")


def details(store, record, ours: bool) -> None:
    """Status, message, what can be done with the run now, its settings and versions."""
    status_line = f"{STATUS_ICONS.get(record.status, '')} {record.status}"
    st.markdown(f"**Status:** {status_line}" + (f" · {format_seconds(record.duration)}" if record.duration else "")
                + f" · started {plain(record.started_at.replace('T', ' ')[:19])} UTC")
    if record.message:
        (st.error if record.status == FAILED else st.info)(plain(record.message))
    if record.parent_id is not None:
        st.markdown(f"**Corrected by hand from run #{record.parent_id}** (left as it was): "
                    + "; ".join(plain(change) for change in record.changes) + ".")
    if record.status == RUNNING and ours:
        st.info("Still training: follow it on the Train page (or the Sweeps page for a sweep).")
    elif record.status == RUNNING:
        still_running_elsewhere(store, record)
    if record.status == FINISHED:
        finished_run(record)
    if editor and st.button("Train again with these settings", key="runs_train_again", icon=":material/replay:",
                 help="Fills the Train page's form with this run's settings."):
        load_config_into_form(record.config)
        st.switch_page("pages/train.py")
    with st.expander("Parameters and versions"):
        settings = run_settings(record.config, n_samples=record.n_samples, n_clusters=record.n_clusters)
        st.dataframe(pd.DataFrame(settings, columns=["Setting", "Value"]), hide_index=True)
        st.caption("Library versions: " + ", ".join(f"{plain(k)} {plain(v)}" for k, v in record.versions.items()) + ".")


def preview_picture(store, record) -> None:
    picture = store.run_dir(record.id) / "preview.png"
    if picture.exists():
        features = record.dataset in store.datasets and store.datasets.info(record.dataset).kind == "features"
        st.image(str(picture), width=280, caption="Each cluster's mean feature profile (one row per cluster; light "
                 "is high)" if features else "A few images of each cluster (one row per cluster)")


def rename_and_tag(store, record, known_tags: list) -> None:
    rename_col, tags_col = st.columns(2)
    with rename_col:
        new_name = st.text_input("Name", value=record.name, key=f"runs_name_{record.id}")
        if st.button("Rename", key="runs_rename", icon=":material/edit:"):
            try:
                store.rename(record.id, new_name)
                st.toast(f"Run {record.id} renamed.", icon=":material/check:")
                st.rerun()
            except (ValueError, StoreError) as error:
                st.error(plain(error))
    with tags_col:
        new_tags = st.multiselect("Tags", sorted(set(known_tags) | set(record.tags)), default=record.tags,
                                  key=f"runs_tags_{record.id}", accept_new_options=True,
                                  help="Type a new tag and press Enter to add it.")
        if st.button("Save tags", key="runs_save_tags", icon=":material/sell:"):
            try:
                store.set_tags(record.id, new_tags)
            except (ValueError, StoreError) as error:
                st.error(plain(error))
            else:
                st.toast(f"Tags of run {record.id} saved.", icon=":material/check:")
                st.rerun()


def delete_one(store, record, ours: bool) -> None:
    """Delete the run on screen, after a confirmation (not one this server is training)."""
    run_id = record.id
    if record.status == RUNNING and ours:
        st.caption("A run training on this server cannot be deleted: cancel it first.")
    elif st.session_state.get(CONFIRM_DELETE) == run_id:
        still = " It still shows as running: delete it only if its process is gone." if record.status == RUNNING else ""
        st.warning(f"Delete run {run_id} ({plain(record.name)}) and its files? This cannot be undone.{still}")
        yes, no = st.columns(2)
        if yes.button("Yes, delete it", key="runs_delete_yes", type="primary", icon=":material/delete_forever:"):
            try:
                store.delete(run_id, force=record.status == RUNNING)
            except (ValueError, StoreError) as error:
                st.error(plain(error))
                st.stop()
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


def take_away(store, record) -> None:
    """Downloads of a finished run, and the whole run as an archive for another dashboard."""
    st.markdown("**Take it away**")
    result = load_run(record.id)
    if result is not None:
        download_buttons(result, key="runs_download")
        download_button(st, "Whole run, to import in another dashboard (.zip)", lambda: run_archive(store, record.id),
                        file_name=f"run-{record.id}-{record.algorithm}-{record.dataset}-run.zip",
                        mime="application/zip", key="runs_download_whole", icon=":material/move_item:",
                        help="Its record and saved files; import it on another machine's Runs page.")


st.title("Runs")
editor = can_edit()  # a viewer (ui.access) opens and downloads runs, and changes none
store = run_store()
records = records_or_stop(store)
table = runs_table(records)
sizes = {int(i): store.disk_usage(int(i)) for i in table["id"]}
table["MB"] = [round(sizes[int(i)] / 2**20, 1) for i in table["id"]]
known_tags = store.all_tags()
shown = filtered(table, known_tags)
if seed_group_ids(shown).notna().any() and st.toggle(
        "Fold runs that differ only in seed", key="runs_fold",
        help="Each setting repeated over seeds becomes one row holding the mean of its scores; selecting it "
             "opens its newest run."):
    shown = fold_seed_groups(shown)
selection = runs_grid(shown, len(table))
if editor:
    with st.expander("Disk use, delete several, import a run"):
        names_all = dict(zip(table["id"], table["name"]))
        usage, bulk = st.columns(2, gap="large")
        with usage:
            disk_use(store, names_all, sizes)
        with bulk:
            delete_several(store, shown, names_all, sizes)
            import_archive(store)

record = store.get(selected_run(shown, selection))
ours = any(job.run_id == record.id for job in training_worker().active_jobs())
st.subheader(plain(record.name))
left, right = st.columns([3, 2], gap="large")
with left:
    details(store, record, ours)
with right:
    preview_picture(store, record)
if editor:
    with st.expander("Rename, tag or delete", expanded=False):
        rename_and_tag(store, record, known_tags)
        delete_one(store, record, ours)
if record.status == FINISHED:
    take_away(store, record)
