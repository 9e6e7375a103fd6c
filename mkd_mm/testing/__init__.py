# Copyright (c) mkd_mm contributors. All rights reserved.
"""Small models and data for tests and demos (no network, CPU-fast)."""
from .tiny import (TINY_ARCH, TinyImageDataset, tiny_dbot_cfg,
                   tiny_pretrain_runner_cfg)

__all__ = [
    'TINY_ARCH', 'TinyImageDataset', 'tiny_dbot_cfg',
    'tiny_pretrain_runner_cfg'
]
from .shrink import shrink_pretrain_model, tiny_arch  # noqa: E402

__all__ += ['shrink_pretrain_model', 'tiny_arch']
