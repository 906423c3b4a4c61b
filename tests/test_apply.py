"""Applying a finished run to new images with its saved model (core/runs/apply.py)."""
import numpy as np
import pytest

from core.algorithms import ALGORITHMS
from core.experiment import RunConfig
from core.runs import RunStore
from core.runs.apply import CannotApply, apply_run
from core.runs.runner import record_run

FAST = {"epochs": 3, "latent_dim": 4, "batch_size": 64, "cluster_epochs": 2, "vade_epochs": 2, "som_epochs": 2,
        "grid_rows": 4, "grid_cols": 4}
SYNTHETIC = {"n_samples": 300, "n_clusters": 4}
PLACES = ["kmeans", "ae_kmeans", "ae_gmm", "dec", "idec", "dcec", "vade", "som", "gmm"]


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return RunStore(tmp_path_factory.mktemp("apply-store"))


def fast_run(store, algorithm, **extra):
    names = {p.name for p in ALGORITHMS[algorithm].params}
    params = {k: v for k, v in FAST.items() if k in names} | extra
    return record_run(RunConfig(dataset="synthetic", algorithm=algorithm, n_clusters=4, params=params,
                                projection="pca", dataset_options=SYNTHETIC), store)


@pytest.mark.parametrize("algorithm", PLACES)
def test_the_saved_model_puts_the_runs_own_images_where_the_run_did(store, algorithm):
    result = fast_run(store, algorithm)
    reopened = store.load_result(result.run_id)
    placement = apply_run(store, result.run_id, reopened.dataset.images, result=reopened)
    agreement = np.mean(placement.labels == reopened.labels)
    assert agreement >= 0.98, f"{algorithm}: {agreement:.3f}"
    assert placement.points["pca"].shape == (len(reopened.labels), 2)
    if placement.confidence is not None:
        assert np.all((placement.confidence > 0) & (placement.confidence <= 1 + 1e-9))


def test_new_images_land_beside_the_images_they_resemble(digits):
    """Digits the run never saw mostly land in a cluster whose majority class is their own (as its own
    images do: k-means' accuracy on digits is about 0.8)."""
    store = RunStore(__import__("tempfile").mkdtemp())
    seen = np.arange(0, digits.n_samples, 2)
    unseen = np.arange(1, digits.n_samples, 2)[:60]
    result = record_run(RunConfig(dataset="digits", algorithm="kmeans", n_clusters=10, projection="pca"), store,
                        dataset=digits.subset(seen))
    placement = apply_run(store, result.run_id, digits.images[unseen], result=result)
    majority = {c: np.bincount(result.dataset.labels[result.labels == c]).argmax() for c in np.unique(result.labels)}
    hits = np.mean([majority[c] == digits.labels[i] for c, i in zip(placement.labels, unseen)])
    assert hits >= 0.7, hits
    assert placement.points["pca"].shape == (60, 2)
    # placed beside their nearest neighbours: mostly of their own class too
    assert np.mean(result.dataset.labels[placement.neighbours] == digits.labels[unseen][:, None]) > 0.8


def test_methods_without_a_rule_for_new_images_and_other_shapes_say_so(store):
    result = fast_run(store, "agglomerative")
    with pytest.raises(CannotApply, match="cannot place new images: agglomerative"):
        apply_run(store, result.run_id, result.dataset.images[:3])
    kmeans = fast_run(store, "kmeans")
    with pytest.raises(CannotApply, match="are 8x8 grayscale but run .* was trained on 16x16 grayscale"):
        apply_run(store, kmeans.run_id, np.zeros((3, 8, 8, 1), np.float32))
    with pytest.raises(CannotApply, match="are 16x16 2-channel but run .* was trained on 16x16 grayscale"):
        apply_run(store, kmeans.run_id, np.zeros((3, 16, 16, 2), np.float32))  # not "grayscale ... grayscale"


def test_explore_places_uploaded_images_and_refuses_another_shape():
    from streamlit.testing.v1 import AppTest

    from tests import uploads
    from tests.conftest import ROOT

    store = RunStore()  # the app's store ($DEEP_CLUSTERING_HOME of the test session)
    result = record_run(RunConfig(dataset="digits", algorithm="kmeans", n_clusters=10, projection="pca"), store)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90)
    at.query_params["run"] = str(result.run_id)
    at.run()
    at.switch_page("pages/explore.py").run()
    [uploader] = at.get("file_uploader")
    uploader.upload("wrong.npz", uploads.npz_bytes(x=np.random.default_rng(0).random((3, 16, 16)))).run()
    [place] = [b for b in at.button if b.label == "Place 3 images"]
    place.click().run()
    assert not at.exception, at.exception
    assert "are 16x16 grayscale but run" in at.error[0].value and "8x8 grayscale" in at.error[0].value

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90)
    at.query_params["run"] = str(result.run_id)
    at.run()
    at.switch_page("pages/explore.py").run()
    five = uploads.zip_bytes({f"new_{i}.png": uploads.png_bytes(image)
                              for i, (_, image) in enumerate(uploads.digit_images(5, classes=(3,), size=8))})
    at.get("file_uploader")[0].upload("five.zip", five).run()
    [place] = [b for b in at.button if b.label == "Place 5 images"]
    place.click().run()
    assert not at.exception, at.exception
    assert "Placed 5 new images" in at.success[0].value
    table = [d.value for d in at.dataframe][-1]
    assert list(table["image"]) == [f"new_{i}.png" for i in range(5)]
    traces = __import__("json").loads(at.get("plotly_chart")[0].proto.spec)["data"]
    assert [[row[0] for row in t["customdata"]] for t in traces if t.get("name") == "new images"] == [
        [f"new_{i}.png" for i in range(5)]]  # the stars on the projection
    store.delete(result.run_id)
