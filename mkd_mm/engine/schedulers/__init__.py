# Copyright (c) mkd_mm contributors. All rights reserved.
from .staged_cosine_lr import (StagedWarmupCosineLR,
                               StagedWarmupCosineParamScheduler)

__all__ = ['StagedWarmupCosineLR', 'StagedWarmupCosineParamScheduler']
