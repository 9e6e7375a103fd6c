# Copyright (c) mkd_mm contributors. All rights reserved.
from .bootstrap_teacher_hook import BootstrapTeacherHook
from .data_check_hook import DataCheckHook
from .rng_state_hook import RNGStateHook

__all__ = ['BootstrapTeacherHook', 'DataCheckHook', 'RNGStateHook']
