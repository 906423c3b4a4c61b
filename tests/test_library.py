"""The dataset library in the run store: save, list, load, rename, remove; runs on a saved dataset; the CLI."""
import numpy as np
import pytest

from core.data import InvalidUpload
from core.data.imports import read_upload
from core.experiment import RunConfig
from core.runs import RunStore
from core.runs.runner import record_run
from core.runs.datasets import DatasetInUse, remove_dataset, rename_dataset
from tests import uploads
from tests.test_cli import cli


@pytest.fixture
def store(tmp_path, monkeypatch):
    monkeypatch.setenv("DEEP_CLUSTERING_HOME", str(tmp_path / "store"))
    return RunStore(tmp_path / "store")


def photos():
    return read_upload(uploads.labelled_png_zip(40, top="holiday", names=("cats", "dogs")), "holiday.zip")


def test_save_list_and_load_keep_images_labels_and_file_names(store):
    info = store.datasets.add(photos(), "Holiday photos")
    assert info.summary == "40 images, 16x16 grayscale, 2 labels (cats, dogs)"
    folder = store.directory / "datasets" / "Holiday photos"
    assert sorted(p.name for p in folder.iterdir()) == ["data.npz", "dataset.json", "thumbnail.png"]
    assert [i.name for i in RunStore(store.directory).datasets.list()] == ["Holiday photos"]  # after a restart
    data = store.datasets.load("holiday PHOTOS")  # names compare without case
    assert data.images.shape == (40, 16, 16, 1) and data.images.max() <= 1.0
    assert data.class_names == ["cats", "dogs"] and data.n_classes == 2
    assert data.file_names[20] == "holiday/dogs/img_001.png"
    assert data.subset(np.array([20])).file_name(0) == "holiday/dogs/img_001.png"


@pytest.mark.parametrize("name, words", [
    ("", "empty"), ("   ", "empty"), ("x" * 61, "at most 60"), ("a/b", "'/'"), ("..", "'..'"),
    ("../up", "'..'"), ("<b>bold</b>", "not"), ("digits", "built-in"), ("nul", "every system"),
])
def test_bad_dataset_names_are_refused_and_nothing_is_written(store, name, words):
    with pytest.raises(InvalidUpload, match=words):
        store.datasets.add(photos(), name)
    assert store.datasets.names() == []
    assert not (store.directory / "datasets").exists() or not any((store.directory / "datasets").iterdir())


def test_a_run_on_a_saved_dataset_reopens_with_its_images_and_blocks_removal(store):
    store.datasets.add(photos(), "pets")
    result = record_run(RunConfig(dataset="pets", algorithm="kmeans", n_clusters=2, projection="pca"), store)
    assert result.metrics.nmi > 0.5  # cats are zeros and dogs ones: real digits, easy to tell apart
    reopened = RunStore(store.directory).load_result(result.run_id)
    assert reopened.dataset.file_names[0] == "holiday/cats/img_000.png"
    assert np.array_equal(reopened.dataset.images, result.dataset.images)

    with pytest.raises(DatasetInUse, match=rf"used by 1 run: {result.run_id} \("):
        remove_dataset(store, "pets")
    assert store.datasets.names() == ["pets"] and store.load_result(result.run_id)

    import io
    import zipfile

    from core.runs.export import cluster_folders_zip, labels_csv

    with zipfile.ZipFile(io.BytesIO(cluster_folders_zip(reopened))) as archive:
        names = archive.namelist()
    assert len(names) == 40 and {n.split("/")[0] for n in names} == {"cluster 0", "cluster 1"}
    assert "img_000.png" in {n.split("/")[1] for n in names}  # each image under its own file name
    assert labels_csv(reopened).decode().splitlines()[1].startswith("0,holiday/cats/img_000.png,")

    assert rename_dataset(store, "pets", "my pets") == "my pets"
    assert store.get(result.run_id).config.dataset == "my pets"
    assert store.load_result(result.run_id).dataset.n_samples == 40
    store.delete(result.run_id)
    remove_dataset(store, "my pets")
    assert store.datasets.names() == []


def test_a_taken_name_and_a_bad_rename_leave_everything_as_it_was(store):
    store.datasets.add(photos(), "pets")
    store.datasets.add(read_upload(uploads.digits_npz(30), "d.npz"), "numbers")
    with pytest.raises(InvalidUpload, match="already saved"):
        store.datasets.add(photos(), "PETS")
    with pytest.raises(InvalidUpload, match="already saved"):
        rename_dataset(store, "pets", "numbers")
    with pytest.raises(InvalidUpload, match="'/'"):
        rename_dataset(store, "pets", "a/b")
    assert store.datasets.names() == ["numbers", "pets"]
    assert store.datasets.load("pets").n_samples == 40


def test_every_bad_file_leaves_earlier_runs_and_datasets_as_they_were(store):
    store.datasets.add(photos(), "pets")
    run = record_run(RunConfig(dataset="pets", algorithm="kmeans", n_clusters=2, projection=None), store)
    before = sorted(p.relative_to(store.directory).as_posix() for p in store.directory.rglob("*")
                    if "runs.sqlite" not in p.name)
    for case, name, content, options, words in uploads.bad_files():
        with pytest.raises(InvalidUpload, match=words):
            store.datasets.add(read_upload(content, name, **options), "new one")
    after = sorted(p.relative_to(store.directory).as_posix() for p in store.directory.rglob("*")
                   if "runs.sqlite" not in p.name)
    assert after == before
    assert store.load_result(run.run_id).dataset.n_samples == 40


def test_a_table_trains_like_images(store):
    store.datasets.add(read_upload(uploads.features_csv(40), "t.csv", label_column="label"), "table")
    data = store.datasets.load("table")
    assert data.is_table and data.features.shape == (40, 3) and data.images.shape == (40, 1, 3, 1)
    result = record_run(RunConfig(dataset="table", algorithm="kmeans", n_clusters=2, projection="pca"), store)
    assert result.metrics.accuracy > 0.9


def test_command_line_datasets_add_list_train_and_remove(tmp_path):
    store_dir = tmp_path / "store"
    archive = tmp_path / "holiday.zip"
    archive.write_bytes(uploads.labelled_png_zip(30, extra={"my_photos/notes.txt": b"x"}))
    added = cli(store_dir, "datasets", "add", str(archive), "--name", "holiday")
    assert "saved holiday: 30 images, 16x16 grayscale, 2 labels (one, zero)" in added.stdout
    assert "note: 1 file was not images: my_photos/notes.txt." in added.stdout
    assert "holiday" in cli(store_dir, "datasets", "list").stdout
    trained = cli(store_dir, "train", "--dataset", "holiday", "--algorithm", "kmeans", "--n-clusters", "2",
                  "--projection", "pca", "--quiet")
    assert "run 1 finished" in trained.stdout
    refused = cli(store_dir, "datasets", "remove", "holiday", check=False)
    assert refused.returncode == 2 and refused.stderr.startswith("error: The dataset 'holiday' is used by 1 run")
    assert "Traceback" not in refused.stderr and len(refused.stderr.strip().splitlines()) == 1

    for args, words in [
        (("datasets", "add", str(tmp_path / "missing.zip")), "no such file"),
        (("datasets", "add", str(archive), "--name", "../x"), "'..'"),
        (("datasets", "add", str(archive), "--name", "holiday"), "already saved"),
        (("datasets", "add", str(archive), "--size", "big"), "--size must look like"),
        (("train", "--dataset", "nothing-here", "--quiet"), "unknown dataset 'nothing-here'"),
    ]:
        done = cli(store_dir, *args, check=False)
        assert done.returncode == 2 and words in done.stderr, done.stderr
        assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1
    bad = tmp_path / "objects.npz"
    bad.write_bytes(uploads.object_npz_bytes())
    done = cli(store_dir, "datasets", "add", str(bad), check=False)
    assert done.returncode == 2 and "Python objects" in done.stderr
