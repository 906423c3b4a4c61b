"""Shared fixtures: small real datasets, loaded once per test session."""
import os
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# Tests (and the app servers they start) never touch the user's own run store.
os.environ["DEEP_CLUSTERING_HOME"] = tempfile.mkdtemp(prefix="test-run-store-")
# The pretrained image network runs with random weights in tests: the same code, no download.
os.environ["DEEP_CLUSTERING_IMAGENET_WEIGHTS"] = "random"
# The app's training processes yield the CPU to its server; here they share 2 cores with the suite's own
# processes, and a test waiting on one must not see it starved.
os.environ["DEEP_CLUSTERING_WORKER_NICENESS"] = "0"
# The tests' tiny networks train for a few epochs, too few for XLA's compilation to pay back: it doubled the
# deep methods' progress tests (92 s -> 44 s without). The app compiles dense steps with XLA; the tests that
# opt back in (test_algorithms.py: test_xla_*) train that way and check it learns as the plain step does.
os.environ.setdefault("DEEP_CLUSTERING_XLA", "0")

import core  # noqa: E402,F401  (quiets TensorFlow for every test)

ARTIFACTS = ROOT / "tests" / "artifacts"


@pytest.fixture(scope="session")
def digits():
    from core.data import load_dataset

    return load_dataset("digits")


@pytest.fixture(scope="session")
def digits_network(digits):
    """The dense autoencoder that autoencoder + k-means pretrains on digits (30 epochs, fewer than the default
    75: the benchmarks measure the defaults), trained once per test process for the tests that check what a
    clustering on it reaches. Each fit given it copies its weights and leaves it as it is."""
    from core.algorithms.autoencoder import AutoencoderKMeans

    return AutoencoderKMeans(10, epochs=30, random_state=0).fit(digits.images).autoencoder_


@pytest.fixture(scope="session")
def synthetic():
    from core.data import load_dataset

    return load_dataset("synthetic", n_samples=300, n_clusters=4, image_size=12, seed=1)


@pytest.fixture(scope="session")
def artifacts_dir():
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
