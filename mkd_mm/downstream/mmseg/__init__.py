# Copyright (c) mkd_mm contributors. All rights reserved.
"""mmseg modules of mkd_mm; import with ``custom_imports=dict(imports=[
'mkd_mm.downstream.mmseg'], allow_failed_imports=False)``."""
from .layer_decay_optim_wrapper_constructor import \
    ViTLayerDecayOptimWrapperConstructor
from .vit_seg_backbone import ViTSegBackbone

__all__ = ['ViTLayerDecayOptimWrapperConstructor', 'ViTSegBackbone']
