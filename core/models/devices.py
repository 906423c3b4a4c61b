"""Where the networks train: the devices TensorFlow sees, said in a line, and the strategy the training loops
run under.

One device (a CPU, or one GPU, which TensorFlow uses by itself) needs no strategy: the loops run as they always
have. With several GPUs they run under `tf.distribute.MirroredStrategy`: every GPU holds a copy of the network
and takes a share of each batch, and the gradients are summed before one update
(:func:`core.models.training.compiled_step`). Several machines training one network are not supported: Keras 3
does not support multi-worker training on TensorFlow (keras-team/keras#20585).
"""
from __future__ import annotations

import functools
import os
from collections import Counter
from contextlib import nullcontext
from typing import Optional

import core.models  # noqa: F401  (imports TensorFlow quietly before the lines below)
import tensorflow as tf

MIRROR_ENV = "DEEP_CLUSTERING_MIRROR"  # "1": mirror over every logical device, CPUs too (the tests); "0": never


def _training_devices() -> list:
    """The logical devices training may use: the GPUs, else the CPUs."""
    return tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU")


@functools.cache
def training_strategy() -> Optional[tf.distribute.Strategy]:
    """The mirrored strategy over the GPUs when more than one is visible; None otherwise (one device: TensorFlow
    places the work itself, and a strategy would only add its cost). $DEEP_CLUSTERING_MIRROR "1" mirrors over
    every logical device, CPUs included (logical devices split off one CPU are how the tests check it), "0"
    never does. One strategy per process: a network's variables must live under the strategy that trains them."""
    setting = os.environ.get(MIRROR_ENV, "")
    devices = _training_devices()
    if setting == "0" or (setting != "1" and (len(devices) < 2 or devices[0].device_type != "GPU")):
        return None
    return tf.distribute.MirroredStrategy([device.name for device in devices])


def distribution_scope():
    """The scope a trained network's variables are created in (its weights, its optimiser's, a seeded layer's
    state): the mirrored strategy's where there is one, so that every device holds a copy; none otherwise."""
    strategy = training_strategy()
    return strategy.scope() if strategy is not None else nullcontext()


@functools.cache
def training_device() -> str:
    """What the networks train on, in a line: "CPU (2 cores)", "GPU: NVIDIA H200", "GPU: NVIDIA H200 ×2, mirrored
    over 2 devices". Asked once per process (it starts TensorFlow's devices)."""
    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        names = Counter(tf.config.experimental.get_device_details(gpu).get("device_name", "GPU") for gpu in gpus)
        line = "GPU: " + ", ".join(name if count == 1 else f"{name} ×{count}" for name, count in names.items())
    else:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
        line = f"CPU ({cores} core{'' if cores == 1 else 's'})"
    strategy = training_strategy()
    if strategy is not None:
        line += f", mirrored over {strategy.num_replicas_in_sync} devices"
    return line
