# Copyright (c) mkd_mm contributors. All rights reserved.
import torch
import torch.nn as nn

from .pos_embed import build_mae_sincos_pos_embed


def init_linear_and_norm_(module: nn.Module) -> None:
    """MAE's generic initialisation, applied to every submodule.

    Every ``nn.Linear`` gets ``xavier_uniform`` weights and zero bias; every
    ``nn.LayerNorm`` weight 1 and bias 0 (MAE ``models_mae.py``
    ``_init_weights``; the dBOT and DMAE code reuse it). Unlike mmpretrain's
    ``TransformerEncoderLayer.init_weights``, FFN biases are exactly zero.

    Args:
        module (nn.Module): Module to initialise in place.
    """
    for m in module.modules():
        if isinstance(m, nn.Linear):
            nn.init.xavier_uniform_(m.weight)
            if m.bias is not None:
                nn.init.constant_(m.bias, 0)
        elif isinstance(m, nn.LayerNorm):
            if m.weight is not None:
                nn.init.constant_(m.weight, 1.0)
            if m.bias is not None:
                nn.init.constant_(m.bias, 0)


def init_mae_vit_(vit: nn.Module, zero_patch_bias: bool = False) -> None:
    """Initialise an mmpretrain-style ViT encoder with the MAE rules.

    :func:`init_linear_and_norm_`, then the fixed sin-cos position embedding
    (MAE layout), xavier-uniform on the flattened patch projection and
    ``N(0, 0.02)`` for the class token (MAE ``models_mae.py``
    ``initialize_weights``, reused by dBOT and DMAE).

    The patch projection is a ``Conv2d``, which the official
    ``_init_weights`` does not visit: its bias keeps PyTorch's default
    initialisation (uniform in ``+-1/sqrt(3 p^2)``) when the model is built,
    and, when dBOT re-initialises the student at a breakpoint, the bias the
    student has trained so far. That is the default here: the bias is left
    as it is. ``zero_patch_bias=True`` zeroes it instead (mkd_mm's rule up
    to 0.1: tidier, and equivalent in practice since the bias is learnt in
    the first steps, but not the official numbers).

    Args:
        vit (nn.Module): A ``VisionTransformer`` (``pos_embed``,
            ``patch_embed.projection``, ``cls_token``, ``patch_resolution``,
            ``embed_dims``).
        zero_patch_bias (bool): Zero the patch projection bias. Defaults to
            False (official: untouched).
    """
    init_linear_and_norm_(vit)
    vit.pos_embed.data.copy_(
        build_mae_sincos_pos_embed(vit.patch_resolution, vit.embed_dims))
    proj = vit.patch_embed.projection
    nn.init.xavier_uniform_(proj.weight.data.view(proj.weight.shape[0], -1))
    if zero_patch_bias and proj.bias is not None:
        nn.init.zeros_(proj.bias)
    torch.nn.init.normal_(vit.cls_token, std=.02)
