# Copyright (c) mkd_mm contributors. All rights reserved.
from .knn import extract_features, knn_accuracy, knn_classify

__all__ = ['extract_features', 'knn_accuracy', 'knn_classify']
