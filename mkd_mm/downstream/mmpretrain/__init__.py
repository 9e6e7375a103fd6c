# Copyright (c) mkd_mm contributors. All rights reserved.
"""mmpretrain (ImageNet fine-tuning) modules of mkd_mm.

Imports only mmpretrain; classification configs load it with
``custom_imports=dict(imports=['mkd_mm.downstream.mmpretrain'],
allow_failed_imports=False)`` and :func:`mkd_mm.utils.register_model_index`
imports it so that ``mmpretrain.get_model`` can build the zoo entries.
"""
from .official_compat_classifier import OfficialCompatClassifier
from .transfer_vision_transformer import TransferVisionTransformer

__all__ = ['OfficialCompatClassifier', 'TransferVisionTransformer']
