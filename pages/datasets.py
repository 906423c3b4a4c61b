"""Datasets: add your own images or table (upload, preview, save) and manage the saved ones."""
import pandas as pd
import streamlit as st

from core.data import InvalidUpload
from core.data.imports import (MAX_FILE_MB, MAX_SAMPLES, MAX_SIDE, MIN_SAMPLES, MIN_SIDE, UPLOAD_TYPES,
                               guess_label_column, load_table, read_upload, skipped_summary)
from core.data.library import DatasetNotFound, preview_images, suggest_name
from core.runs import StoreError
from core.runs.datasets import DatasetInUse, remove_dataset, rename_dataset
from core.data.images import image_grid
from core.vocabulary import counted, format_bytes
from ui.cache import run_store
from ui.state import FORM
from ui.text import plain

PARSED = "datasets_parsed"        # {(file id, options): ImportedData or the error message}: the latest upload
PICKED = "datasets_pick"          # the saved dataset on screen (the picker's key)
PENDING_PICK = "datasets_pending_pick"  # set before a rerun, applied before the picker is drawn
MESSAGE = "datasets_message"      # (kind, text) shown once after a save, rename or delete
CONFIRM = "datasets_confirm_delete"
UPLOADS = "datasets_uploads"      # how many uploads were saved: part of the uploader's key, so it empties

def go_train_on(name: str) -> None:
    """The Train and Sweeps forms pick `name` when next drawn."""
    for prefix in ("train", "sweep"):
        st.session_state[FORM][f"{prefix}_dataset"] = name
        st.session_state.pop(f"{prefix}_dataset", None)


def parse(file, **options):
    """The upload read with `options`, kept for this session (a rerun does not read it again)."""
    key = (file.file_id, tuple(sorted(options.items())))
    cache = st.session_state.setdefault(PARSED, {})
    if key not in cache:
        cache.clear()  # only the latest upload is kept
        try:
            with st.spinner(f"Reading {file.name}..."):
                cache[key] = read_upload(file.getvalue(), file.name, **options)
        except InvalidUpload as error:
            cache[key] = str(error)
    return cache[key]


def table_columns(file):
    key = ("columns", file.file_id)
    cache = st.session_state.setdefault(PARSED, {})
    if key not in cache:
        try:
            frame = load_table(file.getvalue(), file.name)
            cache[key] = (list(frame.columns), guess_label_column(frame))
        except InvalidUpload as error:
            cache[key] = str(error)
    return cache[key]


PREVIEW_IMAGES = 40  # a spread sample, not the first files by name (often one folder, one kind)


def show_preview(data) -> None:
    what = "images" if data.kind == "images" else "rows"
    low, high = data.value_range()
    cols = st.columns(4)
    cols[0].metric(what.capitalize(), f"{data.n_samples:,}")
    if data.kind == "images":
        h, w, c = data.sample_shape
        cols[1].metric("Shape", f"{h}x{w} {'colour' if c == 3 else 'gray'}")
    else:
        cols[1].metric("Features", data.sample_shape[0])
    cols[2].metric("Values", f"{low:.3g} to {high:.3g}")
    cols[3].metric("Labels", len(data.class_names) if data.class_names else "none")
    for line in skipped_summary(data.skipped):
        st.warning(plain(line), icon=":material/filter_alt_off:")
    for note in data.notes:
        st.info(plain(note), icon=":material/info:")
    grid, counts = st.columns([3, 2], gap="large")
    with grid:
        if data.kind == "images":
            shown = min(PREVIEW_IMAGES, data.n_samples)
            spread = "each label in turn" if data.labels is not None else "at random"
            st.image(image_grid(preview_images(data, PREVIEW_IMAGES), n_cols=10, size=48),
                     caption=f"All {counted(shown, 'image')}, in file-name order." if shown == data.n_samples else
                     f"{shown} of the {data.n_samples:,} images, drawn from the whole upload ({spread}), in "
                     "file-name order.")
        else:
            frame = pd.DataFrame(data.x[:10], columns=data.feature_names)
            frame.insert(0, "row", data.file_names[:10])
            if data.labels is not None:
                frame.insert(1, "label", [data.class_names[y] for y in data.labels[:10]])
            st.dataframe(frame, hide_index=True)
    with counts:
        if data.labels is not None:
            st.dataframe(pd.DataFrame({"label": list(data.label_counts()), "count": list(data.label_counts().values())}),
                         hide_index=True)
        else:
            st.caption("No labels: pages will show the silhouette, cluster sizes and galleries, and say why the "
                       "label-based scores are absent.")
        with st.expander("File names"):
            st.dataframe(pd.DataFrame({"file": data.file_names}), hide_index=True, height=200)


def upload_form(file) -> None:
    """Options for the upload (label column, size, grayscale), its preview, and saving it under a name."""
    extension = file.name.rsplit(".", 1)[-1].lower()
    options = {}
    if extension in ("csv", "parquet"):
        columns = table_columns(file)
        if isinstance(columns, str):
            st.error(plain(columns), icon=":material/error:")
            return
        names, guess = columns
        choices = [None, *names]
        options["label_column"] = st.selectbox(
            "Label column", choices, index=choices.index(guess), key=f"datasets_label_{file.file_id}",
            format_func=lambda c: "none (unlabelled)" if c is None else str(c),
            help="A column holding each row's true label (text or whole numbers); every other column must be numeric.")
    data = parse(file, **options)
    if extension == "zip" and not isinstance(data, str):
        h, w, _ = data.sample_shape
        left, middle, right = st.columns(3)
        height = left.number_input("Height", MIN_SIDE, MAX_SIDE, int(h), key=f"datasets_h_{file.file_id}",
                                   help="Images are resized to this size; other shapes are padded, not stretched.")
        width = middle.number_input("Width", MIN_SIDE, MAX_SIDE, int(w), key=f"datasets_w_{file.file_id}")
        gray_key = f"datasets_gray_{file.file_id}"
        gray = False
        if data.sample_shape[2] == 3 or st.session_state.get(gray_key):
            gray = right.checkbox("Convert to grayscale", key=gray_key, help="Colour is kept by default.")
        else:
            right.caption("The images are grayscale.")
        if (height, width) != (h, w) or gray:
            data = parse(file, size=(int(height), int(width)), grayscale=bool(gray))
    if isinstance(data, str):
        st.error(plain(data), icon=":material/error:")
        return
    show_preview(data)
    with st.form("datasets_save", border=False):
        library = run_store().datasets
        name = st.text_input("Name", value=suggest_name(file.name, library), max_chars=60,
                             help="Letters, digits, spaces and . _ - + ( ); at most 60 characters.")
        if st.form_submit_button("Save dataset", type="primary", icon=":material/save:"):
            try:
                info = library.add(data, name)
            except (InvalidUpload, StoreError, OSError) as error:  # OSError: a full disk, a read-only store
                st.error(plain(error), icon=":material/error:")
            else:
                st.session_state[PENDING_PICK] = info.name
                st.session_state[MESSAGE] = ("success", f"Saved {plain(info.name)}: {plain(info.summary)}.")
                st.session_state.pop(PARSED, None)
                st.session_state[UPLOADS] = st.session_state.get(UPLOADS, 0) + 1  # a fresh, empty uploader
                st.rerun()


def saved_table(store, infos) -> dict:
    """The saved datasets as a table; returns the runs that use each, by name."""
    users = {info.name: store.list_runs(dataset=info.name) for info in infos}
    st.dataframe(pd.DataFrame({
        "name": [i.name for i in infos], "what": [i.summary for i in infos], "from": [i.source for i in infos],
        "added": [i.created_at[:16].replace("T", " ") for i in infos], "size": [format_bytes(i.size_bytes) for i in infos],
        "runs": [len(users[i.name]) for i in infos]}), hide_index=True)
    return users


def picked_dataset(library, infos):
    """The saved dataset on screen (one just saved or renamed, else the one picked, else the first); the
    page stops when it was removed meanwhile."""
    names = [i.name for i in infos]
    pending = st.session_state.pop(PENDING_PICK, None)
    if pending in names:
        st.session_state[PICKED] = pending
    if st.session_state.get(PICKED) not in names:
        st.session_state[PICKED] = names[0]
    picked = st.selectbox("Dataset", names, key=PICKED)
    try:
        return library.info(picked)
    except DatasetNotFound as error:  # removed from another tab or the command line
        st.warning(plain(error))
        st.stop()


def about(info) -> None:
    st.text(info.summary)
    st.caption(f"From {plain(info.source)}, added {info.created_at[:16].replace('T', ' ')}."
               + (f" {info.n_skipped:,} file{' was' if info.n_skipped == 1 else 's were'} skipped when it was read."
                  if info.n_skipped else ""))
    for note in info.notes:
        st.caption(plain(note))
    if st.button("Train on it", icon=":material/model_training:", key="datasets_train"):
        go_train_on(info.name)
        st.switch_page("pages/train.py")


def rename_form(store, info) -> None:
    """Rename the dataset, in every run that uses it and in the forms that have it picked."""
    with st.form("datasets_rename", border=False):
        new = st.text_input("New name", value=info.name, max_chars=60)
        if st.form_submit_button("Rename", icon=":material/edit:"):
            try:
                renamed = rename_dataset(store, info.name, new)
            except (InvalidUpload, DatasetNotFound, StoreError, OSError) as error:
                st.error(plain(error), icon=":material/error:")
            else:
                for key, value in list(st.session_state[FORM].items()):
                    if key.endswith("_dataset") and value == info.name:
                        st.session_state[FORM][key] = renamed
                        st.session_state.pop(key, None)
                st.session_state[PENDING_PICK] = renamed
                st.session_state[MESSAGE] = ("success", f"Renamed {plain(info.name)} to {plain(renamed)}.")
                st.rerun()


def delete_dataset(store, info, used: list) -> None:
    """Delete the dataset after a confirmation (refused, with the runs named, while runs use it)."""
    if used:
        st.caption(f"Used by {len(used)} run{'s' if len(used) > 1 else ''}; delete those runs before the dataset.")
    if st.session_state.get(CONFIRM) == info.name:
        st.warning(f"Delete {plain(info.name)} and its files? This cannot be undone.")
        yes, no = st.columns(2)
        if yes.button("Delete", type="primary", key="datasets_delete_yes"):
            st.session_state.pop(CONFIRM, None)
            try:
                remove_dataset(store, info.name)
            except (DatasetInUse, DatasetNotFound, StoreError, OSError) as error:
                st.error(plain(error), icon=":material/error:")
            else:
                st.session_state[MESSAGE] = ("success", f"Deleted {plain(info.name)}.")
                st.rerun()
        if no.button("Keep it", key="datasets_delete_no"):
            st.session_state.pop(CONFIRM, None)
            st.rerun()
    elif st.button("Delete…", key="datasets_delete", icon=":material/delete:"):
        st.session_state[CONFIRM] = info.name
        st.rerun()


st.title("Datasets")
st.caption(f"Cluster your own data: a .zip of PNG, JPEG, BMP, GIF or WebP images (sub-folders are the labels), "
           f"an .npz with an image array x and optional labels y, or a .csv / .parquet table of numeric features. "
           f"Up to {MAX_FILE_MB} MB a file and {MAX_SAMPLES:,} images or rows; at least {MIN_SAMPLES}. Saved "
           f"datasets are kept with the runs and offered on Train and Sweeps.")
store = run_store()
message = st.session_state.pop(MESSAGE, None)
if message is not None:
    getattr(st, message[0])(message[1], icon=":material/check_circle:" if message[0] == "success" else None)

st.subheader("Add a dataset")
uploaded = st.file_uploader("Your file", type=list(UPLOAD_TYPES), key=f"datasets_upload_{st.session_state.get(UPLOADS, 0)}",
                            help="Labels of a zip come from its folders: one common top folder is left out, the "
                                 "first level below it is the label, deeper levels are ignored; no sub-folders "
                                 "means unlabelled.")
if uploaded is not None:
    upload_form(uploaded)

st.subheader("Your datasets")
infos = store.datasets.list()
if not infos:
    st.info("None yet. Upload a file above; what you save here is offered on Train and Sweeps.")
    st.stop()
users = saved_table(store, infos)
info = picked_dataset(store.datasets, infos)
thumb, details = st.columns([2, 3], gap="large")
with thumb:
    path = store.datasets.thumbnail(info.name)
    if path is not None:
        st.image(str(path), caption="The first images")
with details:
    about(info)
    rename_form(store, info)
    delete_dataset(store, info, users.get(info.name, []))
