# Copyright (c) mkd_mm contributors. All rights reserved.
"""Library-independent transfer code (no mmdet / mmseg imports)."""
from .layer_decay import (ViTLayerDecayOptimWrapperConstructorBase,
                          get_vit_layer_depth)
from .rel_pos_attention import RelPosBiasAttention, relative_position_index
from .transfer_vit import (ARCH_ZOO, NEW_AT_TRANSFER, TransferEncoderLayer,
                           TransferViT)
from .vit_weight_loader import (CheckpointMismatchError, load_vit_weights,
                                read_vit_encoder)

__all__ = [
    'ViTLayerDecayOptimWrapperConstructorBase', 'get_vit_layer_depth',
    'RelPosBiasAttention', 'relative_position_index', 'ARCH_ZOO',
    'NEW_AT_TRANSFER', 'TransferEncoderLayer', 'TransferViT',
    'CheckpointMismatchError', 'load_vit_weights', 'read_vit_encoder'
]
