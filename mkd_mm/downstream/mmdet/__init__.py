# Copyright (c) mkd_mm contributors. All rights reserved.
"""mmdet modules of mkd_mm; import with ``custom_imports=dict(imports=[
'mkd_mm.downstream.mmdet'], allow_failed_imports=False)``."""
from .feature2pyramid import Feature2Pyramid
from .layer_decay_optim_wrapper_constructor import \
    ViTLayerDecayOptimWrapperConstructor
from .vit_det_backbone import ViTDetBackbone

__all__ = [
    'Feature2Pyramid', 'ViTLayerDecayOptimWrapperConstructor', 'ViTDetBackbone'
]
