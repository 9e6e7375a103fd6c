# Copyright (c) mkd_mm contributors. All rights reserved.
from .frozen_aware_constructor import FrozenAwareOptimWrapperConstructor

__all__ = ['FrozenAwareOptimWrapperConstructor']
