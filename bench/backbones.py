"""Seconds per 1,000 images of each vision backbone offered as a space (core.algorithms.spaces.BACKBONES),
on this machine, through the same feature code a run uses.

    .venv/bin/python bench/backbones.py              # every backbone, 128 images each
    .venv/bin/python bench/backbones.py dinov2 --images 256

The weights are random (built from the published architecture: the same layers, sizes and resolution,
so the same arithmetic as the pretrained ones) because nothing can be downloaded here; the time does not
depend on the values of the weights. It prints the first batch (with graph tracing) apart from the rest,
and the seconds per 1,000 images of the rest, which the form shows before a run starts. Runs in CI? No.
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

# The published architectures of the presets offered (their config.json in KerasHub's presets).
ARCHITECTURES = {
    "dinov2": dict(patch_size=14, num_layers=12, hidden_dim=384, num_heads=6, intermediate_dim=1536),
    "clip": dict(patch_size=16, num_layers=12, hidden_dim=768, num_heads=12, intermediate_dim=3072),
    "siglip": dict(patch_size=16, num_layers=12, hidden_dim=768, num_heads=12, intermediate_dim=3072),
}


def random_backbone(kind: str, side: int):
    """(model, image converter) of `kind` at `side` pixels with random weights; CLIP and SigLIP with a
    one-layer text encoder (only their image side is timed)."""
    import keras_hub

    layers = ARCHITECTURES[kind]
    shape = (side, side, 3)
    text = dict(vocabulary_size=64, embedding_dim=64, hidden_dim=64, num_layers=1, num_heads=2, intermediate_dim=128,
                max_sequence_length=8)
    if kind == "dinov2":
        model = keras_hub.models.DINOV2Backbone(image_shape=shape, position_embedding_shape=(518, 518), **layers)
        return model, keras_hub.layers.DINOV2ImageConverter(image_size=(side, side), scale=1 / 255.0)
    if kind == "clip":
        model = keras_hub.models.CLIPBackbone(keras_hub.models.CLIPVisionEncoder(image_shape=shape, **layers),
                                              keras_hub.models.CLIPTextEncoder(**text), projection_dim=512)
        return model, keras_hub.layers.CLIPImageConverter(image_size=(side, side), scale=1 / 255.0)
    model = keras_hub.models.SigLIPBackbone(keras_hub.models.SigLIPVisionEncoder(image_shape=shape, **layers),
                                            keras_hub.models.SigLIPTextEncoder(**text))
    return model, keras_hub.layers.SigLIPImageConverter(image_size=(side, side), scale=1 / 127.5, offset=-1.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("kinds", nargs="*")
    parser.add_argument("--images", type=int, default=128)
    args = parser.parse_args()

    import numpy as np

    import core  # noqa: F401  (imports TensorFlow quietly)
    from core.algorithms.spaces import BACKBONES
    from core.models import backbones

    print(f"# {platform.platform()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
          f"{time.strftime('%Y-%m-%d')}, {args.images} images of 32x32 colour, random weights")
    print("| backbone | side | features | first batch s | seconds per 1,000 images |")
    print("|---|---|---|---|---|")
    images = np.random.default_rng(0).random((args.images, 32, 32, 3), dtype=np.float32)
    for kind in args.kinds or list(BACKBONES):
        spec = BACKBONES[kind]
        import tensorflow as tf

        model, converter = random_backbone(kind, spec.side)
        compiled = tf.function(lambda batch, spec=spec, model=model: backbones._features_of(spec, model, batch),
                               reduce_retracing=True)  # as backbones.load compiles the preset's
        backbones._loaded[backbones.preset_location(spec)] = (compiled, converter)
        start = time.perf_counter()
        first = backbones.backbone_features(images[:32], spec)  # traces the graph, warms the kernels
        warm = time.perf_counter()
        backbones.backbone_features(images, spec)
        done = time.perf_counter()
        print(f"| {spec.title} | {spec.side} | {first.shape[1]} | {warm - start:.1f} | "
              f"{(done - warm) / args.images * 1000:.0f} |", flush=True)


if __name__ == "__main__":
    main()
