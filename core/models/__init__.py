"""Neural network building blocks (Keras 3). Importing this package imports TensorFlow."""
from core import quiet_tensorflow_import

quiet_tensorflow_import()
