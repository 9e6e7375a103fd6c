# Copyright (c) mkd_mm contributors. All rights reserved.
"""mmdet modules of mkd_mm; import with ``custom_imports=dict(imports=[
'mkd_mm.downstream.mmdet'], allow_failed_imports=False)``."""
import mkd_mm  # noqa: F401  (safe-load allow-list, mmpretrain registrations)
from .feature2pyramid import Feature2Pyramid
from .layer_decay_optim_wrapper_constructor import \
    ViTLayerDecayOptimWrapperConstructor
from .vit_det_backbone import ViTDetBackbone

__all__ = [
    'Feature2Pyramid', 'ViTLayerDecayOptimWrapperConstructor',
    'ViTDetBackbone'
]
