# Copyright (c) mkd_mm contributors. All rights reserved.
from mmdet.registry import OPTIM_WRAPPER_CONSTRUCTORS

from ..common.layer_decay import ViTLayerDecayOptimWrapperConstructorBase


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class ViTLayerDecayOptimWrapperConstructor(
        ViTLayerDecayOptimWrapperConstructorBase):
    """ViT layer-wise lr decay, registered for mmdet.

    mmdet's own ``LearningRateDecayOptimizerConstructor`` only handles
    ConvNeXt and ViTDet's project constructor only ``.blocks.`` names (it
    silently puts mmpretrain ``layers.N`` at the top depth), so detection
    configs use this one. See
    :class:`~mkd_mm.downstream.common.ViTLayerDecayOptimWrapperConstructorBase`
    for ``paramwise_cfg``.

    Example:
        >>> optim_wrapper = dict(
        ...     type='AmpOptimWrapper',
        ...     constructor='ViTLayerDecayOptimWrapperConstructor',
        ...     paramwise_cfg=dict(num_layers=12, layer_decay_rate=0.75),
        ...     optimizer=dict(type='AdamW', lr=1e-4, weight_decay=0.05))
    """
