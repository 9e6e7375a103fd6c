# Copyright (c) mkd_mm contributors. All rights reserved.
from typing import Optional, Sequence, Tuple

import torch
import torch.nn as nn
from mmcv.cnn import build_norm_layer
from mmdet.registry import MODELS
from mmengine.model import BaseModule


@MODELS.register_module()
class Feature2Pyramid(BaseModule):
    """Turn same-resolution ViT taps into a 4-level pyramid (fpn1-4).

    The ViT detection recipe of dBOT/iBOT/BEiT (fpn1-4 of
    ``dbot:evaluation/object_detection/mmcv_custom/register_backbone.py``):
    for a stride-16 input, rescale 4 gives ConvT(2, s2) -> norm -> GELU ->
    ConvT(2, s2) (stride 4), rescale 2 gives ConvT(2, s2) (stride 8),
    rescale 1 is the identity (stride 16) and rescale 0.5 is MaxPool(2, s2)
    (stride 32).
    mmseg ships the same neck under this name; mmdet has none, so this is
    our own implementation registered in mmdet's ``MODELS``. It is followed
    by a standard ``FPN`` (put both in a list: ``neck=[Feature2Pyramid,
    FPN]``).

    Args:
        embed_dim (int): Channels of the ViT taps.
        rescales (Sequence[float]): One scale per input, from
            ``{4, 2, 1, 0.5, 0.25}``. Defaults to ``(4, 2, 1, 0.5)``.
        norm_cfg (dict): Norm inside the 4x branch. Defaults to
            ``dict(type='SyncBN', requires_grad=True)``; use ``BN`` on a
            single device.
        init_cfg (dict, optional): Initialization config. Defaults to None.
    """

    def __init__(self,
                 embed_dim: int,
                 rescales: Sequence[float] = (4, 2, 1, 0.5),
                 norm_cfg: dict = dict(type='SyncBN', requires_grad=True),
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.rescales = list(rescales)
        branches = []
        for scale in self.rescales:
            if scale == 4:
                branches.append(
                    nn.Sequential(
                        nn.ConvTranspose2d(
                            embed_dim, embed_dim, kernel_size=2, stride=2),
                        build_norm_layer(norm_cfg, embed_dim)[1], nn.GELU(),
                        nn.ConvTranspose2d(
                            embed_dim, embed_dim, kernel_size=2, stride=2)))
            elif scale == 2:
                branches.append(
                    nn.ConvTranspose2d(
                        embed_dim, embed_dim, kernel_size=2, stride=2))
            elif scale == 1:
                branches.append(nn.Identity())
            elif scale == 0.5:
                branches.append(nn.MaxPool2d(kernel_size=2, stride=2))
            elif scale == 0.25:
                branches.append(nn.MaxPool2d(kernel_size=4, stride=4))
            else:
                raise ValueError(f'Unsupported rescale {scale}; use 4, 2, 1, '
                                 '0.5 or 0.25.')
        self.branches = nn.ModuleList(branches)

    def forward(self,
                inputs: Sequence[torch.Tensor]) -> Tuple[torch.Tensor, ...]:
        """Rescale every input map.

        Args:
            inputs (Sequence[torch.Tensor]): One ``(B, C, H, W)`` map per
                rescale.

        Returns:
            tuple[torch.Tensor]: The rescaled maps, in input order.
        """
        if len(inputs) != len(self.branches):
            raise ValueError(f'Feature2Pyramid got {len(inputs)} inputs for '
                             f'{len(self.branches)} rescales.')
        return tuple(branch(x) for branch, x in zip(self.branches, inputs))
