# Copyright (c) mkd_mm contributors. All rights reserved.
from .knn import extract_features, knn_accuracy, knn_classify
from .linear_probe import linear_probe_accuracy

__all__ = [
    'extract_features', 'knn_accuracy', 'knn_classify',
    'linear_probe_accuracy'
]
