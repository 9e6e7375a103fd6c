# Copyright (c) mkd_mm contributors. All rights reserved.
"""Plain ViT backbone for dense transfer (detection and segmentation).

One implementation serves mmdet and mmseg (each registers a thin subclass):
the pre-trained encoder keeps mmpretrain's parameter names, so an mkd_mm or
mmpretrain checkpoint loads without any renaming, and the layer-decay
constructor reads the same names in every library.
"""
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
import torch.nn as nn
import torch.utils.checkpoint as cp
from mmcv.cnn.bricks.transformer import FFN, PatchEmbed
from mmengine.model import BaseModule, ModuleList
from mmengine.model.weight_init import trunc_normal_
from mmpretrain.models.utils import (build_norm_layer, resize_pos_embed,
                                     to_2tuple)

from .rel_pos_attention import RelPosBiasAttention
from .vit_weight_loader import load_vit_weights

#: ViT sizes (same numbers as mmpretrain ``VisionTransformer.arch_zoo``).
ARCH_ZOO: Dict[str, Dict[str, int]] = {
    **dict.fromkeys(['b', 'base'],
                    dict(
                        embed_dims=768,
                        num_layers=12,
                        num_heads=12,
                        feedforward_channels=3072)),
    **dict.fromkeys(['l', 'large'],
                    dict(
                        embed_dims=1024,
                        num_layers=24,
                        num_heads=16,
                        feedforward_channels=4096)),
    **dict.fromkeys(['h', 'huge'],
                    dict(
                        embed_dims=1280,
                        num_layers=32,
                        num_heads=16,
                        feedforward_channels=5120)),
}

#: keys a transfer backbone creates that no pre-training checkpoint has
NEW_AT_TRANSFER = (
    r'\.relative_position_bias_table$',
    r'\.gamma1\.weight$',
    r'\.gamma2\.weight$',
)


class TransferEncoderLayer(BaseModule):
    """Pre-norm transformer block with optional rel-pos bias and layer scale.

    Parameter names follow mmpretrain's ``TransformerEncoderLayer``: ``ln1``,
    ``attn.qkv``, ``attn.proj``, ``ln2``, ``ffn.layers.0.0``,
    ``ffn.layers.1`` (plus ``attn.gamma1``, ``ffn.gamma2`` and
    ``attn.relative_position_bias_table`` when enabled).

    Args:
        embed_dims (int): Token width.
        num_heads (int): Attention heads.
        feedforward_channels (int): Hidden width of the MLP.
        layer_scale_init_value (float): Init value of the layer-scale gammas;
            0 disables them. Defaults to 0.
        rel_pos_grid (Sequence[int], optional): Grid of the relative position
            bias table; None disables it. Defaults to None.
        drop_rate (float): Dropout after attention projection and MLP.
            Defaults to 0.
        attn_drop_rate (float): Attention-weight dropout. Defaults to 0.
        drop_path_rate (float): Stochastic depth of this block.
            Defaults to 0.
        qkv_bias (bool): Bias in the qkv projection. Defaults to True.
        norm_cfg (dict): Norm layer config.
            Defaults to ``dict(type='LN', eps=1e-6)``.
        init_cfg (dict, optional): Initialization config. Defaults to None.
    """

    def __init__(self,
                 embed_dims: int,
                 num_heads: int,
                 feedforward_channels: int,
                 layer_scale_init_value: float = 0.,
                 rel_pos_grid: Optional[Sequence[int]] = None,
                 drop_rate: float = 0.,
                 attn_drop_rate: float = 0.,
                 drop_path_rate: float = 0.,
                 qkv_bias: bool = True,
                 norm_cfg: dict = dict(type='LN', eps=1e-6),
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.ln1 = build_norm_layer(norm_cfg, embed_dims)
        self.attn = RelPosBiasAttention(
            embed_dims=embed_dims,
            num_heads=num_heads,
            rel_pos_grid=rel_pos_grid,
            attn_drop=attn_drop_rate,
            proj_drop=drop_rate,
            dropout_layer=dict(type='DropPath', drop_prob=drop_path_rate),
            qkv_bias=qkv_bias,
            layer_scale_init_value=layer_scale_init_value)
        self.ln2 = build_norm_layer(norm_cfg, embed_dims)
        self.ffn = FFN(
            embed_dims=embed_dims,
            feedforward_channels=feedforward_channels,
            num_fcs=2,
            ffn_drop=drop_rate,
            dropout_layer=dict(type='DropPath', drop_prob=drop_path_rate),
            act_cfg=dict(type='GELU'),
            layer_scale_init_value=layer_scale_init_value)

    def forward(self, x: torch.Tensor, hw: Tuple[int, int]) -> torch.Tensor:
        """Run the block on tokens ``(B, N, C)`` of a patch grid ``hw``."""
        x = x + self.attn(self.ln1(x), hw)
        return self.ffn(self.ln2(x), identity=x)


class TransferViT(BaseModule):
    """Single-scale ViT that returns block outputs as feature maps.

    The ViTDet/BEiT-style transfer backbone of the dBOT detection and
    segmentation recipes: patch embedding, cls token, an absolute position
    embedding (learnable; loaded from the 14x14 pre-training grid, resized
    bicubically to the model grid at load time and again at forward time
    when the input grid differs), pre-norm blocks with optional per-block
    relative position bias (zero-initialised, trained from scratch) and
    layer scale, and taps at ``out_indices`` **without** a final LN, cls
    dropped, reshaped to ``(B, C, H/p, W/p)``.

    Pre-trained weights are loaded strictly by ``init_weights`` when
    ``init_cfg=dict(type='Pretrained', checkpoint=..., prefix='backbone.')``:
    mkd_mm / mmpretrain checkpoints (teacher, decoder, projection heads are
    dropped and reported), backbone-only files and official releases (timm
    names) are accepted; any unexpected key or shape mismatch raises, and
    only the relative position tables and layer-scale gammas may be missing.

    Args:
        arch (str | dict): ``'base'``, ``'large'``, ``'huge'`` or a dict with
            ``embed_dims``, ``num_layers``, ``num_heads``,
            ``feedforward_channels``. Defaults to ``'base'``.
        img_size (int | Sequence[int]): Input size the absolute position
            embedding is laid out for. Defaults to 224.
        patch_size (int): Patch size. Defaults to 16.
        in_channels (int): Input channels. Defaults to 3.
        out_indices (Sequence[int]): Blocks whose outputs are returned.
            Defaults to ``(3, 5, 7, 11)``.
        drop_rate (float): Dropout rate. Defaults to 0.
        attn_drop_rate (float): Attention dropout rate. Defaults to 0.
        drop_path_rate (float): Stochastic depth, linearly increasing over the
            blocks. Defaults to 0.
        qkv_bias (bool): Bias in qkv. Defaults to True.
        norm_cfg (dict): Norm config. Defaults to
            ``dict(type='LN', eps=1e-6)``.
        use_abs_pos_embed (bool): Use the (interpolated) absolute position
            embedding. Defaults to True.
        use_rel_pos_bias (bool): Add a per-block relative position bias.
            Defaults to False.
        rel_pos_grid (Sequence[int], optional): Largest patch grid indexed
            exactly by the relative position tables. Defaults to the grid of
            ``img_size``.
        layer_scale_init_value (float): Init value of the layer-scale gammas;
            0 disables layer scale. Defaults to 0.
        interpolate_mode (str): Position-embedding interpolation.
            Defaults to ``'bicubic'``.
        with_cp (bool): Activation checkpointing of every block in training.
            Defaults to False.
        frozen_stages (int): Freeze the patch embedding, position embedding,
            cls token and the first ``frozen_stages`` blocks; -1 freezes
            nothing. Defaults to -1.
        init_cfg (dict, optional): ``dict(type='Pretrained', checkpoint=...,
            prefix='backbone.', allow_unsafe=False)`` to load pre-trained
            weights. Defaults to None.
    """

    num_extra_tokens = 1

    def __init__(self,
                 arch: Union[str, dict] = 'base',
                 img_size: Union[int, Sequence[int]] = 224,
                 patch_size: int = 16,
                 in_channels: int = 3,
                 out_indices: Sequence[int] = (3, 5, 7, 11),
                 drop_rate: float = 0.,
                 attn_drop_rate: float = 0.,
                 drop_path_rate: float = 0.,
                 qkv_bias: bool = True,
                 norm_cfg: dict = dict(type='LN', eps=1e-6),
                 use_abs_pos_embed: bool = True,
                 use_rel_pos_bias: bool = False,
                 rel_pos_grid: Optional[Sequence[int]] = None,
                 layer_scale_init_value: float = 0.,
                 interpolate_mode: str = 'bicubic',
                 with_cp: bool = False,
                 frozen_stages: int = -1,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if isinstance(arch, str):
            if arch.lower() not in ARCH_ZOO:
                raise ValueError(f'Unknown arch {arch!r}; choose from '
                                 f'{sorted(set(ARCH_ZOO))} or pass a dict.')
            arch = ARCH_ZOO[arch.lower()]
        missing = {
            'embed_dims', 'num_layers', 'num_heads', 'feedforward_channels'
        } - set(arch)
        if missing:
            raise ValueError(f'arch dict lacks {sorted(missing)}.')
        self.arch_settings = dict(arch)
        self.embed_dims = arch['embed_dims']
        self.num_layers = arch['num_layers']
        self.img_size = to_2tuple(img_size)
        self.patch_size = patch_size

        self.patch_embed = PatchEmbed(
            in_channels=in_channels,
            input_size=self.img_size,
            embed_dims=self.embed_dims,
            conv_type='Conv2d',
            kernel_size=patch_size,
            stride=patch_size,
            bias=True)
        self.patch_resolution = tuple(self.patch_embed.init_out_size)
        num_patches = self.patch_resolution[0] * self.patch_resolution[1]

        self.cls_token = nn.Parameter(torch.zeros(1, 1, self.embed_dims))
        self.use_abs_pos_embed = use_abs_pos_embed
        self.interpolate_mode = interpolate_mode
        if use_abs_pos_embed:
            self.pos_embed = nn.Parameter(
                torch.zeros(1, num_patches + 1, self.embed_dims))
        else:
            self.pos_embed = None
        self.drop_after_pos = nn.Dropout(p=drop_rate)

        out_indices = [
            i + self.num_layers if i < 0 else i for i in out_indices
        ]
        for i in out_indices:
            if not 0 <= i < self.num_layers:
                raise ValueError(f'out_indices {list(out_indices)} out of '
                                 f'range for {self.num_layers} blocks.')
        self.out_indices = list(out_indices)

        self.use_rel_pos_bias = use_rel_pos_bias
        self.rel_pos_grid = tuple(rel_pos_grid or self.patch_resolution) \
            if use_rel_pos_bias else None
        dpr = np.linspace(0, drop_path_rate, self.num_layers)
        self.layers = ModuleList([
            TransferEncoderLayer(
                embed_dims=self.embed_dims,
                num_heads=arch['num_heads'],
                feedforward_channels=arch['feedforward_channels'],
                layer_scale_init_value=layer_scale_init_value,
                rel_pos_grid=self.rel_pos_grid,
                drop_rate=drop_rate,
                attn_drop_rate=attn_drop_rate,
                drop_path_rate=float(dpr[i]),
                qkv_bias=qkv_bias,
                norm_cfg=norm_cfg) for i in range(self.num_layers)
        ])
        self.with_cp = with_cp
        self.frozen_stages = frozen_stages
        self._freeze_stages()
        self.load_report: Optional[dict] = None

    # ------------------------------------------------------------------ init
    def _init_fresh(self) -> None:
        """BEiT/ViTDet init of everything (overwritten where pre-trained)."""
        for m in self.modules():
            if isinstance(m, nn.Linear):
                trunc_normal_(m.weight, std=.02)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.LayerNorm):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
        trunc_normal_(self.cls_token, std=.02)
        if self.pos_embed is not None:
            trunc_normal_(self.pos_embed, std=.02)
        # relative position tables stay at zero, gammas at their init value

    def init_weights(self) -> None:
        """Initialise fresh weights, then load the pre-trained encoder.

        With a ``Pretrained`` init_cfg the checkpoint is loaded by
        :func:`load_vit_weights` (strict, with a key report) instead of
        mmengine's non-strict ``PretrainedInit``.
        """
        cfg = self.init_cfg
        if isinstance(cfg, dict) and cfg.get('type') == 'Pretrained':
            checkpoint = cfg.get('checkpoint')
            if not checkpoint:
                raise ValueError(
                    f'{type(self).__name__}: init_cfg is Pretrained but no '
                    'checkpoint is set; pass --cfg-options '
                    'model.backbone.init_cfg.checkpoint=PATH (or set '
                    'init_cfg=None to train from scratch).')
            self._init_fresh()
            unused = () if self.use_abs_pos_embed else (r'^pos_embed$', )
            self.load_report = load_vit_weights(
                self,
                checkpoint,
                prefix=cfg.get('prefix', 'backbone.'),
                allowed_missing=NEW_AT_TRANSFER,
                # taps carry no final LN: the pre-trained one is unused
                unused_keys=(r'^ln1\.(weight|bias)$', ) + unused,
                allow_unsafe=cfg.get('allow_unsafe', False))
            self._is_init = True
            return
        super().init_weights()
        self._init_fresh()

    def _freeze_stages(self) -> None:
        if self.frozen_stages < 0:
            return
        self.patch_embed.eval()
        for p in self.patch_embed.parameters():
            p.requires_grad = False
        self.cls_token.requires_grad = False
        if self.pos_embed is not None:
            self.pos_embed.requires_grad = False
        for i in range(min(self.frozen_stages, self.num_layers)):
            self.layers[i].eval()
            for p in self.layers[i].parameters():
                p.requires_grad = False

    def train(self, mode: bool = True) -> 'TransferViT':
        """Set train mode, keeping frozen stages in eval mode."""
        super().train(mode)
        if mode:
            self._freeze_stages()
        return self

    # --------------------------------------------------------------- forward
    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        """Extract the tapped feature maps.

        Args:
            x (torch.Tensor): Images ``(B, 3, H, W)``, H and W multiples of
                the patch size.

        Returns:
            tuple[torch.Tensor]: One ``(B, C, H/p, W/p)`` map per
            ``out_indices`` entry.
        """
        B = x.shape[0]
        x, hw = self.patch_embed(x)
        hw = tuple(hw)
        x = torch.cat([self.cls_token.expand(B, -1, -1), x], dim=1)
        if self.pos_embed is not None:
            x = x + resize_pos_embed(
                self.pos_embed,
                self.patch_resolution,
                hw,
                mode=self.interpolate_mode,
                num_extra_tokens=self.num_extra_tokens)
        x = self.drop_after_pos(x)

        outs: List[torch.Tensor] = []
        for i, layer in enumerate(self.layers):
            if self.with_cp and self.training and torch.is_grad_enabled():
                x = cp.checkpoint(layer, x, hw, use_reentrant=False)
            else:
                x = layer(x, hw)
            if i in self.out_indices:
                patch = x[:, self.num_extra_tokens:]
                outs.append(
                    patch.transpose(1, 2).reshape(B, self.embed_dims, *hw))
        return tuple(outs)

    # ----------------------------------------------------------- layer decay
    def get_layer_depth(self,
                        param_name: str,
                        prefix: str = '') -> Tuple[int, int]:
        """Layer-decay depth of a parameter (mmpretrain convention).

        Args:
            param_name (str): Parameter name.
            prefix (str): Prefix of this backbone in ``param_name``.
                Defaults to ``''``.

        Returns:
            tuple[int, int]: ``(depth, num_layers + 2)``; patch embedding,
            cls token and position embedding are at 0, block ``i`` at
            ``i + 1``, anything else at ``num_layers + 1``.
        """
        from .layer_decay import get_vit_layer_depth
        return get_vit_layer_depth(param_name, self.num_layers, prefix)
