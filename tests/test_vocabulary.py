"""Labels that tell the truth: only the settings a run used, one name per thing, one duration, the
silhouette's space, all from core.vocabulary."""
import re

import pytest

from core.experiment import RunConfig, run_experiment
from core.runs import RunStore
from core.runs.compare import hyperparameter_columns, runs_table, silhouette_spaces
from core.runs.report import html_report
from core.runs.runner import describe_point, record_run
from core.vocabulary import METRICS, cluster_name, format_seconds, run_settings, used_params

INTERNAL = ("latent_dim", "n_clusters", "project_umap", "project_pca", "minmax", "kmeans_backend", "k=")


def test_parameters_a_run_did_not_use_are_left_out():
    assert "latent_dim" not in used_params("agglomerative", {"space": "pixels", "latent_dim": 12})
    assert used_params("agglomerative", {"space": "autoencoder", "latent_dim": 12})["latent_dim"] == 12
    som_on_pixels = used_params("som", {"space": "pixels"})
    assert "epochs" not in som_on_pixels and "batch_size" in som_on_pixels  # the map itself trains in batches
    labels = [label for label, _ in run_settings(RunConfig(algorithm="gmm", params={"space": "pixels"}))]
    assert "Number of clusters" in labels and not any("Latent" in label or "Epochs" in label for label in labels)


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    store = RunStore(tmp_path_factory.mktemp("vocabulary-store"))
    record_run(RunConfig(dataset="digits", algorithm="kmeans", projection="pca"), store)
    record_run(RunConfig(dataset="digits", algorithm="agglomerative", params={"space": "pixels"}, projection="pca"),
               store)
    record_run(RunConfig(dataset="digits", algorithm="gmm", projection="pca",
                         params={"space": "autoencoder", "epochs": 2, "latent_dim": 6}), store)
    return store


def test_runs_table_leaves_unused_parameters_empty_and_does_not_call_them_varying(store):
    table = runs_table(store.list_runs())
    pixel_runs = table[table["algorithm"].isin(["k-means on pixels", "Agglomerative (hierarchical)"])]
    assert pixel_runs["p:latent_dim"].isna().all() and pixel_runs["p:epochs"].isna().all()
    assert "p:latent_dim" not in hyperparameter_columns(table)  # used by one run only: nothing varies
    assert "p:space" in hyperparameter_columns(table)  # pixels against autoencoder


def test_silhouettes_say_where_they_were_computed(store):
    table = runs_table(store.list_runs())
    assert silhouette_spaces(table) == ["autoencoder embedding (6-d)", "pixels (64-d)"]
    assert store.list_runs(algorithm="kmeans")[0].silhouette_space == "pixels (64-d)"


def test_a_runs_duration_is_one_number_everywhere(store, digits):
    record = store.list_runs(algorithm="kmeans")[0]
    result = store.load_result(record.id, digits)
    before = result.total_seconds
    assert before == pytest.approx(record.duration)
    result.projection("umap")  # a page asking for another projection later
    assert result.total_seconds == pytest.approx(before)
    assert format_seconds(72.06) == "1 min 12 s" and format_seconds(4.24) == "4.2 s"


def test_the_report_shows_only_used_settings_by_their_names(digits):
    result = run_experiment(RunConfig(dataset="digits", algorithm="kmeans", projection="pca"), dataset=digits)
    page = html_report(result).split("</head>", 1)[1]
    text = re.sub(r"<script.*?</script>", "", page, flags=re.S)
    for word in INTERNAL:
        assert word not in text, word
    assert "Number of clusters" in text and "Epochs" not in text and "Latent size" not in text
    assert "Silhouette computed in the space the clusters were made in: pixels (64-d)" in text
    assert "2-D projection (PCA)" in text


def test_names_read_the_same_everywhere(digits):
    result = run_experiment(RunConfig(dataset="digits", algorithm="kmeans", n_clusters=8, projection="pca"),
                            dataset=digits)
    assert result.summary().endswith(".") and "8 clusters" in result.summary() and "k=" not in result.summary()
    assert list(result.metrics.as_dict()) == list(METRICS)
    assert cluster_name(-1) == "noise" and cluster_name(3) == "cluster 3"
    point = describe_point(RunConfig(algorithm="ae_kmeans", n_clusters=8, params={"latent_dim": 5}),
                           ["latent_dim", "n_clusters"])
    assert point == "Latent size 5, Number of clusters 8"
