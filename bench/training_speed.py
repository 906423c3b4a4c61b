"""Every deep training loop against a plain Keras `fit` of the same network on the same data.

    .venv/bin/python bench/training_speed.py                  # 5,000 images of 28x28, batch 256
    .venv/bin/python bench/training_speed.py --n-samples 2000 --batch-size 128

The data are 5,000 synthetic 28x28 images (made in code, no download). Each loop is timed over its
steady epochs (the first, which compiles, is left out: "warm") and given as samples per second; the two
autoencoder loops are also timed over their whole call (a fresh network, compilation and the first epoch
included: as a run meets them), and so is their peer. The peer is
`keras.Model.fit` with its default compile (Adam, mean squared error, no XLA) on NumPy arrays, at the
same batch size:

- the dense autoencoder (d-500-500-2000-10) and the convolutional one (three stride-2 convolutions of
  32, 64 and 128 filters) pretraining, each against `fit` of the same autoencoder;
- DEC's and IDEC's clustering phase (dense encoder, target refreshed every epoch, no early stop),
  VaDE's variational training and the self-organizing map's batch updates, each against `fit` of the
  dense autoencoder of the same size, as the issue asks (those loops train other objectives).

Runs in CI? No: by hand. Prints one table with the ratios (ours / peer).
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def keras_fit_speed(model, inputs, batch_size: int, epochs: int) -> tuple[float, float]:
    """Samples per second of `model.fit` (default compile) over its steady epochs, and over the whole call
    (a fresh network: compile and first epoch included, as a run meets it)."""
    import keras

    start = time.perf_counter()
    model.compile(optimizer="adam", loss="mse")
    ends = []

    class EpochEnds(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            ends.append(time.perf_counter())

    model.fit(inputs, inputs, batch_size=batch_size, epochs=epochs, verbose=0, shuffle=True, callbacks=[EpochEnds()])
    return len(inputs) * (len(ends) - 1) / (ends[-1] - ends[0]), len(inputs) * len(ends) / (ends[-1] - start)


def our_speed(model, inputs, batch_size: int, epochs: int) -> tuple[float, float]:
    """As :func:`keras_fit_speed`, for this project's pretraining loop (`train_autoencoder`)."""
    from core.models.autoencoder import train_autoencoder

    start = time.perf_counter()
    history = train_autoencoder(model, inputs, epochs=epochs, batch_size=batch_size, learning_rate=1e-3, seed=0)
    whole = len(inputs) * epochs / (time.perf_counter() - start)
    return steady_speed(history, "pretrain", len(inputs)), whole


def steady_speed(history: list, phase: str, n: int) -> float:
    """Samples per second over the epochs of `phase` after its first one, from a run's history."""
    elapsed = [h["elapsed"] for h in history if h["phase"] == phase]
    return n * (len(elapsed) - 1) / (elapsed[-1] - elapsed[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n-samples", type=int, default=5000)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--epochs", type=int, default=4, help="epochs per measurement (the first is left out)")
    args = parser.parse_args()

    import core  # noqa: F401  (quiet TensorFlow)

    from core.algorithms import DEC, IDEC, SelfOrganizingMap, VaDE
    from core.data import load_dataset
    from core.models.autoencoder import ConvAutoencoder, DenseAutoencoder

    data = load_dataset("synthetic", n_samples=args.n_samples, n_clusters=10, image_size=28, seed=0)
    images = data.images
    flat = images.reshape(len(images), -1)
    n, batch, epochs = len(images), args.batch_size, args.epochs
    common = {"epochs": 1, "batch_size": batch, "latent_dim": 10}
    print(f"# {platform.platform()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
          f"{time.strftime('%Y-%m-%d')}; {n:,} images of 28x28, batch {batch}, {epochs} epochs each")
    print("| loop | ours, warm (samples/s) | peer | peer, warm (samples/s) | ratio, warm | ours, whole call | "
          "peer, whole call | ratio, whole call |")
    print("|---|---|---|---|---|---|---|---|")

    def row(name: str, ours: tuple, peer_name: str, peer: tuple) -> None:
        whole = (f"{ours[1]:,.0f} | {peer[1]:,.0f} | {ours[1] / peer[1]:.2f}x" if ours[1] is not None
                 else "- | - | -")
        print(f"| {name} | {ours[0]:,.0f} | {peer_name} | {peer[0]:,.0f} | {ours[0] / peer[0]:.2f}x | {whole} |",
              flush=True)

    dense_fit = keras_fit_speed(DenseAutoencoder(flat.shape[1], 10), flat, batch, epochs)
    row("dense autoencoder", our_speed(DenseAutoencoder(flat.shape[1], 10), flat, batch, epochs),
        "fit, same network", dense_fit)
    conv_fit = keras_fit_speed(ConvAutoencoder(images.shape[1:], 10), images, batch, epochs)
    row("convolutional autoencoder", our_speed(ConvAutoencoder(images.shape[1:], 10), images, batch, epochs),
        "fit, same network", conv_fit)

    peer = "fit, dense autoencoder"
    for title, model in [("DEC clustering phase", DEC(10, cluster_epochs=epochs, tol=0.0, cluster_batch_size=batch,
                                                      architecture="dense", **common)),
                         ("IDEC clustering phase", IDEC(10, cluster_epochs=epochs, tol=0.0, cluster_batch_size=batch,
                                                        architecture="dense", **common))]:
        model.fit(images)
        row(title, (steady_speed(model.history_, "cluster", n), None), peer, dense_fit)
    vade = VaDE(10, vade_epochs=epochs, architecture="dense", **common).fit(images)
    row("VaDE", (steady_speed(vade.history_, "vade", n), None), peer, dense_fit)
    som = SelfOrganizingMap(10, som_epochs=epochs * 5, architecture="dense", **common).fit(images)
    row("self-organizing map (on the 10-d embedding)", (steady_speed(som.history_, "som", n), None), peer, dense_fit)


if __name__ == "__main__":
    main()
