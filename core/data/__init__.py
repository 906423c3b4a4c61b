"""Datasets: the registry, loaders, subsampling and preprocessing."""
from core.data.dataset import Dataset, DatasetUnavailable, stratified_subsample, validate_images
from core.data.preprocessing import DEFAULT_PREPROCESSING, PREPROCESSING, preprocess
from core.data.imports import InvalidUpload
from core.data.registry import DATASETS, DEFAULT_DATASET, DatasetSpec, dataset_exists, load_dataset

__all__ = [
    "DATASETS", "DEFAULT_DATASET", "DEFAULT_PREPROCESSING", "PREPROCESSING", "Dataset", "DatasetSpec",
    "DatasetUnavailable", "InvalidUpload", "dataset_exists", "load_dataset", "preprocess", "stratified_subsample", "validate_images",
]
