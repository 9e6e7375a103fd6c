# Copyright (c) mkd_mm contributors. All rights reserved.
from mmseg.registry import MODELS

from ..common.transfer_vit import TransferViT


@MODELS.register_module()
class ViTSegBackbone(TransferViT):
    """Plain ViT backbone for mmseg (dBOT UperNet transfer on ADE20K).

    A :class:`~mkd_mm.downstream.common.TransferViT` registered in mmseg's
    ``MODELS``; it reproduces the MAE/dBOT segmentation backbone
    (``dbot:evaluation/mae_segmentation/backbone/mae.py``):
    learnable absolute position embedding resized from the pre-training grid
    to 32x32 at load time, **plus** a zero-initialised per-block relative
    position bias (``use_rel_pos_bias=True``) and layer-scale gammas
    initialised to 1.0 (``layer_scale_init_value=1.0``), taps at
    ``out_indices`` without LN, fed to mmseg's ``Feature2Pyramid``.

    Why not mmseg's ``MAE`` backbone: its ``init_weights`` ignores
    ``init_cfg.prefix`` and loads non-strictly (an mmpretrain checkpoint
    silently loads nothing), it keeps separate ``q_bias``/``v_bias`` (so keys
    need renaming), and mmseg's layer-decay constructor weight-decays
    ``pos_embed``/``cls_token``. This backbone keeps mmpretrain names and
    loads strictly (see :func:`~mkd_mm.downstream.common.load_vit_weights`).

    See :class:`~mkd_mm.downstream.common.TransferViT` for the arguments.
    """
