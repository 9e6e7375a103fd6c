# Copyright (c) mkd_mm contributors. All rights reserved.
from mmdet.registry import MODELS

from ..common.transfer_vit import TransferViT


@MODELS.register_module()
class ViTDetBackbone(TransferViT):
    """Plain ViT backbone for mmdet (dBOT Cascade Mask R-CNN transfer).

    A :class:`~mkd_mm.downstream.common.TransferViT` registered in mmdet's
    ``MODELS``. It returns the outputs of blocks ``out_indices`` (3, 5, 7, 11
    for ViT-B; 7, 11, 15, 23 for ViT-L) as stride-16 maps without a final
    LN; the multi-scale pyramid is built by the
    :class:`~mkd_mm.downstream.mmdet.Feature2Pyramid` neck (fpn1-4).

    Position handling (docs/transfer.md, section 4; dBOT paper App. A.3 vs
    the ``vit_*`` configs of ``dbot:evaluation/object_detection/``):

    - ``use_rel_pos_bias=True`` (the paper, App. A.3): a zero-initialised
      relative position bias table per block, trained from scratch, on top
      of the absolute embedding. Set ``rel_pos_grid`` to the largest patch
      grid of training (``(84, 84)`` covers 1344-pixel sides).
    - ``use_rel_pos_bias=False`` (the official ``vit_*`` configs): only the
      absolute embedding, learnable, laid out for ``img_size`` and
      interpolated bicubically to every input. Unlike the official code
      (whose 14x14 -> 53x53 resize mismatched and left the embedding at
      zero), the pre-trained embedding is loaded properly.

    See :class:`~mkd_mm.downstream.common.TransferViT` for the arguments.
    """
