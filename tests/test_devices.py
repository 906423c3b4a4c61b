"""Where training runs and how (issue 23): the device line the training process says and a run records, mixed
precision (a run setting: float16 networks that cluster as float32 ones do), and training mirrored over several
devices (two logical CPU devices standing in for two GPUs) learning as one device does."""
import json
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

import keras
import numpy as np
import pytest
from sklearn.metrics import normalized_mutual_info_score
from streamlit.testing.v1 import AppTest

from core.cli import _base_config, build_parser, command_line
from core.algorithms.autoencoder import AutoencoderKMeans
from core.experiment import RunConfig
from core.runs import RunStore
from core.runs.records import config_from_dict, config_to_dict
from core.runs.runner import record_run
from ui.worker import TrainingWorker

ROOT = Path(__file__).resolve().parents[1]
CPU_LINE = r"CPU \(\d+ cores?\)"
MIRRORED_EPOCHS = 30
# A smaller network than the default: a CPU has no fast float16. Seeds 0, 1, 2 gave NMI 0.624 / 0.678 / 0.621 in
# float32 and 0.662 / 0.663 / 0.660 in mixed precision (differences 0.038, 0.014, 0.039); after 3 epochs, 0.2.
PRECISION_EPOCHS, PRECISION_UNITS = 15, (128, 128, 256)
PRECISION_NMI_MARGIN, PRECISION_NMI_FLOOR = 0.05, 0.6


def mirrored_run(n_devices: int, epochs: int) -> dict:
    """tests/mirrored_run.py in a process of its own (logical devices are made before TensorFlow starts its own)."""
    done = subprocess.run([sys.executable, str(ROOT / "tests" / "mirrored_run.py"), str(n_devices), str(epochs)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_training_mirrored_over_two_devices_learns_as_on_one():
    """The issue's check: a deep method on the real digits, mirrored over two devices, reaches NMI 0.7 and stays
    within 0.02 of the same seed on one device (each device takes half of every batch; the summed gradients are
    the whole batch's)."""
    one, two = mirrored_run(1, MIRRORED_EPOCHS), mirrored_run(2, MIRRORED_EPOCHS)
    assert (one["replicas"], two["replicas"]) == (1, 2)
    assert re.fullmatch(CPU_LINE, one["device"]), one["device"]
    assert two["device"] == f"{one['device']}, mirrored over 2 devices"
    assert np.all(np.isfinite(two["losses"])) and two["losses"][-1] < 0.5 * two["losses"][0]
    assert two["losses"][0] == pytest.approx(one["losses"][0], rel=1e-3)  # the same first epoch, to rounding
    assert two["nmi"] >= 0.7 and abs(two["nmi"] - one["nmi"]) <= 0.02, (one["nmi"], two["nmi"])


def test_mixed_precision_trains_in_float16_and_clusters_as_float32(digits, monkeypatch):
    """Autoencoder + k-means on digits in mixed precision: float16 inside the network, float32 weights, outputs and
    embedding, finite losses through Adam's restarts (the loss scale kept), the float32 run's losses within 10% at
    every epoch, and its clustering within the spread of a seed."""
    monkeypatch.setenv("DEEP_CLUSTERING_XLA", "1")  # the app's dense steps; without XLA float16 is ~35x slower here
    fitted = {mixed: AutoencoderKMeans(10, epochs=PRECISION_EPOCHS, hidden_units=PRECISION_UNITS, restart_every=4,
                                       random_state=0).fit(digits.images, mixed_precision=mixed)
              for mixed in (False, True)}
    encoder = fitted[True].autoencoder_.encoder
    assert encoder.get_layer("encoder_dense_0").compute_dtype == "float16"
    assert encoder.get_layer("encoder_out").compute_dtype == "float32"
    assert all(weight.dtype == "float32" for weight in encoder.weights)
    assert fitted[False].autoencoder_.encoder.get_layer("encoder_dense_0").compute_dtype == "float32"
    assert keras.mixed_precision.global_policy().name == "float32"  # the run's networks only
    assert fitted[True].embedding_.dtype == np.float32 and np.all(np.isfinite(fitted[True].embedding_))
    losses = {mixed: np.array([row["loss"] for row in model.history_]) for mixed, model in fitted.items()}
    assert np.all(np.isfinite(losses[True])) and losses[True][-1] < 0.5 * losses[True][0]
    np.testing.assert_allclose(losses[True], losses[False], rtol=0.1)  # measured: at most 5.7% apart, 3.4% at the end
    nmi = {mixed: normalized_mutual_info_score(digits.labels, model.labels_) for mixed, model in fitted.items()}
    assert nmi[True] >= PRECISION_NMI_FLOOR and abs(nmi[True] - nmi[False]) <= PRECISION_NMI_MARGIN, nmi


def test_a_run_in_mixed_precision_trains_so_and_its_record_says_it(digits, tmp_path, monkeypatch):
    monkeypatch.setenv("DEEP_CLUSTERING_XLA", "1")
    config = RunConfig(dataset="digits", algorithm="ae_kmeans", n_samples=300, projection=None, params={"epochs": 1},
                       mixed_precision=True)
    result = record_run(config, RunStore(tmp_path), dataset=digits)
    assert result.estimator.autoencoder_.encoder.get_layer("encoder_dense_0").compute_dtype == "float16"
    record = RunStore(tmp_path).get(result.run_id)
    assert record.config.mixed_precision is True
    assert re.fullmatch(CPU_LINE, record.versions["device"]), record.versions


def test_a_record_keeps_mixed_precision_and_older_records_read_false():
    config = RunConfig(dataset="digits", algorithm="ae_kmeans", mixed_precision=True)
    assert config_from_dict(config_to_dict(config)).mixed_precision is True
    older = {key: value for key, value in config_to_dict(config).items() if key != "mixed_precision"}
    assert config_from_dict(older).mixed_precision is False


@pytest.mark.parametrize("command", ["train", "sweep"])
def test_the_command_line_takes_mixed_precision(command):
    flagged = build_parser().parse_args([command, "--algorithm", "ae_kmeans", "--mixed-precision"])
    assert _base_config(flagged).mixed_precision is True
    assert _base_config(build_parser().parse_args([command, "--algorithm", "ae_kmeans"])).mixed_precision is False


def test_a_mixed_precision_sweep_is_repeated_by_the_command_it_prints():
    words = shlex.split(command_line(RunConfig(algorithm="ae_kmeans", mixed_precision=True), {"latent_dim": [5, 10]}))
    assert _base_config(build_parser().parse_args(words[3:])).mixed_precision is True
    assert "--mixed-precision" not in command_line(RunConfig(algorithm="ae_kmeans"), {"latent_dim": [5, 10]})


def test_the_training_process_says_where_it_trains(tmp_path, monkeypatch):
    monkeypatch.setenv("DEEP_CLUSTERING_WARMUP", "0")  # the spawned process reads it
    worker = TrainingWorker(tmp_path / "store")
    try:
        deadline = time.monotonic() + 120
        while not worker.ready and time.monotonic() < deadline:
            time.sleep(0.1)
        assert worker.ready
        assert re.fullmatch(CPU_LINE, worker.device), worker.device
    finally:
        worker.close()


def test_the_train_page_says_where_training_runs_and_offers_mixed_precision(monkeypatch):
    monkeypatch.setenv("DEEP_CLUSTERING_WARMUP", "0")  # the training process this page starts reads it
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    deadline = time.monotonic() + 120
    while not any(c.value.startswith("Training runs on CPU") for c in at.caption) and time.monotonic() < deadline:
        time.sleep(0.5)
        at.run()
    said = [c.value for c in at.caption if c.value.startswith("Training runs ")]
    assert len(said) == 1 and re.fullmatch(rf"Training runs on {CPU_LINE}\.", said[0]), said
    at.toggle(key="train_mixed_precision").set_value(True).run()  # under Advanced, for a method with a network
    assert not at.exception, at.exception
    at.selectbox(key="train_algorithm").set_value("kmeans").run()
    assert not [t for t in at.toggle if t.key == "train_mixed_precision"]  # k-means on pixels trains no network
