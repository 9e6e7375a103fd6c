# Copyright (c) mkd_mm contributors. All rights reserved.
from .masking import (MaskInfo, check_mask_ratio, gather_tokens,
                      mask_info_from_mask, mask_info_from_shuffle,
                      num_visible_patches, random_masking)
from .pos_embed import build_mae_sincos_pos_embed
from .teacher_loading import (load_teacher_weights, timm_to_mmpretrain_key,
                              unwrap_state_dict)
from .weight_init import init_linear_and_norm_

__all__ = [
    'MaskInfo', 'check_mask_ratio', 'gather_tokens', 'mask_info_from_mask',
    'mask_info_from_shuffle', 'num_visible_patches', 'random_masking',
    'build_mae_sincos_pos_embed', 'load_teacher_weights',
    'timm_to_mmpretrain_key', 'unwrap_state_dict', 'init_linear_and_norm_'
]
