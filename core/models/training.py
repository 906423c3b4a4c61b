"""The epoch loop every network here trains with (the autoencoders, DEC's clustering phase, VaDE), its compiled
step (on one device, or shared among several), the optimiser and the precision it trains in, and whether a
training step is compiled with XLA."""
from __future__ import annotations

import os
import time
from contextlib import contextmanager
from typing import Optional

import numpy as np

import core.models  # noqa: F401  (imports TensorFlow quietly before the lines below)
import keras
import tensorflow as tf

from core.models.devices import distribution_scope, training_strategy
from core.progress import PhaseReporter, ProgressCallback, StopTraining

MIXED_POLICY = "mixed_float16"


@contextmanager
def precision(mixed: bool):
    """Networks built inside compute in float16 and keep their weights in float32 (Keras' "mixed_float16"
    policy) when `mixed`; Keras' global policy is what it was again on leaving. Their output layers are float32
    (declared so): embeddings, reconstructions and the losses made of them stay float32."""
    if not mixed:
        yield
        return
    saved = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(MIXED_POLICY)
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy(saved)


def computes_in_float16(model) -> bool:
    """Whether any layer of `model` (searched through its sub-models) computes in float16."""
    if getattr(model, "compute_dtype", None) == "float16":
        return True
    return any(computes_in_float16(layer) for layer in getattr(model, "layers", ()))


def adam(learning_rate: float, model):
    """Adam for training `model`, made where its variables are (:func:`core.models.devices.distribution_scope`);
    wrapped in a LossScaleOptimizer where `model` computes in float16, so that small gradients do not round to
    zero (the loss is scaled up before the gradients and they are scaled down before the update)."""
    with distribution_scope():
        optimizer = keras.optimizers.Adam(learning_rate=learning_rate)
        return keras.optimizers.LossScaleOptimizer(optimizer) if computes_in_float16(model) else optimizer


def compiled_step(loss, variables, optimizer, *, input_signature, jit_compile: bool, prepare=None):
    """The compiled training step: `prepare(*inputs)` gives the batch (tensors with a row per sample; the inputs
    themselves by default), `optimizer` updates `variables` down the gradient of `loss(*batch)`, the batch's mean
    loss, and the step returns that loss.

    Under a mirrored strategy (:func:`core.models.devices.training_strategy`) the batch is prepared once and every
    device takes its share of the rows, its mean loss weighted by that share: the optimiser sums the devices'
    gradients, which are then those of the whole batch's mean, as on one device. That step is not compiled with
    XLA, as Keras' own `fit` does not under tf.distribute.
    """
    prepare = prepare or (lambda *inputs: inputs)
    if not optimizer.built:
        with distribution_scope():  # here, not inside the step: a mirrored variable cannot be made on one device
            optimizer.build(variables)
    strategy = training_strategy()
    if strategy is None:
        @tf.function(input_signature=input_signature, jit_compile=jit_compile)
        def train_step(*inputs):
            return _update(loss, variables, optimizer, prepare(*inputs), 1.0)

        return train_step

    def share(*batch):
        context = tf.distribute.get_replica_context()
        n = tf.shape(batch[0])[0]
        start = n * context.replica_id_in_sync_group // context.num_replicas_in_sync
        end = n * (context.replica_id_in_sync_group + 1) // context.num_replicas_in_sync
        first = tf.minimum(start, n - 1)  # a device left without rows (a batch smaller than the devices) takes one,
        rows = [part[first:tf.maximum(end, first + 1)] for part in batch]  # weighted 0
        return _update(loss, variables, optimizer, rows, tf.cast(end - start, tf.float32) / tf.cast(n, tf.float32))

    @tf.function(input_signature=input_signature)
    def mirrored_step(*inputs):
        return strategy.reduce(tf.distribute.ReduceOp.SUM, strategy.run(share, args=tuple(prepare(*inputs))),
                               axis=None)

    return mirrored_step


def _update(loss, variables, optimizer, batch, weight):
    """One update down the gradient of `weight` x `loss(*batch)`; returns that weighted loss."""
    with tf.GradientTape() as tape:
        value = loss(*batch) * weight
        scaled = optimizer.scale_loss(value)  # the loss itself, but under a LossScaleOptimizer
    optimizer.apply(tape.gradient(scaled, variables), variables)
    return value


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
    and moment estimates) zero, the learning rate kept. A warm restart in the sense of SGDR. A loss-scaling
    optimiser restarts the one it wraps and keeps its loss scale."""
    optimizer = getattr(optimizer, "inner_optimizer", optimizer)
    learning_rate = float(keras.ops.convert_to_numpy(optimizer.learning_rate))
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
