# Copyright (c) mkd_mm contributors. All rights reserved.
from .feature_align_loss import FeatureAlignLoss
from .negative_cosine_loss import NegativeCosineLoss
from .standardized_smooth_l1_loss import StandardizedSmoothL1Loss

__all__ = [
    'FeatureAlignLoss', 'NegativeCosineLoss', 'StandardizedSmoothL1Loss'
]
