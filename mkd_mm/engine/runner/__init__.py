# Copyright (c) mkd_mm contributors. All rights reserved.
from .mkd_runner import MKDRunner
from .resumable_loop import ResumableEpochBasedTrainLoop

__all__ = ['MKDRunner', 'ResumableEpochBasedTrainLoop']
