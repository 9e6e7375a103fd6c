# Copyright (c) mkd_mm contributors. All rights reserved.
from .clip_loading import (clip_visual_state_dict, is_torchscript_archive,
                           load_clip_visual_weights)
from .masking import (MaskInfo, check_mask_ratio, gather_tokens,
                      mask_info_from_mask, mask_info_from_shuffle,
                      num_visible_patches, random_masking)
from .model_zoo_teacher import (MODEL_ZOO_PREFIX, is_model_zoo_name,
                                model_zoo_weights_url,
                                resolve_teacher_checkpoint)
from .pos_embed import build_mae_sincos_pos_embed
from .teacher_loading import (load_teacher_weights, timm_to_mmpretrain_key,
                              unwrap_state_dict)
from .vit_flops import (dmae_teacher_macs, mae_decoder_macs,
                        vit_block_macs, vit_encoder_macs)
from .weight_init import init_linear_and_norm_, init_mae_vit_

__all__ = [
    'MaskInfo', 'check_mask_ratio', 'gather_tokens', 'mask_info_from_mask',
    'mask_info_from_shuffle', 'num_visible_patches', 'random_masking',
    'build_mae_sincos_pos_embed', 'load_teacher_weights',
    'timm_to_mmpretrain_key', 'unwrap_state_dict', 'init_linear_and_norm_',
    'init_mae_vit_',
    'MODEL_ZOO_PREFIX', 'is_model_zoo_name', 'model_zoo_weights_url',
    'resolve_teacher_checkpoint', 'dmae_teacher_macs', 'mae_decoder_macs',
    'vit_block_macs', 'vit_encoder_macs', 'clip_visual_state_dict',
    'is_torchscript_archive', 'load_clip_visual_weights'
]
