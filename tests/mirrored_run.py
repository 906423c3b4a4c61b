"""One run of autoencoder + k-means on the bundled digits, in a process of its own, printed as JSON; for
tests/test_devices.py.

    python tests/mirrored_run.py DEVICES EPOCHS [--batch-size N] [--mixed-precision]

With DEVICES above 1 the CPU is split into that many logical devices and training is mirrored over them
($DEEP_CLUSTERING_MIRROR=1), as it would be over several GPUs; with 1 it runs as on any one device. Logical
devices must be made before TensorFlow starts its devices, hence a process of its own.
"""
import argparse
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import core.models  # noqa: E402,F401  (imports TensorFlow quietly; its devices start at first use)
import tensorflow as tf  # noqa: E402

from core.experiment import RunConfig, run_experiment  # noqa: E402
from core.models.devices import MIRROR_ENV, training_strategy  # noqa: E402


def main(n_devices: int, epochs: int, batch_size, mixed_precision: bool) -> dict:
    os.environ[MIRROR_ENV] = "1" if n_devices > 1 else "0"  # read when the first network is built
    if n_devices > 1:
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * n_devices)
    config = RunConfig(dataset="digits", algorithm="ae_kmeans", params={"epochs": epochs, "batch_size": batch_size},
                       projection=None, mixed_precision=mixed_precision)
    result = run_experiment(config, frames=False)
    strategy = training_strategy()
    return {"nmi": result.metrics.nmi, "losses": [row["loss"] for row in result.history],
            "device": result.versions.get("device"), "embedding_dtype": str(result.embedding.dtype),
            "replicas": strategy.num_replicas_in_sync if strategy is not None else 1,
            "pretrain_seconds": result.timings["pretrain"]}


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("devices", type=int)
    parser.add_argument("epochs", type=int)
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--mixed-precision", action="store_true")
    args = parser.parse_args()
    print(json.dumps(main(args.devices, args.epochs, args.batch_size, args.mixed_precision)))
