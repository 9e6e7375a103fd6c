# Copyright (c) mkd_mm contributors. All rights reserved.
from typing import List, Optional, Sequence, Tuple, Union

import torch
import torch.utils.checkpoint as cp
from mmpretrain.models import MAEViT
from mmpretrain.registry import MODELS

from ..utils.masking import (MaskInfo, check_mask_ratio, gather_tokens,
                             random_masking)
from ..utils.weight_init import init_mae_vit_


@MODELS.register_module()
class MKDViT(MAEViT):
    """MAE encoder for masked knowledge distillation.

    mmpretrain's :class:`MAEViT` draws its mask internally, always applies the
    final norm and exposes no intermediate blocks. Distillation needs more:

    - the mask can be given from outside (:class:`MaskInfo`), so that a
      teacher and a student share it (DMAE) and tests can fix it;
    - the outputs of chosen blocks are returned (DMAE aligns block 9 of 12);
    - weights are initialised exactly as the official MAE/dBOT/DMAE code
      (xavier-uniform linears with zero bias, LN 1/0, xavier on the flattened
      patch projection with its bias left as built, ``N(0, 0.02)`` class
      token, fixed 2-D sin-cos position embedding in MAE's channel layout);
    - optional activation checkpointing of the blocks (``with_cp``).

    Parameter names are those of mmpretrain's :class:`VisionTransformer`, so
    the pre-trained student loads into it with ``prefix='backbone.'``.

    Args:
        arch (str | dict): ViT architecture, as in mmpretrain
            ('s', 'b', 'l', 'h' or a dict). Defaults to 'b'.
        img_size (int): Input size. Defaults to 224.
        patch_size (int): Patch size. Defaults to 16.
        out_indices (Sequence[int] | int): Used by the unmasked forward.
            Defaults to -1.
        drop_path_rate (float): Stochastic depth, linearly increasing over
            the blocks. Defaults to 0.
        mask_ratio (float): Ratio of masked patches. Defaults to 0.75.
        with_cp (bool): Checkpoint the activations of every block while
            training, trading compute for memory. Defaults to False.
        zero_patch_bias (bool): Zero the patch projection bias at every
            (re-)initialisation. Defaults to False: as the official code, it
            keeps PyTorch's default at build time and its trained value at
            a dBOT breakpoint (see :func:`init_mae_vit_`).
        **kwargs: Other arguments of :class:`MAEViT`.
    """

    def __init__(self,
                 arch: Union[str, dict] = 'b',
                 img_size: int = 224,
                 patch_size: int = 16,
                 out_indices: Union[Sequence[int], int] = -1,
                 drop_path_rate: float = 0.,
                 mask_ratio: float = 0.75,
                 with_cp: bool = False,
                 zero_patch_bias: bool = False,
                 **kwargs) -> None:
        super().__init__(
            arch=arch,
            img_size=img_size,
            patch_size=patch_size,
            out_indices=out_indices,
            drop_path_rate=drop_path_rate,
            mask_ratio=mask_ratio,
            **kwargs)
        check_mask_ratio(mask_ratio, self.num_patches, 'backbone.mask_ratio')
        self.with_cp = with_cp
        self.zero_patch_bias = zero_patch_bias

    def init_weights(self) -> None:
        """Initialise as the official code does, unless pre-trained."""
        if (isinstance(self.init_cfg, dict)
                and self.init_cfg.get('type') == 'Pretrained'):
            super(MAEViT, self).init_weights()
            return
        self.reset_parameters()
        self._is_init = True

    def reset_parameters(self) -> None:
        """(Re-)initialise every parameter with the MAE rules.

        Used at build time and by dBOT at every stage breakpoint.
        """
        init_mae_vit_(self, zero_patch_bias=self.zero_patch_bias)

    def _run_layer(self, layer: torch.nn.Module,
                   x: torch.Tensor) -> torch.Tensor:
        if self.with_cp and self.training and x.requires_grad:
            return cp.checkpoint(layer, x, use_reentrant=False)
        return layer(x)

    def forward_masked(
        self,
        x: torch.Tensor,
        mask_info: MaskInfo,
        return_layers: Sequence[int] = ()
    ) -> Tuple[torch.Tensor, List[torch.Tensor]]:
        """Encode the visible patches only.

        Args:
            x (torch.Tensor): Images ``(B, 3, H, W)``.
            mask_info (MaskInfo): Which patches are visible.
            return_layers (Sequence[int]): 0-based block indices whose raw
                residual-stream outputs (before any norm, class token first)
                are returned.

        Returns:
            Tuple[torch.Tensor, List[torch.Tensor]]:

            - ``latent`` (torch.Tensor): ``(B, 1 + len_keep, C)`` after the
              final norm.
            - ``feats`` (List[torch.Tensor]): outputs of ``return_layers``.
        """
        B = x.shape[0]
        x = self.patch_embed(x)[0] + self.pos_embed[:, 1:, :]
        x = gather_tokens(x, mask_info.ids_keep)
        cls_token = (self.cls_token + self.pos_embed[:, :1, :]).expand(
            B, -1, -1)
        x = torch.cat((cls_token, x), dim=1)
        feats = []
        for i, layer in enumerate(self.layers):
            x = self._run_layer(layer, x)
            if i in return_layers:
                feats.append(x)
        if self.final_norm:
            x = self.norm1(x)
        return x, feats

    def forward(
        self,
        x: torch.Tensor,
        mask: Optional[bool] = True
    ) -> Union[Tuple[torch.Tensor, torch.Tensor, torch.Tensor],
               Tuple[torch.Tensor, ...]]:
        """MAE-compatible forward.

        Args:
            x (torch.Tensor): Images ``(B, 3, H, W)``.
            mask (bool, optional): ``True`` draws a random mask and returns
                ``(latent, mask, ids_restore)`` like :class:`MAEViT`;
                ``None`` or ``False`` runs the plain ViT on all patches and
                returns the ``out_indices`` features.

        Returns:
            tuple: See above.
        """
        if not mask:
            return super(MAEViT, self).forward(x)
        info = random_masking(x.shape[0], self.num_patches, self.mask_ratio,
                              x.device)
        latent, _ = self.forward_masked(x, info)
        return latent, info.mask, info.ids_restore
