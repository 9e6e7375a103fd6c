# Copyright (c) mkd_mm contributors. All rights reserved.
from mmseg.registry import OPTIM_WRAPPER_CONSTRUCTORS

from ..common.layer_decay import ViTLayerDecayOptimWrapperConstructorBase


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class ViTLayerDecayOptimWrapperConstructor(
        ViTLayerDecayOptimWrapperConstructorBase):
    """ViT layer-wise lr decay, registered for mmseg.

    mmseg's ``LearningRateDecayOptimizerConstructor`` has the same depth
    formula (checked in ``tests/test_downstream/test_layer_decay.py``) but
    accepts only backbones whose class name contains ``BEiT``/``MAE``/
    ``ConvNeXt``, never checks ``num_layers`` against the backbone, and
    weight-decays ``backbone.pos_embed``/``backbone.cls_token`` (its no-decay
    test compares unprefixed names). See
    :class:`~mkd_mm.downstream.common.ViTLayerDecayOptimWrapperConstructorBase`
    for ``paramwise_cfg``.
    """
