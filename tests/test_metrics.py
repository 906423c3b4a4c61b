import numpy as np
import pytest

from core import metrics


@pytest.fixture
def truth():
    return np.random.default_rng(0).integers(0, 5, size=400)


def test_accuracy_is_one_for_any_relabelling_of_the_truth(truth):
    for seed in range(5):
        permutation = np.random.default_rng(seed).permutation(5) + 10  # arbitrary cluster ids
        assert metrics.clustering_accuracy(truth, permutation[truth]) == pytest.approx(1.0)


def test_accuracy_hand_made_case():
    truth = [0, 0, 0, 1, 1, 1, 2, 2, 2]
    pred = [1, 1, 0, 0, 0, 0, 2, 2, 2]  # cluster 1->class 0 (2 right), 0->1 (3 right), 2->2 (3 right)
    assert metrics.clustering_accuracy(truth, pred) == pytest.approx(8 / 9)
    assert metrics.purity(truth, pred) == pytest.approx(8 / 9)
    assert metrics.match_labels(truth, pred) == {0: 1, 1: 0, 2: 2}


def test_purity_rewards_more_clusters_but_accuracy_does_not(truth):
    singletons = np.arange(len(truth))
    assert metrics.purity(truth, singletons) == pytest.approx(1.0)
    assert metrics.clustering_accuracy(truth, singletons) < 0.05


def test_nmi_and_ari_hand_made_case():
    truth = [0, 0, 0, 1, 1, 1]
    pred = [0, 0, 1, 1, 2, 2]  # contingency [[2, 1, 0], [0, 1, 2]]
    # MI = (2/3) ln 2, H(truth) = ln 2, H(pred) = ln 3; NMI (arithmetic mean) = MI / ((ln 2 + ln 3) / 2)
    assert metrics.nmi(truth, pred) == pytest.approx(4 * np.log(2) / (3 * np.log(6)))
    # pairs together in both: 2; expected 6 * 3 / 15 = 1.2; mean of the marginals (6 + 3) / 2 = 4.5
    assert metrics.ari(truth, pred) == pytest.approx((2 - 1.2) / (4.5 - 1.2))
    assert metrics.nmi(truth, truth) == pytest.approx(1.0) and metrics.ari(truth, [5, 5, 5, 7, 7, 7]) == 1.0
    assert metrics.ari([0, 0, 1, 1], [0, 0, 0, 1]) == pytest.approx(0.0)  # no better than chance


def test_length_mismatch_is_a_clear_error(truth):
    for score in (metrics.clustering_accuracy, metrics.nmi, metrics.ari, metrics.purity):
        with pytest.raises(ValueError, match="differ in length"):
            score(truth, truth[:-1])
    with pytest.raises(ValueError, match="differ in length"):
        metrics.silhouette(np.zeros((10, 2)), np.zeros(9))


def test_single_cluster(truth):
    single = np.zeros_like(truth)
    assert metrics.nmi(truth, single) == pytest.approx(0.0)
    assert metrics.ari(truth, single) == pytest.approx(0.0)
    assert metrics.clustering_accuracy(truth, single) == pytest.approx(np.bincount(truth).max() / len(truth))
    sil = metrics.silhouette(np.random.default_rng(0).normal(size=(len(truth), 3)), single)
    assert sil.score is None and "two clusters" in sil.reason


def test_silhouette_samples_large_data_and_says_so():
    rng = np.random.default_rng(0)
    X = np.concatenate([rng.normal(0, 1, (3000, 2)), rng.normal(8, 1, (3000, 2))])
    labels = np.repeat([0, 1], 3000)
    sil = metrics.silhouette(X, labels, max_samples=1000)
    assert sil.sampled and sil.n_samples == 1000 and sil.n_total == 6000
    assert sil.score > 0.7  # two well separated blobs


def test_evaluate_without_labels_reports_silhouette_only_and_why():
    X = np.random.default_rng(0).normal(size=(50, 4))
    report = metrics.evaluate(np.arange(50) % 3, X)
    assert report.accuracy is None and report.nmi is None
    assert report.silhouette.score is not None
    assert "no true labels" in report.note


def test_contingency_in_matched_order_puts_agreement_on_the_diagonal():
    truth = np.repeat([0, 1, 2], 10)
    pred = np.repeat([7, 3, 5], 10)  # class 0 -> cluster 7, 1 -> 3, 2 -> 5
    counts, clusters, classes = metrics.contingency_in_matched_order(truth, pred)
    assert clusters.tolist() == [7, 3, 5] and classes.tolist() == [0, 1, 2]
    np.testing.assert_array_equal(counts, np.diag([10, 10, 10]))
