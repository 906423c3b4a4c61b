"""Deep clustering of images: datasets, models, algorithms, metrics and projections.

This package never imports streamlit; everything the dashboard shows is computed here and can be
driven from tests, notebooks or the command line.
"""
import os
import sys
import warnings
from contextlib import contextmanager

__all__ = ["__version__", "quiet_tensorflow_import"]
__version__ = "0.1.0"

# TensorFlow prints several log lines at import; keep them out of the user's way. The variables must
# be set before the first `import tensorflow`, which is why this happens in the package's __init__.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
# oneDNN stays on (TensorFlow's default on x86): on 2 cores it made the convolutional autoencoder's
# steps 1.3-1.7x and the dense ones 1.07-1.25x as fast (two runs of bench/training_speed.py); its
# start-up note is silenced with the rest in quiet_tensorflow_import.


@contextmanager
def _stderr_silenced():
    """Send file descriptor 2 to /dev/null: TensorFlow's C++ start-up lines ignore its log level."""
    try:
        saved = os.dup(2)
    except OSError:  # no real stderr (some embedded interpreters): nothing to silence
        yield
        return
    sys.stderr.flush()
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(devnull)
        os.close(saved)


def quiet_tensorflow_import() -> None:
    """Import TensorFlow and Keras with their start-up lines silenced (idempotent).

    Call it before any import that pulls TensorFlow in (keras, umap). TensorFlow is imported lazily
    so that processes that never train (the web server, metrics-only scripts) do not pay for it.
    """
    if "keras" in sys.modules and "tensorflow" in sys.modules:
        return
    with _stderr_silenced(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import tensorflow
        import keras  # noqa: F401

    tensorflow.get_logger().setLevel("ERROR")
