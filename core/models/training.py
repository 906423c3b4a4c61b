"""The epoch loop every network here trains with (the autoencoders, DEC's clustering phase, VaDE), and
whether a training step is compiled with XLA."""
from __future__ import annotations

import os
import time
from typing import Optional

import numpy as np

import core.models  # noqa: F401  (imports TensorFlow quietly before the lines below)
import keras
import tensorflow as tf

from core.progress import PhaseReporter, ProgressCallback, StopTraining


def restarts(optimizer, restart_every: int):
    """`before_epoch` for run_epochs: restart `optimizer` (:func:`restart_optimizer`) at the start of every
    `restart_every`-th epoch after the first; None when `restart_every` is 0 (never).

    The step stays the one compiled step: building a new step with a fresh optimiser at each restart, as
    before, traced and compiled it again each time (3.7 s for the dense autoencoder on digits, its batch and
    its last, shorter batch: 11 of the 51 s of N2D's pretraining at the defaults)."""
    if not restart_every:
        return None

    def before_epoch(epoch: int) -> None:
        if epoch > 1 and (epoch - 1) % restart_every == 0:
            restart_optimizer(optimizer)

    return before_epoch


def restart_optimizer(optimizer) -> None:
    """Put `optimizer` back as a fresh one of its kind would start: every state variable (Adam's step count
    and moment estimates) zero, the learning rate kept. A warm restart in the sense of SGDR."""
    learning_rate = float(np.asarray(optimizer.learning_rate))
    for variable in optimizer.variables:
        variable.assign(np.zeros(variable.shape, dtype=variable.dtype))
    optimizer.learning_rate = learning_rate


XLA_ENV = "DEEP_CLUSTERING_XLA"  # "0": never compile training steps with XLA


def prefers_xla(model) -> bool:
    """Whether a training step of `model` (an autoencoder, or a part of one such as VaDE's decoder) is
    compiled with XLA: yes for dense networks, whose steps it speeds up (8,040 -> 10,130 images a second on
    2 CPU cores with oneDNN, d-500-500-2000-10 at 28x28, batch 256), no for convolutional ones, which it
    slows down (5,900 -> 4,350 at batch 256, 5,410 -> 4,530 at 128); never when $DEEP_CLUSTERING_XLA is "0"."""
    return os.environ.get(XLA_ENV, "1") != "0" and not _has_convolutions(model)


def _has_convolutions(model) -> bool:
    if isinstance(model, (keras.layers.Conv2D, keras.layers.Conv2DTranspose)):
        return True
    return any(_has_convolutions(layer) for layer in getattr(model, "layers", ()))


def run_epochs(train_step, n: int, *, epochs: int, batch_size: int, seed: int,
               callback: Optional[ProgressCallback], phase: str, title: str, diverged: str,
               history_phase: Optional[str] = None, before_epoch=None, before_step=None) -> list[dict]:
    """The epoch loop every network here trains with: shuffled batches of indices into the data.

    `train_step` is the compiled step: it takes int32 batch indices and returns the batch's mean loss. Reports to
    `callback` after every batch (so a cancel takes effect within one batch) and once more at each
    epoch's end with the epoch's mean loss. Raises FloatingPointError, with `diverged` formatted
    with `loss` and `epoch`, when a loss is NaN or infinite. Returns one ``{"phase", "epoch",
    "loss", "elapsed"}`` dict per epoch (phase `history_phase`, default `phase`).

    `before_epoch(epoch)`, where given, runs at the start of each epoch (numbered from 1; an autoencoder
    restarts its optimiser there, :func:`restarts`). `before_step(step)`, where given, runs before each step with the number of steps taken so far
    (DEC refreshes its target there); when it returns True training has converged and stops (an
    epoch cut short still gets its history line).
    """
    report = PhaseReporter(callback, phase)
    rng = np.random.default_rng(seed)
    history: list[dict] = []
    n_steps = int(np.ceil(n / batch_size))
    start = time.perf_counter()
    stopping = False
    for epoch in range(1, epochs + 1):
        if before_epoch is not None:
            before_epoch(epoch)
        order = rng.permutation(n).astype(np.int32)
        total, seen = 0.0, 0
        converged = False
        for step in range(n_steps):
            if before_step is not None and before_step((epoch - 1) * n_steps + step):
                converged = True
                break
            indices = order[step * batch_size:(step + 1) * batch_size]
            loss = float(train_step(tf.constant(indices)))
            if not np.isfinite(loss):
                raise FloatingPointError(diverged.format(loss=loss, epoch=epoch))
            total += loss * len(indices)
            seen += len(indices)
            if step + 1 < n_steps:
                try:
                    report(f"{title}: epoch {epoch}/{epochs}", ((epoch - 1) + (step + 1) / n_steps) / epochs,
                           epoch=epoch, n_epochs=epochs, step=step + 1, n_steps=n_steps, loss=total / seen)
                except StopTraining:  # stop and keep: finish this epoch, then go on with what was learned
                    stopping = True
        if converged and not seen:
            break
        epoch_loss = total / seen
        history.append({"phase": history_phase or phase, "epoch": epoch, "loss": epoch_loss,
                        "elapsed": time.perf_counter() - start})
        try:
            report(f"{title}: epoch {epoch}/{epochs}", epoch / epochs, epoch=epoch, n_epochs=epochs, step=n_steps,
                   n_steps=n_steps, loss=epoch_loss, end_of_epoch=True)
        except StopTraining:
            stopping = True
        if stopping or converged:
            break
    return history
