"""scikit-learn's own estimator checks (sklearn.utils.estimator_checks).

Every classical estimator runs all of them, none skipped: each in a process of its own with SCIPY_ARRAY_API=1
(it must be set before scipy is imported), so that the array-API check runs too. The deep ones run a subset
here with tiny networks; bench/estimator_checks.py runs them all.
"""
import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
from sklearn.utils import estimator_checks as checks

from core.algorithms import ALGORITHMS

ROOT = Path(__file__).resolve().parents[1]
CLASSICAL = [name for name, spec in ALGORITHMS.items() if not spec.deep]
RUN_CHECKS = """
import json, sys, warnings
warnings.filterwarnings("ignore")
from sklearn.utils.estimator_checks import check_estimator
from core.algorithms import ALGORITHMS
results = check_estimator(ALGORITHMS[sys.argv[1]].estimator(), on_fail=None, on_skip=None)
print(json.dumps([[r["check_name"], r["status"], str(r["exception"] or "")[:300]] for r in results]))
"""
# The checks of the interface a deep estimator shares with the classical ones (parameters, input validation,
# fitted state), run one by one: the whole set fits the network hundreds of times.
DEEP_SUBSET = (checks.check_no_attributes_set_in_init, checks.check_parameters_default_constructible,
               checks.check_get_params_invariance, checks.check_set_params, checks.check_dont_overwrite_parameters,
               checks.check_n_features_in_after_fitting, checks.check_estimators_nan_inf,
               checks.check_dtype_object, checks.check_complex_data,
               checks.check_estimator_sparse_array, checks.check_fit2d_1sample, checks.check_fit2d_predict1d,
               checks.check_fit_check_is_fitted, checks.check_clustering, checks.check_estimators_pickle)
TINY = {"latent_dim": 1, "hidden_units": (8,), "epochs": 1, "cluster_epochs": 1, "n_clusters": 2}


@pytest.mark.parametrize("name", CLASSICAL)
def test_a_classical_estimator_passes_every_check(name):
    done = subprocess.run([sys.executable, "-c", RUN_CHECKS, name], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "SCIPY_ARRAY_API": "1", "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads(done.stdout.strip().splitlines()[-1])
    assert len(results) >= 45
    assert [r for r in results if r[1] != "passed"] == []


@pytest.mark.parametrize("name", ["ae_kmeans", "dec"])
@pytest.mark.parametrize("check", DEEP_SUBSET, ids=lambda check: check.__name__)
def test_a_deep_estimator_passes_the_checks_of_its_interface(name, check):
    spec = ALGORITHMS[name]
    estimator = spec.estimator(**{k: v for k, v in TINY.items() if k in spec.estimator().get_params()})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check(type(estimator).__name__, estimator)
