# Copyright (c) mkd_mm contributors. All rights reserved.
from typing import List, Optional, Union

import numpy as np
import torch
import torch.nn as nn
import torch.utils.checkpoint as cp
from mmpretrain.models import MAEPretrainDecoder
from mmpretrain.models.backbones.vision_transformer import \
    TransformerEncoderLayer
from mmpretrain.registry import MODELS

from ..utils.pos_embed import build_mae_sincos_pos_embed
from ..utils.weight_init import init_linear_and_norm_


@MODELS.register_module()
class DBOTDecoder(MAEPretrainDecoder):
    """The asymmetric decoder of dBOT: predicts teacher tokens.

    Implementation of the student decoder of `Exploring Target
    Representations for Masked Autoencoders <https://arxiv.org/abs/2209.03917>`_
    (dBOT). It differs from MAE's decoder in three ways:

    - the output projection maps to the **teacher's** width
      (``predict_feature_dim``) instead of pixels;
    - the class-token position is **kept** in the output, since the teacher's
      class token is a target too: the output is ``(B, 1 + N, C_t)``;
    - the decoder blocks have stochastic depth,
      ``linspace(0, drop_path_rate, depth)``, as in the official code.

    It also serves DMAE's pixel decoder with ``keep_cls=False`` (output
    ``(B, N, p*p*3)``), so both algorithms share one initialisation.

    Args:
        num_patches (int): Patches per image. Defaults to 196.
        patch_size (int): Patch size. Defaults to 16.
        in_chans (int): Image channels. Defaults to 3.
        embed_dim (int): Encoder width. Defaults to 768.
        decoder_embed_dim (int): Decoder width. Defaults to 512.
        decoder_depth (int): Decoder blocks. Defaults to 8.
        decoder_num_heads (int): Decoder heads. Defaults to 16.
        mlp_ratio (int): FFN ratio. Defaults to 4.
        predict_feature_dim (int, optional): Output width; the teacher's
            width for dBOT, ``None`` for pixels. Defaults to None.
        keep_cls (bool): Keep the class-token position in the output.
            Defaults to True.
        drop_path_rate (float): Maximum stochastic depth. Defaults to 0.
        with_cp (bool): Activation checkpointing of the decoder blocks.
            Defaults to False.
        norm_cfg (dict): Norm layer. Defaults to LN with eps 1e-6.
        init_cfg (dict | list, optional): Unused by the MAE rules; kept for
            the mmengine interface.
    """

    def __init__(self,
                 num_patches: int = 196,
                 patch_size: int = 16,
                 in_chans: int = 3,
                 embed_dim: int = 768,
                 decoder_embed_dim: int = 512,
                 decoder_depth: int = 8,
                 decoder_num_heads: int = 16,
                 mlp_ratio: int = 4,
                 predict_feature_dim: Optional[int] = None,
                 keep_cls: bool = True,
                 drop_path_rate: float = 0.,
                 with_cp: bool = False,
                 norm_cfg: dict = dict(type='LN', eps=1e-6),
                 init_cfg: Optional[Union[List[dict], dict]] = None) -> None:
        super().__init__(
            num_patches=num_patches,
            patch_size=patch_size,
            in_chans=in_chans,
            embed_dim=embed_dim,
            decoder_embed_dim=decoder_embed_dim,
            decoder_depth=decoder_depth,
            decoder_num_heads=decoder_num_heads,
            mlp_ratio=mlp_ratio,
            norm_cfg=norm_cfg,
            predict_feature_dim=predict_feature_dim,
            init_cfg=init_cfg)
        if drop_path_rate > 0:
            dpr = np.linspace(0, drop_path_rate, decoder_depth)
            self.decoder_blocks = nn.ModuleList([
                TransformerEncoderLayer(
                    decoder_embed_dim,
                    decoder_num_heads,
                    int(mlp_ratio * decoder_embed_dim),
                    drop_path_rate=float(dpr[i]),
                    qkv_bias=True,
                    norm_cfg=norm_cfg) for i in range(decoder_depth)
            ])
        self.keep_cls = keep_cls
        self.with_cp = with_cp
        self.out_dims = self.decoder_pred.out_features

    def init_weights(self) -> None:
        """Initialise with the MAE rules."""
        self.reset_parameters()
        self._is_init = True

    def reset_parameters(self) -> None:
        """(Re-)initialise every parameter with the MAE rules."""
        init_linear_and_norm_(self)
        side = int(self.num_patches**.5)
        self.decoder_pos_embed.data.copy_(
            build_mae_sincos_pos_embed((side, side),
                                       self.decoder_pos_embed.shape[-1]))
        torch.nn.init.normal_(self.mask_token, std=.02)

    def forward(self, x: torch.Tensor,
                ids_restore: torch.Tensor) -> torch.Tensor:
        """Decode visible tokens plus mask tokens.

        Args:
            x (torch.Tensor): ``(B, 1 + len_keep, C)`` encoder output.
            ids_restore (torch.Tensor): ``(B, N)`` from the mask.

        Returns:
            torch.Tensor: ``(B, 1 + N, C_out)`` if ``keep_cls`` else
            ``(B, N, C_out)``.
        """
        x = self.decoder_embed(x)
        B, _, C = x.shape
        mask_tokens = self.mask_token.expand(
            B, ids_restore.shape[1] + 1 - x.shape[1], -1)
        x_ = torch.cat([x[:, 1:, :], mask_tokens], dim=1)
        x_ = torch.gather(x_, 1, ids_restore.unsqueeze(-1).expand(-1, -1, C))
        x = torch.cat([x[:, :1, :], x_], dim=1) + self.decoder_pos_embed
        for blk in self.decoder_blocks:
            if self.with_cp and self.training and x.requires_grad:
                x = cp.checkpoint(blk, x, use_reentrant=False)
            else:
                x = blk(x)
        x = self.decoder_pred(self.decoder_norm(x))
        return x if self.keep_cls else x[:, 1:, :]
