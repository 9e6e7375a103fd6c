# Copyright (c) mkd_mm contributors. All rights reserved.
"""Small models and data for tests and demos (no network, CPU-fast)."""
from .tiny import (TINY_ARCH, TinyImageDataset, tiny_dbot_cfg,
                   tiny_pretrain_runner_cfg)
from .tiny_clip import (TINY_CLIP_ARCH, shrink_dbot_clip_model,
                        tiny_clip_state_dict, tiny_dbot_clip_cfg)

__all__ = [
    'TINY_ARCH', 'TinyImageDataset', 'tiny_dbot_cfg',
    'tiny_pretrain_runner_cfg'
]
from .shrink import shrink_pretrain_model, tiny_arch  # noqa: E402

__all__ += ['shrink_pretrain_model', 'tiny_arch']

__all__ += [
    'TINY_CLIP_ARCH', 'shrink_dbot_clip_model', 'tiny_clip_state_dict',
    'tiny_dbot_clip_cfg'
]
