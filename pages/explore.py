"""Explore: the 2-D projection of the embedding, cluster sizes, and a gallery per cluster."""
from functools import partial
from typing import Optional

import numpy as np
import streamlit as st

from core.projection import PROJECTIONS, umap_is_warm
from core.data import InvalidUpload
from core.data.images import to_uint8
from core.data.imports import read_upload, skipped_summary
from core.runs.projections import ProjectionTask, computes_inline
from core.runs.apply import CannotApply, apply_run, can_apply, images_for_run
from core.runs.export import cluster_folders_zip, confidence, file_stem, labels_csv
from core.corrections import MAX_NAME, MAX_PARTS, Edit, InvalidEdit, score_change
from core.selection import Selection, makeup, nearest_rows, spread_rows
from core.viz.figures import (add_image_map, add_new_points, cluster_profiles_heatmap, cluster_sizes_bar,
                              projection_scatter)
from core.viz.images import displayable, gallery_html, makeup_html
from core.viz.palette import cluster_color, colour_ids
from core.viz.tables import cluster_profiles, feature_frame
from core.vocabulary import (METRIC_HELP, cluster_name, cluster_names, gallery_caption_note, majority_caption, sample_captions,
                             sample_name)
from ui.access import can_edit
from ui.cache import run_store, training_worker
from ui.downloads import download_button
from ui.progress import task_progress
from ui.state import require_result
from ui import corrections
from ui.pointer import projection_pointer, thumbnail_feed
from ui.text import plain
from ui.view import current_selection, open_point, opened_point, rejected_selection_note, set_selection
from core.runs import FAILED, FINISHED
from ui.worker import TrainingJob

PROJECTION_JOB = "explore_projection_job"  # ((run, method), TrainingJob) of a projection being computed
PLACED = "explore_placed"  # {run id: {"placement", "names", "images"}}: new images placed in a run
MAX_PLACED = 2000          # placed in the server process: kept small enough to take seconds
PROJECTION_HEIGHT = 430    # px: the whole projection on a 1280x720 screen, below the title and the controls

def missing_projection(method: str):
    """The `method` points of a run saved without them: computed on the spot when that is instant (a
    small PCA), else by the training process (queued with the runs, with progress and Cancel). None,
    after showing where the work stands, while they are not there."""
    if computes_inline(method, result.embedding):
        return result.projection(method)
    key = (result.run_id if result.run_id is not None else id(result), method)
    pending = st.session_state.get(PROJECTION_JOB)
    if pending is None or pending[0] != key:
        task = ProjectionTask.on_result(result, method=method, random_state=result.config.seed,
                                        fit=result.config.projection_fit)
        pending = (key, training_worker().submit(TrainingJob(task)))
        st.session_state[PROJECTION_JOB] = pending
    job = pending[1]
    if not job.done:
        note = "" if method != "umap" or umap_is_warm() else " The training process compiles UMAP once."
        st.info(f"This run was saved without its {PROJECTIONS[method]} projection: the training process is "
                f"computing it now, once ({len(result.embedding):,} points).{note}", icon=":material/hourglass_top:")
        task_progress(job, cancel_key="explore_projection_cancel")
        return None
    if job.status == FINISHED:
        st.session_state[PROJECTION_JOB] = None
        result.projections[method] = job.result
        return job.result
    if job.status == FAILED:
        st.error(f"The {PROJECTIONS[method]} projection failed: {plain(job.error)}", icon=":material/error:")
    else:
        st.warning(f"The {PROJECTIONS[method]} projection was cancelled.", icon=":material/stop_circle:")
    if st.button(f"Compute the {PROJECTIONS[method]} projection", key="explore_projection_again",
                 icon=":material/refresh:"):
        st.session_state[PROJECTION_JOB] = None
        st.rerun()
    return None


def place_new_images() -> None:
    """Upload images (or pick a saved dataset of the run's shape) and let the run's model assign them."""
    reason = can_apply(result.config.algorithm, result.config.params)
    if reason or data.is_table:
        st.info(plain(f"{result.algorithm_title} cannot place new {'rows' if data.is_table else 'images'}: "
                      f"{reason or 'only runs on images can, for now'}.") + " Runs of k-means, the autoencoder "
                "methods, DEC, IDEC, DCEC, GMM, VaDE and the SOM can.", icon=":material/block:")
        return
    h, w, c = data.image_shape
    source = st.radio("New images from", ["Upload", "A saved dataset"], horizontal=True, key="explore_apply_source")
    new = None
    if source == "Upload":
        file = st.file_uploader(f"A .zip of images (resized to {h}x{w}) or an .npz of {h}x{w} images",
                                type=["zip", "npz"], key="explore_apply_upload")
        if file is not None:
            try:
                new = read_upload(file.getvalue(), file.name, size=(h, w), grayscale=c == 1, as_dataset=False)
            except InvalidUpload as error:
                st.error(plain(error), icon=":material/error:")
                return
            for line in skipped_summary(new.skipped):
                st.warning(plain(line), icon=":material/filter_alt_off:")
    else:
        library = run_store().datasets
        same = [i.name for i in library.list() if i.kind == "images" and tuple(i.sample_shape[:2]) == (h, w)]
        if not same:
            st.caption(f"No saved dataset has {h}x{w} images.")
            return
        chosen = st.selectbox("Saved dataset", same, key="explore_apply_dataset")
        new = library.load(chosen)
    if new is None:
        return
    if new.n_samples > MAX_PLACED:
        st.error(f"{new.n_samples:,} images: at most {MAX_PLACED:,} are placed at a time here.", icon=":material/error:")
        return
    if st.button(f"Place {new.n_samples:,} image{'s' if new.n_samples > 1 else ''}", type="primary",
                 key="explore_apply_go", icon=":material/add_location_alt:"):
        try:
            with st.spinner("Embedding the new images with the run's model..."):
                images = images_for_run(new, data.image_shape)
                placement = apply_run(run_store(), result.run_id, images, result=result)
        except (CannotApply, InvalidUpload) as error:
            st.error(plain(error), icon=":material/error:")
            return
        names = [str(n).replace("\\", "/").rsplit("/", 1)[-1] for n in new.file_names] \
            if new.file_names is not None else [f"new {i + 1}" for i in range(new.n_samples)]
        st.session_state.setdefault(PLACED, {})[result.run_id] = {
            "placement": placement, "names": names, "images": images}
        st.rerun()


SCATTER = "explore_scatter"
IMAGE_MAP_CELLS = 18  # the image map draws at most this many squared images, one per cell of the view
SAVED = "explore_saved_correction"  # the id of the run a correction was just saved as
POINTER_META = "explore-projection"  # how the hover-and-click component finds the projection chart
DRAWN = "explore_drawn"      # (figure key, Selection): the selection the projection was last drawn with
FIGURE = "explore_figure"    # (figure key, what it shows, figure, traces of the run's points): the last drawn
EPOCH = "explore_epoch"      # bumped to draw the projection afresh (a cleared selection leaves no outline)
MAX_SELECTION_SHOWN = 120    # images of a selection drawn at once (the CSV and the zip hold them all)


def selection_points(selection: Selection):
    """The points of the projection `selection` was drawn on, or None where the run has not got them."""
    if selection.method in result.projections:
        return result.projections[selection.method]
    if selection.method in PROJECTIONS and computes_inline(selection.method, result.embedding):
        return result.projection(selection.method)
    return None


def on_select(method: str, n_traces: int) -> None:
    """A box, a lasso or a click on the projection: a click on one point opens it, anything else becomes the
    selection (an empty event, a double-click, clears it)."""
    event = st.session_state.get(SCATTER)
    selection = Selection.from_event(event.get("selection") if event else None, method, n_traces)
    if selection is not None and selection.kind == "rows" and len(selection.rows) == 1:
        open_point(result, selection.rows[0])
    else:
        set_selection(result, selection)


def images_key() -> tuple:
    """What names this run's images for the hover pictures (the same key, the same images)."""
    return (result.run_id if result.run_id is not None else id(result), data.name, data.n_samples)


def scatter(method: str, colour_by: str, placed, selection: Optional[Selection], shown, image_map: bool) -> bool:
    """The 2-D projection of `shown` (the run as corrected) coloured by cluster or true label, with the new
    images placed (stars); a box or lasso on it selects images, a click opens one. False when the projection
    is not there yet."""
    points = result.projections.get(method)
    if points is None:
        points = missing_projection(method)
    if points is None:
        return False
    # The chart is drawn with the selection it had when this view (run, projection, colours) was first
    # drawn: a new box or lasso then leaves the figure as it is, so Plotly keeps its zoom and its own outline.
    key = (result.run_id, id(shown), method, colour_by, image_map, st.session_state.get(EPOCH, 0))
    if st.session_state.get(DRAWN, (None,))[0] != key:
        st.session_state[DRAWN] = (key, selection)
    drawn = st.session_state[DRAWN][1]
    # A box, a lasso or a click reruns this with the same figure: build it once (70,000 points take a second)
    cached = st.session_state.get(FIGURE)
    if cached is not None and cached[0] == key and all(a is b for a, b in zip(cached[1], (result, shown, placed))):
        figure, n_traces = cached[2:]
    else:  # holding what it was drawn from keeps their ids from being reused
        figure, n_traces = projection_figure(points, method, colour_by, placed, shown, drawn, image_map)
        # Each drawing of a view is a chart of its own: Streamlit restores a chart's last selection by its
        # figure, so after "Clear selection" the same figure drawn again would bring the cleared lasso back
        figure.update_layout(uirevision=f"{method}-{colour_by}-{st.session_state.get(EPOCH, 0)}")
        st.session_state[FIGURE] = (key, (result, shown, placed), figure, n_traces)
    st.plotly_chart(figure, key=SCATTER, on_select=partial(on_select, method, n_traces),
                    selection_mode=("points", "box", "lasso"))
    projection_pointer(POINTER_META, None if data.is_table else data.images, n_traces,
                       on_open=partial(open_point, result), key="explore_pointer", images_key=images_key())
    st.caption("Drag a lasso round images to select them (a box: the toolbar's dashed square), click a point to "
               "open it, double-click the chart to clear the selection.")
    return True


def projection_figure(points, method: str, colour_by: str, placed, shown, drawn: Optional[Selection],
                      image_map: bool):
    """The projection's figure and how many of its traces are the run's points."""
    true_names = [data.label_name(int(y)) for y in data.labels] if data.has_labels else None
    if colour_by == "Cluster":
        groups, colours = shown.labels, colour_ids(shown.labels)
        names = cluster_names(np.unique(shown.labels), shown.cluster_names)
    else:  # each true label takes the colour of the cluster it is matched to, so colours do not reshuffle
        groups, names = data.labels, {int(y): data.label_name(int(y)) for y in np.unique(data.labels)}
        colours = colour_ids(data.labels, clusters=shown.labels)
    drawn_points = selection_points(drawn) if drawn is not None else None
    figure = projection_scatter(points, groups, group_names=names, indices=data.indices, clusters=shown.labels,
                                true_names=true_names, colour_by=colour_by, colour_ids=colours,
                                cluster_label=shown.cluster_label,
                                title=result.projection_title(method),
                                selected=drawn.rows_in(drawn_points) if drawn_points is not None else None,
                                shape=drawn if drawn is not None and drawn.method == method else None,
                                height=PROJECTION_HEIGHT)
    n_traces = len(figure.data)
    figure.update_layout(dragmode="lasso", meta=POINTER_META)
    if image_map and not data.is_table:
        spread = spread_rows(points, IMAGE_MAP_CELLS)
        add_image_map(figure, points, spread, displayable(data.images[spread]), IMAGE_MAP_CELLS,
                      clusters=shown.labels[spread])
    if placed is not None and method in placed["placement"].points:
        add_new_points(figure, placed["placement"].points[method], placed["placement"].labels, placed["names"])
    return figure, n_traces


def clear_selection() -> None:
    set_selection(result, None)
    st.session_state[EPOCH] = st.session_state.get(EPOCH, 0) + 1


def selection_panel(selection: Selection, shown) -> None:
    """The selected images, what they hold (clusters, true labels) and what to do with them: download them,
    make them a cluster of their own, or move them to one."""
    points = selection_points(selection)
    head, clear = st.columns([4, 1], vertical_alignment="bottom")
    clear.button("Clear selection", key="explore_clear_selection", on_click=clear_selection,
                 icon=":material/deselect:", width="stretch")
    if points is None:
        head.subheader("Selection")
        st.info(f"This selection was drawn on the {PROJECTIONS.get(selection.method, selection.method)} projection, "
                "which this run does not have yet: open that projection above to see it.")
        return
    rows = selection.rows_in(points)
    head.subheader(selection.describe(len(rows)))
    if len(rows) == 0:
        st.info("No image lies inside this selection: draw another, or clear it.", icon=":material/search_off:")
        return
    gallery_col, makeup_col = st.columns([3, 2], gap="large")
    with makeup_col:
        clusters, counts = makeup(shown.labels[rows])
        names, label_counts = [], []
        if data.has_labels:
            labels, label_counts = makeup(data.labels[rows])
            names = [data.label_name(int(y)) for y in labels]
        groups = [("By cluster", [(shown.cluster_label(c), n, cluster_color(int(c))) for c, n in zip(clusters, counts)])]
        if names:
            groups.append(("By true label", [(name, n, "#888") for name, n in zip(names, label_counts)]))
        st.html(makeup_html(groups))
        if can_edit():
            move_selection(rows, shown)
        stem = f"{file_stem(result)}-selection"
        download_button(st, "Selection (CSV)", lambda: labels_csv(shown, rows), file_name=f"{stem}.csv",
                        mime="text/csv", key="explore_selection_csv", icon=":material/table:",
                        help="One row per selected image: index, file name, cluster, confidence, true label.")
        if not data.is_table:
            download_button(st, "Selected images by cluster (.zip)", lambda: cluster_folders_zip(shown, rows),
                            file_name=f"{stem}.zip", mime="application/zip", key="explore_selection_zip",
                            icon=":material/folder_zip:", help="The selected images, one folder per cluster.")
    with gallery_col:
        if data.is_table:
            st.dataframe(feature_frame(data, rows), hide_index=True, height=300)
            return
        picked = rows[:MAX_SELECTION_SHOWN]
        captions, hovers = sample_captions(data, picked)
        hovers = [f"{hover} · {shown.cluster_label(c)}" for hover, c in zip(hovers, shown.labels[picked])]
        more = f" The first {len(picked)} of {len(rows):,} are shown; the downloads hold all." if len(rows) > len(picked) else ""
        st.caption(gallery_caption_note(data) + " Point at an image for its cluster." + more)
        st.html(gallery_html(data.images[picked], captions, tile=64, tooltips=hovers))


def enlarged(row: int, size: int):
    """Image `row` enlarged by whole pixels to about `size` (st.image would smooth a small image)."""
    return to_uint8(displayable(data.images[row:row + 1])[0], size=size)


def point_panel(row: int, shown) -> None:
    """One image opened: its picture, cluster, true label and confidence, and its nearest neighbours in the
    space the clustering used (click one to move to it)."""
    neighbours, distances = nearest_rows(result.embedding, row)
    trust = confidence(result)[row]
    with st.container(border=True):
        head, close = st.columns([4, 1], vertical_alignment="bottom")
        head.subheader(f"Image {sample_name(data, row)}")
        close.button("Close", key="explore_close_point", on_click=open_point, args=(result, None),
                     icon=":material/close:", width="stretch")
        facts = [("cluster", shown.cluster_label(shown.labels[row])), ("dataset index", str(int(data.indices[row])))]
        if data.has_labels:
            facts.append(("true label", data.label_name(int(data.labels[row]))))
        if not np.isnan(trust):
            facts.append(("confidence", f"{trust:.3f}"))
        if data.file_names is not None:
            facts.append(("file", str(data.file_name(row))))
        picture, about = st.columns([1, 4], gap="medium")
        if data.is_table:
            about.dataframe(feature_frame(data, [row]), hide_index=True)
        else:
            picture.image(enlarged(row, 128), width=128)
        about.markdown("  \n".join(f"**{name}:** {plain(value)}" for name, value in facts))
        st.markdown(f"**Its {len(neighbours)} nearest neighbours** in the {plain(result.silhouette_space)}, the space "
                    "the clusters were made in (nearest first; click one to open it):")
        columns = st.columns(5)
        for i, (neighbour, distance) in enumerate(zip(neighbours, distances)):
            with columns[i % 5]:
                if not data.is_table:
                    st.image(enlarged(neighbour, 72), width=72)
                label = f" · {data.label_name(int(data.labels[neighbour]))}" if data.has_labels else ""
                st.button(f"{sample_name(data, neighbour)}{label}", key=f"explore_neighbour_{i}",
                          on_click=open_point, args=(result, int(neighbour)),
                          help=f"{shown.cluster_label(shown.labels[neighbour])}, distance {distance:.3g}")


def edit_from_widgets(kind: str, rows: tuple = ()) -> None:
    """The edit the correction widgets describe as they are now (read when the button is pressed, so a value
    changed just before the click counts)."""
    state = st.session_state
    try:
        if kind == "merge":
            edit = Edit("merge", clusters=tuple(state.get("explore_merge") or ()))
        elif kind == "split":
            edit = Edit("split", clusters=(state["explore_split"],), parts=int(state["explore_split_parts"]))
        elif kind == "rename":
            edit = Edit("rename", clusters=(state["explore_rename"],), name=state.get("explore_rename_text") or "")
        else:
            edit = Edit("move", clusters=(state["explore_selection_target"],), rows=rows)
    except InvalidEdit as error:
        corrections.say(f"Not done: {error}.")
        return
    corrections.apply(result, edit)
    if kind == "merge":
        state["explore_merge"] = []


def move_selection(rows: np.ndarray, shown) -> None:
    """Make the selected images a cluster of their own, or move them to a cluster (a step of the correction)."""
    clusters = np.unique(shown.labels).tolist()
    st.button("Make them a new cluster", key="explore_selection_new", icon=":material/add_circle:",
              on_click=corrections.apply, args=(result, Edit("move", rows=tuple(rows.tolist()))), width="stretch")
    target, go = st.columns([3, 2], vertical_alignment="bottom")
    target.selectbox("Move them to", clusters, key="explore_selection_target", format_func=shown.cluster_label)
    go.button("Move", key="explore_selection_move", icon=":material/move_item:", width="stretch",
              on_click=edit_from_widgets, args=("move", tuple(rows.tolist())))


def score_changes(shown) -> None:
    """Each score before and after the correction ("NMI 0.758 -> 0.801")."""
    changes = [(name, old, new) for name, old, new in score_change(result.metrics, shown.metrics) if new is not None]
    for column, (name, old, new) in zip(st.columns(len(changes)), changes):
        delta = None if old is None else f"{new - old:+.3f}"
        column.metric(name, f"{new:.3f}", delta=delta, help=f"{METRIC_HELP[name]} Before the correction: "
                      + ("n/a" if old is None else f"{old:.3f}") + ".")
    st.caption(" · ".join(f"{name} {'n/a' if old is None else f'{old:.3f}'} → {new:.3f}" for name, old, new in changes))


def correction_tools(shown) -> None:
    """Merge, split and name clusters; undo, redo; save the correction as a new run."""
    fix = corrections.correction(result)
    clusters = np.unique(shown.labels).tolist()
    # one label whatever the steps: a new label would be a new expander, closed again after an undo
    with st.expander("Correct the clusters", expanded=bool(fix.edits), icon=":material/edit:"):
        # the parts that come and go sit in containers that are always there, so the buttons keep their places
        # in the page (a rerun would otherwise draw a button anew beside its old self until it ends)
        with st.container():
            if fix.changed:
                score_changes(shown)
        merge, split, name = st.columns(3, gap="medium")
        with merge:
            merged = st.multiselect("Merge clusters", clusters, key="explore_merge", format_func=shown.cluster_label,
                                    help="The clusters join the first one picked.")
            st.button("Merge", key="explore_merge_go", disabled=len(merged) < 2, icon=":material/merge:",
                      on_click=edit_from_widgets, args=("merge",))
        with split:
            st.selectbox("Split a cluster", clusters, key="explore_split", format_func=shown.cluster_label)
            st.number_input("into", 2, MAX_PARTS, 2, key="explore_split_parts",
                                    help=f"Its images are clustered again, by k-means in the {plain(result.silhouette_space)}.")
            st.button("Split", key="explore_split_go", icon=":material/call_split:", on_click=edit_from_widgets,
                      args=("split",))
        with name:
            st.selectbox("Name a cluster", clusters, key="explore_rename", format_func=shown.cluster_label)
            st.text_input("Name", key="explore_rename_text", max_chars=MAX_NAME, placeholder="e.g. sevens")
            st.button("Name it", key="explore_rename_go", icon=":material/label:", on_click=edit_from_widgets,
                      args=("rename",))
        history = fix.history()
        with st.container():
            if history:
                st.caption("Steps: " + " · ".join(plain(text) if done else f"~~{plain(text)}~~" for text, done in history))
        undo, redo, discard, save = st.columns(4)
        undo.button("Undo", key="explore_undo", disabled=not fix.can_undo, icon=":material/undo:", width="stretch",
                    on_click=corrections.step, args=(result, False))
        redo.button("Redo", key="explore_redo", disabled=not fix.can_redo, icon=":material/redo:", width="stretch",
                    on_click=corrections.step, args=(result, True))
        discard.button("Discard", key="explore_discard", disabled=not fix.edits, icon=":material/delete_sweep:",
                       width="stretch", on_click=corrections.discard, args=(result,))
        can_save = fix.changed and result.run_id is not None
        if save.button("Save as a new run", key="explore_save_correction", type="primary", disabled=not can_save,
                       icon=":material/save:", width="stretch",
                       help="A new run derived from this one, with these labels and names; this run is left as "
                            "it is." if result.run_id is not None else "Only a run in the store can be corrected "
                            "into a new run."):
            new_id = corrections.save_as_run(result)
            st.session_state[SAVED] = new_id
            st.rerun()
        saved = st.session_state.pop(SAVED, None)
        if saved is not None:
            st.success(f"Saved as run #{saved}, derived from run #{result.run_id}.", icon=":material/check_circle:")
            st.page_link("pages/explore.py", label=f"Open run #{saved}", query_params={"run": str(saved)},
                         icon=":material/open_in_new:")


@st.fragment
def projection_view(method: str, colour_by: str, placed, image_map: bool) -> None:
    """The projection and what it drives (a selection's images, an opened point, the galleries, the
    correction): a box, a lasso, a click or an edit reruns only this."""
    shown = corrections.corrected(result)
    selection = current_selection(result)  # first: a link's unreadable selection leaves a note
    for note in (rejected_selection_note(), corrections.notice()):
        if note:
            st.warning(plain(note), icon=":material/info:")
    drawn = scatter(method, colour_by, placed, selection, shown, image_map)  # False while its points are being computed
    row = opened_point(result) if drawn else None
    if row is not None:
        point_panel(row, shown)
    if drawn and selection is not None:
        selection_panel(selection, shown)
    else:  # the galleries need no points
        sizes_and_gallery(shown)
    if can_edit():  # a viewer (ui.access) looks and downloads, and corrects nothing
        correction_tools(shown)  # below the gallery, which follows the projection closely


def placed_images(placed) -> None:
    """What the run's model did with the new images: counts per cluster, a gallery, a table."""
    place_new_images()
    if placed is None:
        return
    placement = placed["placement"]
    st.success(f"Placed {len(placement.labels):,} new images: {placement.rule}. They are the stars on the "
               f"projection, beside their nearest neighbours in the run's embedding.", icon=":material/check_circle:")
    counts = {cluster_name(c): int(n) for c, n in zip(*np.unique(placement.labels, return_counts=True))}
    st.caption(plain("Per cluster: " + ", ".join(f"{k} {v}" for k, v in counts.items()) + "."))
    captions = [f"{n} · {cluster_name(c)}" for n, c in zip(placed["names"], placement.labels)]
    st.html(gallery_html(placed["images"][:96], captions[:96], tile=64))
    table = {"image": placed["names"], "cluster": [cluster_name(c) for c in placement.labels]}
    if placement.confidence is not None:
        table["confidence"] = np.round(placement.confidence, 3)
    st.dataframe(table, hide_index=True)
    if st.button("Clear the new images", key="explore_apply_clear"):
        st.session_state[PLACED].pop(result.run_id, None)
        st.rerun()


def sizes_and_gallery(shown) -> None:
    """Cluster sizes, and a gallery (or, for a table, the rows) of one cluster of `shown`."""
    sizes_col, gallery_col = st.columns([2, 3], gap="large")
    clusters, counts = shown.cluster_sizes()
    with sizes_col:
        st.plotly_chart(cluster_sizes_bar(clusters, counts, cluster_label=shown.cluster_label), key="explore_sizes")

    with gallery_col:
        st.subheader("Rows" if data.is_table else "Gallery")
        size_of = dict(zip(clusters.tolist(), counts.tolist()))
        what = "rows" if data.is_table else "images"
        pick, count = st.columns([3, 2]) if not data.is_table else (st.container(), None)
        cluster = pick.selectbox("Cluster", clusters.tolist(), key="explore_cluster",
                                 format_func=lambda c: f"{shown.cluster_label(c)} ({size_of[c]} {what})")
        members = shown.members(cluster)
        # class names can be a user's folder names: escaped, the rest of the caption is ours
        majority = (f"{majority_caption(data.labels[members], lambda y: plain(data.label_name(y)))} "
                    if data.has_labels else "")
        if data.is_table:  # a table has no pictures: each cluster's mean profile, then the chosen cluster's rows
            st.caption(majority + "The chosen cluster is outlined; its rows follow.")
            st.plotly_chart(cluster_profiles_heatmap(cluster_profiles(data, shown.labels), highlight=cluster),
                            key="explore_profiles")
            st.dataframe(feature_frame(data, members), hide_index=True, height=300)
            return
        n_show = count.slider("Images shown", 8, 96, 40, step=8, key="explore_n_show")
        picked = np.random.default_rng(0).choice(members, size=min(n_show, len(members)), replace=False)
        captions, hovers = sample_captions(data, picked)
        st.caption(majority + gallery_caption_note(data))
        st.html(gallery_html(data.images[picked], captions, tile=64, tooltips=hovers))


st.title("Explore")
result = require_result()
if result is None:
    st.stop()
data = result.dataset
# the run's name is the heading above and its scores are in the sidebar: no summary line here, so that the
# projection fits a 1280x720 screen under the controls
controls = st.columns([3, 3, 2, 2], vertical_alignment="center")
# a run opens on a projection it has (UMAP unless it was saved with PCA only); another is computed on demand
first = next((i for i, m in enumerate(PROJECTIONS) if m in result.projections), 0)
method = controls[0].radio("Projection", list(PROJECTIONS), format_func=PROJECTIONS.get, horizontal=True,
                           index=first, key="explore_projection", bind="query-params", help="UMAP keeps neighbourhoods; PCA is instant and linear.")
colour_options = ["Cluster", "True label"] if data.has_labels else ["Cluster"]
colour_by = controls[1].radio("Colour by", colour_options, horizontal=True, key="explore_colour", bind="query-params")
placed = st.session_state.get(PLACED, {}).get(result.run_id)
image_map = not data.is_table and controls[2].toggle(
    "Image map", key="explore_image_map", bind="query-params",
    help=f"Draw a spread-out sample of up to {IMAGE_MAP_CELLS ** 2} images at their places on the projection.")
if result.run_id is not None:
    controls[3].page_link("pages/present.py", label="Present this run", query_params={"run": str(result.run_id)},
                          icon=":material/slideshow:", help="Its story on one page, full width, without controls: "
                                                            "for a meeting or a projector.")
projection_view(method, colour_by, placed, image_map)
thumbnail_feed(None if data.is_table else data.images, images_key(), key="explore_thumbnails")
if can_edit():  # it uploads images: not for a viewer
    with st.expander("Place new images in this run", expanded=placed is not None, icon=":material/add_location_alt:"):
        placed_images(placed)
