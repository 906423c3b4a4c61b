"""Every algorithm's own view (the Model page) and the "How many clusters?" page, with AppTest.

Results are trained for real with tiny settings and handed to the app's session, as a finished
training job would."""
import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from core.algorithms import ALGORITHMS
from core.experiment import RunConfig, run_experiment
from core.viz.figures import is_certain
from tests.conftest import ROOT
from tests.apptest import run_scan

TINY = {"epochs": 3, "latent_dim": 4, "cluster_epochs": 2, "vade_epochs": 2, "som_epochs": 2}
SYNTHETIC = {"n_samples": 240, "n_clusters": 4, "image_size": 12, "seed": 3}


def tiny_result(algorithm: str, **extra):
    spec = ALGORITHMS[algorithm]
    names = {p.name for p in spec.params}
    params = {k: v for k, v in TINY.items() if k in names} | extra
    return run_experiment(RunConfig(dataset="synthetic", algorithm=algorithm, n_clusters=4, params=params,
                                    dataset_options=SYNTHETIC, projection=None))


def app_with(result, page: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    at.session_state["result"] = result
    at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


def shown_text(at: AppTest) -> str:
    return " ".join(str(e.value) for kind in ("markdown", "caption", "info", "subheader") for e in at.get(kind))


EXPECTED_SECTIONS = {
    "kmeans": ["What each cluster looks like"],
    "ae_kmeans": ["What each cluster looks like"],
    "ae_gmm": ["What each cluster looks like", "Confidence per image"],
    "dec": ["How the clustering phase moved the labels", "Confidence per image"],
    "idec": ["How the clustering phase moved the labels", "Confidence per image"],
    "dcec": ["How the clustering phase moved the labels", "Confidence per image"],
    "vade": ["Images generated from each cluster", "Confidence per image"],
    "som": ["self-organizing map"],
    "n2d": ["Confidence per image"],
    "agglomerative": ["Dendrogram"],
    "dbscan": ["Density: the k-distance curve"],
    "hdbscan": ["Confidence per image"],
    "gmm": ["Confidence per image"],
    "umap_gmm": ["Confidence per image"],
    "spectral": ["has no model to look inside"],
}


@pytest.mark.parametrize("algorithm", list(ALGORITHMS))
def test_model_page_shows_each_algorithms_view(algorithm):
    result = tiny_result(algorithm)
    at = app_with(result, "pages/model.py")
    text = shown_text(at)
    assert result.algorithm_title in text
    for section in EXPECTED_SECTIONS[algorithm]:
        assert section in text, f"{algorithm}: no {section!r} on the Model page"
    if "Confidence per image" in EXPECTED_SECTIONS[algorithm]:
        if is_certain(result.view_data["confidence"]):  # e.g. N2D on easy shapes: nothing to list, and it says so
            assert "The model is certain about every image" in shown_text(at)
            assert not [w for w in at.selectbox if w.key == "model_cluster"]
            return
        at.selectbox(key="model_cluster").set_value(int(np.unique(result.labels)[-1])).run()
        assert not at.exception, at.exception
        assert [h for h in at.get("html") if "dc-gallery" in h.proto.body] or \
            "certain about every member" in shown_text(at), "no doubtful-members gallery"


def test_explore_names_the_noise_group():
    result = tiny_result("dbscan", eps=0.5)  # a small radius leaves noise
    assert np.any(result.labels == -1)
    at = app_with(result, "pages/explore.py")
    assert "noise" in " ".join(str(o) for o in at.selectbox(key="explore_cluster").options)


def test_how_many_clusters_sweeps_suggests_and_hands_the_count_to_train():
    result = run_experiment(RunConfig(dataset="digits", algorithm="kmeans", n_clusters=4, projection=None))
    at = app_with(result, "pages/clusters.py")
    assert "Run the sweep" in [b.label for b in at.button]
    at.slider(key="sweep_range").set_value((2, 12))
    job = run_scan(at)  # in the training process, not in this page's server
    assert job.config.embedding is not None  # a result never saved sends its embedding along
    shown = {m.label: m.value for m in at.metric}
    suggested = int(shown["Highest silhouette"])  # no UMAP picture (projection=None): the suggestion follows it
    assert 2 <= suggested <= 12 and int(shown["Current run"]) == 4
    assert at.get("plotly_chart")
    take = at.button(key="sweep_take")
    assert take.label == f"Take {suggested} clusters and go to Train"
    take.click().run()
    assert not at.exception, at.exception
    assert at.slider(key="train_n_clusters_digits_10").value == suggested


def test_how_many_clusters_warns_when_a_criterion_peaks_at_the_edge_of_the_range():
    result = run_experiment(RunConfig(dataset="digits", algorithm="kmeans", n_clusters=4, projection=None))
    at = app_with(result, "pages/clusters.py")
    at.slider(key="sweep_range").set_value((2, 4))  # ten digits: the mixture's BIC keeps falling past 4
    sweep = run_scan(at).result
    assert sweep.edge_notes and [w.value for w in at.warning] == sweep.edge_notes
    assert any("the largest count tried: try a wider range." in note for note in sweep.edge_notes)
    assert sweep.agreement in at.success[0].value


def test_density_methods_hide_the_cluster_count_and_take_an_empty_eps():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    at.selectbox(key="train_algorithm").set_value("dbscan").run()
    assert not at.exception, at.exception
    assert not [s for s in at.slider if s.key and s.key.startswith("train_n_clusters")]
    assert at.number_input(key="train_dbscan_eps").value is None  # empty: the suggestion is used
    assert "found by the algorithm" in shown_text(at)


def test_metrics_page_warns_when_clusters_asked_for_stay_empty():
    """A deep clustering that collapsed (as DEC can after too short a pretraining) gets a warning."""
    from dataclasses import replace

    result = tiny_result("ae_kmeans")
    healthy = app_with(result, "pages/metrics.py")
    assert not [w for w in healthy.warning if "clusters asked for" in w.value]
    result.labels = np.where(result.labels == 3, 0, result.labels)  # as if cluster 3 emptied during training
    collapsed = replace(result, metrics=replace(result.metrics, n_clusters_found=3))
    at = app_with(collapsed, "pages/metrics.py")
    assert any("Only 3 of the 4 clusters asked for" in w.value and "more epochs" in w.value for w in at.warning)
