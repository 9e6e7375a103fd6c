# Copyright (c) mkd_mm contributors. All rights reserved.
import copy
from typing import Union

import torch
import torch.nn as nn
from mmpretrain.models import BEiTPretrainViT
from mmpretrain.registry import MODELS

#: ViT-H/14 (not in mmpretrain's ``BEiTViT.arch_zoo``)
_HUGE = dict(
    embed_dims=1280, num_layers=32, num_heads=16, feedforward_channels=5120)


@MODELS.register_module()
class MKDBEiTViT(BEiTPretrainViT):
    """BEiT-style student of the dBOT data-richer (CLIP) recipe.

    The student of `Exploring Target Representations for Masked Autoencoders
    <https://arxiv.org/abs/2209.03917>`_, Sec. 6.2 ("dBOT⌘"), as in the
    official ``beit`` branch (``modeling_pretrain.py``): no asymmetric
    encoder-decoder; all ``N`` patch tokens enter the encoder, and the masked
    ones are replaced by a learnable ``mask_token`` before the blocks (see
    :meth:`BEiTPretrainViT.forward`). Shared relative position bias, no
    absolute position embedding, layer scale 0.1 and a final LayerNorm are
    the defaults of the recipe.

    It differs from :class:`BEiTPretrainViT` only in the initialisation,
    which follows the official code instead of mmengine's ``TruncNormal``
    (whose truncation bounds are absolute, ±2, i.e. no truncation at std
    0.02):

    - every ``nn.Linear`` and ``nn.Conv2d`` weight, ``cls_token``,
      ``mask_token`` (and ``pos_embed`` if used) ~ trunc_normal(0,
      ``init_std``) **truncated at ±1 sigma** (``a=-std, b=std``); biases 0;
      LayerNorm 1/0;
    - the relative position bias table and the q/v biases stay 0, the layer
      scales ``layer_scale_init_value``;
    - then BEiT's rescale: ``attn.proj`` and ``ffn`` fc2 weights of block
      ``i`` (1-based) are divided by ``sqrt(2 i)``.

    ``arch`` additionally accepts ``'h'``/``'huge'`` (ViT-H: 1280-d, 32
    blocks, 16 heads).

    Args:
        arch (str | dict): Architecture. Defaults to 'base'.
        init_std (float): Std (and truncation bound) of the
            initialisation. Defaults to 0.02.
        use_abs_pos_emb (bool): Absolute position embedding. Defaults to
            False (the recipe).
        use_shared_rel_pos_bias (bool): Relative position bias shared by all
            blocks. Defaults to True (the recipe).
        layer_scale_init_value (float): Initial layer scale. Defaults to 0.1
            (the recipe, also for L and H).
        **kwargs: Other arguments of :class:`BEiTPretrainViT` (``img_size``,
            ``patch_size``, ``drop_path_rate``, ...).
    """

    def __init__(self,
                 arch: Union[str, dict] = 'base',
                 init_std: float = 0.02,
                 use_abs_pos_emb: bool = False,
                 use_shared_rel_pos_bias: bool = True,
                 layer_scale_init_value: float = 0.1,
                 **kwargs) -> None:
        if isinstance(arch, str) and arch.lower() in ('h', 'huge'):
            arch = copy.deepcopy(_HUGE)
        super().__init__(
            arch=arch,
            use_abs_pos_emb=use_abs_pos_emb,
            use_shared_rel_pos_bias=use_shared_rel_pos_bias,
            layer_scale_init_value=layer_scale_init_value,
            **kwargs)
        self.init_std = init_std
        self.layer_scale_init_value = layer_scale_init_value

    @property
    def num_patches(self) -> int:
        """Number of patches of the input grid."""
        return self.patch_resolution[0] * self.patch_resolution[1]

    def init_weights(self) -> None:
        """Official BEiT initialisation, or a pre-trained checkpoint."""
        if (isinstance(self.init_cfg, dict)
                and self.init_cfg.get('type') == 'Pretrained'):
            super().init_weights()
            return
        self.reset_parameters()
        self._is_init = True

    def _trunc_normal(self, tensor: torch.Tensor) -> None:
        std = self.init_std
        nn.init.trunc_normal_(tensor, mean=0., std=std, a=-std, b=std)

    @torch.no_grad()
    def reset_parameters(self) -> None:
        """(Re-)initialise every parameter with the official rules."""
        if self.pos_embed is not None:
            self._trunc_normal(self.pos_embed)
        self._trunc_normal(self.cls_token)
        self._trunc_normal(self.mask_token)
        for m in self.modules():
            if isinstance(m, (nn.Linear, nn.Conv2d)):
                self._trunc_normal(m.weight)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.LayerNorm):
                if m.weight is not None:
                    nn.init.ones_(m.weight)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
        if self.rel_pos_bias is not None:
            nn.init.zeros_(self.rel_pos_bias.relative_position_bias_table)
        for layer in self.layers:
            for name in ('q_bias', 'v_bias', 'relative_position_bias_table'):
                param = getattr(layer.attn, name, None)
                if isinstance(param, nn.Parameter):
                    nn.init.zeros_(param)
            for gamma in (layer.gamma_1, layer.gamma_2):
                if gamma is not None:
                    gamma.fill_(self.layer_scale_init_value)
        self.rescale_init_weight()
