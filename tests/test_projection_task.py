"""A projection asked for after a run finished is computed by the training process and kept with the run."""
import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from core.experiment import RunConfig
from core.runs import RunStore
from core.runs.projections import ProjectionTask, computes_inline
from core.runs.runner import record_run
from tests.conftest import ROOT


def test_the_task_projects_a_saved_run_and_keeps_the_points(tmp_path):
    store = RunStore(tmp_path)
    result = record_run(RunConfig(dataset="digits", algorithm="kmeans", n_clusters=10, n_samples=300,
                                  projection=None), store)
    events = []
    points = ProjectionTask("pca", run_id=result.run_id).run(store, events.append)
    assert points.shape == (300, 2) and np.all(np.isfinite(points))
    assert [e.fraction for e in events] == [0.0, 1.0] and "300 points with PCA" in events[0].message
    again = store.load_result(result.run_id)
    np.testing.assert_allclose(again.projections["pca"], points)
    np.testing.assert_array_equal(again.labels, result.labels)  # the rest of the saved arrays is untouched
    assert not list(store.run_dir(result.run_id).glob("*.partial"))


def test_the_task_refuses_an_unknown_method_and_a_run_without_files(tmp_path):
    store = RunStore(tmp_path)
    result = record_run(RunConfig(dataset="digits", algorithm="kmeans", n_clusters=10, n_samples=300,
                                  projection=None), store)
    with pytest.raises(ValueError, match="unknown projection 'tsne'"):
        ProjectionTask("tsne", run_id=result.run_id).run(store)
    (store.run_dir(result.run_id) / "arrays.npz").unlink()
    with pytest.raises(ValueError, match="arrays.npz is missing"):
        ProjectionTask("pca", run_id=result.run_id).run(store)


def test_a_small_pca_is_computed_on_the_spot_and_umap_never():
    assert computes_inline("pca", np.zeros((1797, 64)))
    assert not computes_inline("pca", np.zeros((50_000, 1280)))
    assert not computes_inline("umap", np.zeros((10, 2)))


def test_explore_sends_a_missing_umap_to_the_training_process_and_shows_it_when_done():
    store = RunStore()  # the app's store ($DEEP_CLUSTERING_HOME of the test session)
    result = record_run(RunConfig(dataset="digits", algorithm="kmeans", n_clusters=10, n_samples=400,
                                  projection="pca"), store)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90)
    at.query_params["run"] = str(result.run_id)
    at.run()
    at.switch_page("pages/explore.py").run()
    assert not at.exception, at.exception
    assert at.radio(key="explore_projection").value == "pca"  # the run opens on the projection it has
    at.radio(key="explore_projection").set_value("umap").run()
    assert not at.exception, at.exception
    assert "computing it now" in " ".join(i.value for i in at.info)
    _, job = at.session_state["explore_projection_job"]
    assert job.config.run_id == result.run_id  # the server sent the work away
    assert job.wait(180) and job.status == "finished", job.error
    at.run()  # in the app a fragment polls the job; fragments do not run in AppTest
    assert not at.exception, at.exception
    spec = __import__("json").loads(at.get("plotly_chart")[0].proto.spec)
    assert spec["layout"]["title"]["text"].startswith("UMAP of the pixels")
    kept = store.load_result(result.run_id).projections
    assert set(kept) == {"pca", "umap"} and kept["umap"].shape == (400, 2)
    store.delete(result.run_id)
