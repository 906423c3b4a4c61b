"""Adding a clustering method is its own module and one line of the registry (docs/adding-a-method.md).

A small real method, mini-batch k-means on the pixels, is written here as a method's module would be, and
registered with one line; it then appears in the Train form, trains from the command line, saves and loads
itself, places new images, and shows on Compare, with no other file touched.
"""
import numpy as np
import pytest
from sklearn.cluster import MiniBatchKMeans
from streamlit.testing.v1 import AppTest

from core.algorithms import ALGORITHMS, AlgorithmSpec
from core.algorithms.assignment import nearest_row
from core.algorithms.base import ClusteringAlgorithm
from core.params import Interval, Param
from core.runs import RunStore
from tests.conftest import ROOT
from tests.test_save_load import assert_round_trip


# -- the method's module ----------------------------------------------------------------------------------
class MiniBatchKMeansOnPixels(ClusteringAlgorithm):
    """k-means on the raw pixels, fitted on mini-batches: about k-means' clusters in a fraction of its time
    on large data.

    Parameters
    ----------
    n_clusters : int, default=10
    batch_size : int, default=1024
        Images per update.
    random_state : int, default=0
    """

    name, title = "minibatch_kmeans", "Mini-batch k-means on pixels"
    description = "k-means on the raw pixels, fitted on mini-batches: fast on large data, a little less exact."
    parameters = (
        Param("n_clusters", Interval(int, 1, None)),
        Param("batch_size", Interval(int, 1, None), "Images per update", low=64, high=4096, step=64,
              help="Images each update of the centres sees; larger is closer to k-means, and slower."),
        Param("random_state", Interval(int, 0, None)),
    )
    can_predict = True
    predict_rule = "each image joins its nearest cluster centre"

    def __init__(self, n_clusters: int = 10, *, batch_size: int = 1024, random_state: int = 0):
        self.n_clusters = n_clusters
        self.batch_size = batch_size
        self.random_state = random_state

    _cluster_title = "mini-batch k-means"  # what the progress line says it clusters with

    def _cluster_embedding(self, embedding):  # the points of its space (the pixels, by default)
        fitted = MiniBatchKMeans(self.n_clusters, batch_size=self.batch_size, n_init=3,
                                 random_state=self.random_state).fit(embedding)
        self.cluster_centers_ = fitted.cluster_centers_
        return nearest_row(embedding, self.cluster_centers_)

    def _predict_embedding(self, embedding):  # new samples' points, in the same space
        return nearest_row(embedding, self.cluster_centers_)


# -- the test ---------------------------------------------------------------------------------------------
@pytest.fixture
def registered(monkeypatch):
    monkeypatch.setitem(ALGORITHMS, "minibatch_kmeans", AlgorithmSpec.of(MiniBatchKMeansOnPixels))  # the one line


def test_a_new_method_is_offered_trained_saved_placed_and_compared(registered, digits, tmp_path, capsys):
    from core.cli import main
    from core.runs.apply import apply_run

    train = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    train.run()
    train.selectbox(key="train_algorithm").set_value("minibatch_kmeans").run()
    assert not train.exception, train.exception
    assert "Images per update" in [slider.label for slider in train.slider]
    assert "Mini-batch k-means on pixels" in train.selectbox(key="train_algorithm").format_func("minibatch_kmeans")

    code = main(["train", "--dataset", "digits", "--algorithm", "minibatch_kmeans", "--set", "batch_size=256",
                 "--projection", "pca", "--name", "mini-batch from the command line"])
    assert code == 0 and "finished" in capsys.readouterr().out
    store = RunStore()  # $DEEP_CLUSTERING_HOME, set for the whole test session in conftest
    record = next(r for r in store.list_runs() if r.name == "mini-batch from the command line")
    result = store.load_result(record.id)
    assert result.metrics.nmi > 0.6 and result.silhouette_space == "pixels (64-d)"

    placement = apply_run(store, record.id, digits.images[:50], result=result)
    assert np.mean(placement.labels == result.labels[:50]) == 1.0

    fitted = MiniBatchKMeansOnPixels(10).fit(digits.images)
    assert_round_trip(fitted, digits.images, tmp_path)

    compare = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    compare.run()
    compare.switch_page("pages/compare.py").run()
    compare.selectbox(key="compare_dataset").set_value("digits").run()
    runs = compare.multiselect(key="compare_runs_digits_None")
    runs.set_value([record.id]).run()
    assert not compare.exception, compare.exception
    shown = " ".join(str(frame.value.to_dict()) for frame in compare.dataframe)
    assert "Mini-batch k-means on pixels" in shown, shown[:500]
