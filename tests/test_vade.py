"""VaDE mechanics on small synthetic data (tiny networks, a few epochs)."""
import numpy as np
import pytest

from core.algorithms.vade import VaDE
from core.progress import TrainingCancelled

SMALL = dict(epochs=3, latent_dim=4, hidden_units=(32, 16), batch_size=64, vade_epochs=2, n_generated=3,
             random_state=0)


@pytest.fixture(scope="module")
def fitted(synthetic):
    return VaDE(4, **SMALL).fit(synthetic.images)


def test_shapes_probabilities_and_prior(fitted, synthetic):
    n = len(synthetic.images)
    assert fitted.labels_.shape == (n,) and set(np.unique(fitted.labels_)) <= set(range(4))
    assert fitted.embedding_.shape == (n, 4)
    assert fitted.probabilities_.shape == (n, 4)
    np.testing.assert_allclose(fitted.probabilities_.sum(axis=1), 1.0, atol=1e-6)
    np.testing.assert_array_equal(fitted.probabilities_.argmax(axis=1), fitted.labels_)
    assert fitted.weights_.shape == (4,) and np.isclose(fitted.weights_.sum(), 1.0)
    assert fitted.means_.shape == (4, 4) and fitted.variances_.shape == (4, 4)
    assert np.all(fitted.variances_ > 0)
    assert fitted.initial_labels_.shape == (n,)
    phases = [h["phase"] for h in fitted.history_]
    assert phases.count("pretrain") == 3 and phases.count("vade") == 2
    assert all(np.isfinite(h["loss"]) for h in fitted.history_)
    assert set(fitted.timings_) == {"pretrain", "init", "cluster"}


def test_predict_equals_labels(fitted, synthetic):
    np.testing.assert_array_equal(fitted.predict(synthetic.images), fitted.labels_)
    np.testing.assert_allclose(fitted.transform(synthetic.images), fitted.embedding_, atol=1e-6)


def test_generated_images(fitted, synthetic):
    assert fitted.generated_.shape == (4, 3) + synthetic.images.shape[1:]
    assert fitted.generated_.dtype == np.float32
    assert fitted.generated_.min() >= 0.0 and fitted.generated_.max() <= 1.0
    view = fitted.view_data()
    assert view["generated"] is fitted.generated_ and view["confidence"].shape == (len(synthetic.images),)


def test_seeded_runs_repeat(fitted, synthetic):
    again = VaDE(4, **SMALL).fit(synthetic.images)
    np.testing.assert_array_equal(again.labels_, fitted.labels_)
    np.testing.assert_array_equal(again.probabilities_, fitted.probabilities_)
    np.testing.assert_array_equal(again.generated_, fitted.generated_)


def test_standardised_inputs(synthetic):
    X = synthetic.images
    X = (X - X.mean()) / X.std()
    model = VaDE(4, **(SMALL | {"vade_epochs": 1})).fit(X)
    assert model.generated_.min() >= 0.0 and model.generated_.max() <= 1.0
    np.testing.assert_array_equal(model.predict(X), model.labels_)


def test_progress_reports_and_cancel(synthetic):
    events = []
    VaDE(4, **SMALL).fit(synthetic.images, callback=events.append)
    cluster = [e for e in events if e.phase == "cluster"]
    assert cluster and sum(e.end_of_epoch for e in cluster) == 2 and cluster[-1].fraction == 1.0

    def cancel(event):
        if event.phase == "cluster":
            raise TrainingCancelled()

    with pytest.raises(TrainingCancelled):
        VaDE(4, **SMALL).fit(synthetic.images, callback=cancel)


@pytest.mark.parametrize("name, value, message", [
    ("beta", 0.0, '"beta" must be a number > 0'),
    ("vade_learning_rate", 2.0, '"vade_learning_rate" must be a number > 0 and <= 1'),
    ("n_generated", -1, '"n_generated" must be an integer >= 0'),
])
def test_invalid_parameters(synthetic, name, value, message):
    with pytest.raises(ValueError, match=message):
        VaDE(4, **(SMALL | {name: value})).fit(synthetic.images)
