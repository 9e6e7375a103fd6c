# Copyright (c) mkd_mm contributors. All rights reserved.
from .standardized_smooth_l1_loss import StandardizedSmoothL1Loss

__all__ = ['StandardizedSmoothL1Loss']
