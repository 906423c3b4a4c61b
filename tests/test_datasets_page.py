"""The Datasets page through AppTest's file_uploader: preview, save, rename, delete, and every bad file."""
import re

import pytest
from streamlit.testing.v1 import AppTest

from core.runs import RunStore
from core.runs.datasets import remove_dataset
from tests import uploads
from tests.conftest import ROOT


def datasets_page() -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90)
    at.run()
    at.switch_page("pages/datasets.py").run()
    assert not at.exception, at.exception
    return at


def upload(at: AppTest, name: str, content: bytes) -> AppTest:
    [widget] = at.get("file_uploader")
    widget.upload(name, content).run()
    assert not at.exception, at.exception
    return at


def texts(at: AppTest, kind: str) -> str:
    """What elements of `kind` read on screen (their Markdown escapes removed)."""
    return re.sub(r"\\(.)", r"\1", " ".join(str(e.value) for e in getattr(at, kind)))


def store_files(store: RunStore) -> list:
    return sorted(p.relative_to(store.directory).as_posix() for p in store.directory.rglob("*")
                  if not p.name.startswith("runs.sqlite"))


def test_upload_preview_save_then_train_offers_it_then_rename_and_delete():
    store = RunStore()
    at = upload(datasets_page(), "holiday.zip",
                uploads.labelled_png_zip(30, top="holiday", names=("cats", "dogs"),
                                         extra={"holiday/notes.txt": b"x", "holiday/dogs/bad.png": b"no"}))
    metrics = {m.label: m.value for m in at.metric}
    assert metrics == {"Images": "30", "Shape": "16x16 gray", "Values": "0 to 255", "Labels": "2"}
    warnings = texts(at, "warning")
    assert "1 file was not images: holiday/notes.txt" in warnings
    assert "1 file was not readable images: holiday/dogs/bad.png" in warnings
    assert at.get("image")  # the grid of samples
    [name_box] = [t for t in at.text_input if t.label == "Name"]
    assert name_box.value == "holiday"
    name_box.set_value("Holiday pets")
    [save] = [b for b in at.button if b.label == "Save dataset"]
    save.click().run()
    assert not at.exception, at.exception
    assert "Saved Holiday pets: 30 images, 16x16 grayscale, 2 labels (cats, dogs)." in texts(at, "success")
    assert store.datasets.info("Holiday pets").n_samples == 30

    at.switch_page("pages/train.py").run()
    [dataset_box] = [s for s in at.selectbox if s.label == "Dataset"]
    assert "Holiday pets" in dataset_box.options[-1]
    dataset_box.set_value("Holiday pets").run()
    assert not at.exception, at.exception
    assert "30 images of 16x16, 2 classes" in " ".join(m.value for m in at.markdown)

    at.switch_page("pages/datasets.py").run()
    [rename_box] = [t for t in at.text_input if t.label == "New name"]
    rename_box.set_value("pets <script>")
    [rename] = [b for b in at.button if b.label == "Rename"]
    rename.click().run()
    assert "may hold letters" in texts(at, "error") and store.datasets.names().count("Holiday pets") == 1
    [rename_box] = [t for t in at.text_input if t.label == "New name"]
    rename_box.set_value("Pets")
    [rename] = [b for b in at.button if b.label == "Rename"]
    rename.click().run()
    assert "Pets" in store.datasets.names()
    assert [s for s in at.selectbox if s.label == "Dataset"][0].value == "Pets"  # the one on screen
    [delete] = [b for b in at.button if b.label == "Delete…"]
    delete.click().run()
    [yes] = [b for b in at.button if b.label == "Delete"]
    yes.click().run()
    assert not at.exception, at.exception
    assert "Pets" not in store.datasets.names()


@pytest.mark.parametrize("case, name, content, options, words",
                         uploads.bad_files(), ids=lambda v: v if isinstance(v, str) and
                         len(v) < 40 and " " in v else "")
def test_every_bad_file_through_the_upload_widget_gets_an_error_box_and_loses_nothing(case, name, content,
                                                                                       options, words):
    store = RunStore()
    before = store_files(store)
    at = datasets_page()
    if name.endswith(".tar"):  # the widget itself only takes the listed types
        assert at.get("file_uploader")[0].proto.type == [".zip", ".npz", ".csv", ".parquet"]
        return
    upload(at, name, content)
    label_boxes = [b for b in at.selectbox if b.label == "Label column"]
    if label_boxes:  # a table: the user's choice of label column (the page's guess may differ)
        label = options.get("label_column")
        label_boxes[0].select_index(0 if label is None else label_boxes[0].options.index(label)).run()
        assert not at.exception, at.exception
    errors = texts(at, "error")
    assert words in errors, errors
    assert not [b for b in at.button if b.label == "Save dataset"]
    assert store_files(store) == before


@pytest.mark.parametrize("algorithm", ["kmeans", "gmm"])
def test_a_table_run_shows_profiles_and_rows_instead_of_images(algorithm):
    from core.data.imports import read_upload
    from core.experiment import RunConfig
    from core.runs.runner import record_run

    store = RunStore()
    name = f"table for {algorithm}"
    store.datasets.add(read_upload(uploads.features_csv(40), "t.csv", label_column="label"), name)
    result = record_run(RunConfig(dataset=name, algorithm=algorithm, n_clusters=2, projection="pca"), store)
    for path in ("pages/explore.py", "pages/model.py", "pages/metrics.py"):
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90)
        at.query_params["run"] = str(result.run_id)
        at.run()
        at.switch_page(path).run()
        assert not at.exception, (path, at.exception)
        if path == "pages/explore.py":
            assert not at.get("html"), "a table has no image gallery"
            assert [s.value for s in at.subheader] == ["Rows"]
            rows = at.dataframe[0].value
            assert list(rows.columns) == ["row", "label", "a", "b", "c"] and len(rows) in (20, 19, 21)
    store.delete(result.run_id)
    remove_dataset(store, name)


# Longer than 60 characters cannot be typed (the box stops at 60); core refuses it (test_library.py).
@pytest.mark.parametrize("name, words", [("", "empty"), ("   ", "empty"), ("a/b", "'/'"),
                                         ("..", "'..'"), ("<b>x</b>", "'/'"), ("<script>", "not"),
                                         ("digits", "built-in")])
def test_a_bad_dataset_name_gets_an_error_box_and_nothing_is_saved(name, words):
    store = RunStore()
    before = store_files(store)
    at = upload(datasets_page(), "photos.zip", uploads.labelled_png_zip(12))
    [name_box] = [t for t in at.text_input if t.label == "Name"]
    name_box.set_value(name)
    [save] = [b for b in at.button if b.label == "Save dataset"]
    save.click().run()
    assert not at.exception, at.exception
    assert words in texts(at, "error"), texts(at, "error")
    assert store_files(store) == before
