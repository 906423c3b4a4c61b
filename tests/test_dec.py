"""DEC and IDEC mechanics on small real data (not yet offered in the app: their defaults are still
being tuned for issue 4, see the README)."""
import numpy as np
import pytest

from core.algorithms.dec import DEC, IDEC

SMALL = dict(epochs=4, latent_dim=4, hidden_units=(32, 16), batch_size=64, cluster_epochs=5, random_state=0)


@pytest.mark.parametrize("cls", [DEC, IDEC])
def test_dec_family_shapes_probabilities_determinism(cls, synthetic):
    X = synthetic.images
    first = cls(4, **SMALL).fit(X)
    assert first.labels_.shape == (len(X),) and set(np.unique(first.labels_)) <= set(range(4))
    np.testing.assert_allclose(first.probabilities_.sum(axis=1), 1.0, atol=1e-5)
    np.testing.assert_array_equal(first.probabilities_.argmax(axis=1), first.labels_)
    assert first.cluster_centers_.shape == (4, 4)
    assert first.initial_labels_.shape == (len(X),)
    assert all(0.0 <= c <= 1.0 for c in first.label_changes_)
    assert [h["phase"] for h in first.history_].count("cluster") == len(first.label_changes_)
    np.testing.assert_array_equal(first.predict(X), first.labels_)
    second = cls(4, **SMALL).fit(X)
    np.testing.assert_array_equal(first.labels_, second.labels_)


def test_dec_stops_when_labels_settle(synthetic):
    model = DEC(4, **(SMALL | {"cluster_epochs": 50, "tol": 0.5})).fit(synthetic.images)
    assert len(model.label_changes_) == 1 and model.label_changes_[0] < 0.5  # stopped at the first refresh


def test_update_interval_must_be_positive(synthetic):
    with pytest.raises(ValueError, match="update_interval must be None or an integer >= 1"):
        DEC(4, **(SMALL | {"update_interval": 0})).fit(synthetic.images)
