# Copyright (c) mkd_mm contributors. All rights reserved.
from .bootstrap_teacher_hook import BootstrapTeacherHook
from .data_check_hook import DataCheckHook
from .finite_checkpoint_hook import (FiniteCheckpointHook,
                                     NonFiniteCheckpointError)
from .rng_state_hook import RNGStateHook

__all__ = ['BootstrapTeacherHook', 'DataCheckHook', 'RNGStateHook',
           'FiniteCheckpointHook', 'NonFiniteCheckpointError']
