# Copyright (c) mkd_mm contributors. All rights reserved.
"""Small models and data for tests and demos (no network, CPU-fast)."""
from .shrink import shrink_pretrain_model, tiny_arch
from .tiny import (TINY_ARCH, TINY_TEACHER_ARCH, TinyImageDataset,
                   tiny_dbot_cfg, tiny_dmae_cfg, tiny_pretrain_runner_cfg)
from .tiny_clip import (TINY_CLIP_ARCH, shrink_dbot_clip_model,
                        tiny_clip_state_dict, tiny_dbot_clip_cfg)

__all__ = [
    'TINY_ARCH', 'TINY_TEACHER_ARCH', 'TinyImageDataset', 'tiny_dbot_cfg',
    'tiny_dmae_cfg', 'tiny_pretrain_runner_cfg', 'shrink_pretrain_model',
    'tiny_arch', 'TINY_CLIP_ARCH', 'shrink_dbot_clip_model',
    'tiny_clip_state_dict', 'tiny_dbot_clip_cfg'
]
