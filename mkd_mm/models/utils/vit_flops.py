# Copyright (c) mkd_mm contributors. All rights reserved.
"""Analytic multiply-accumulate (MAC) counts of ViT encoders and decoders.

Only the matrix products are counted (patch-embedding convolution, linear
layers and the two attention products); LayerNorm, softmax, GELU and
additions are a fraction of a percent for ViTs and are left out, as
``torch.utils.flop_counter.FlopCounterMode`` and fvcore do. FLOPs in the
``FlopCounterMode`` convention are ``2 * MACs``.

The numbers compare the DMAE teacher as we run it (``TeacherViT`` stopping
after the deepest aligned block) with the official code, which runs the
whole MAE teacher (all blocks, final norm and the 8-block decoder) on the
same visible patches every step.
"""
from typing import Dict, Optional, Sequence

import torch.nn as nn


def vit_block_macs(num_tokens: int,
                   embed_dims: int,
                   feedforward_channels: Optional[int] = None) -> int:
    """MACs of one pre-norm transformer block.

    ``qkv`` ``3 T D^2`` + ``q k^T`` ``T^2 D`` + ``attn v`` ``T^2 D`` +
    ``proj`` ``T D^2`` + FFN ``2 T D F``.

    Args:
        num_tokens (int): Tokens ``T`` (class token included).
        embed_dims (int): Width ``D``.
        feedforward_channels (int, optional): FFN hidden width ``F``.
            Defaults to None (``4 * D``).

    Returns:
        int: Multiply-accumulates.
    """
    t, d = num_tokens, embed_dims
    f = 4 * d if feedforward_channels is None else feedforward_channels
    return 4 * t * d * d + 2 * t * t * d + 2 * t * d * f


def patch_embed_macs(num_patches: int,
                     embed_dims: int,
                     patch_size: int,
                     in_channels: int = 3) -> int:
    """MACs of the patch-embedding convolution (all patches).

    Args:
        num_patches (int): Patches per image ``N``.
        embed_dims (int): Width ``D``.
        patch_size (int): Patch size ``p``.
        in_channels (int): Image channels. Defaults to 3.

    Returns:
        int: Multiply-accumulates.
    """
    return num_patches * in_channels * patch_size * patch_size * embed_dims


def vit_encoder_macs(num_patches: int,
                     num_tokens: int,
                     embed_dims: int,
                     num_blocks: int,
                     patch_size: int,
                     feedforward_channels: Optional[int] = None,
                     in_channels: int = 3) -> int:
    """MACs of a ViT encoder run on ``num_tokens`` tokens.

    The patch embedding is computed for all ``num_patches`` patches (before
    the visible ones are gathered, as in MAE and in our code).

    Args:
        num_patches (int): Patches per image.
        num_tokens (int): Tokens entering the blocks (class token included),
            e.g. ``1 + len_keep`` for a masked encoder.
        embed_dims (int): Width.
        num_blocks (int): Blocks run.
        patch_size (int): Patch size.
        feedforward_channels (int, optional): FFN width. Defaults to 4 x.
        in_channels (int): Image channels. Defaults to 3.

    Returns:
        int: Multiply-accumulates.
    """
    return (
        patch_embed_macs(num_patches, embed_dims, patch_size, in_channels) +
        num_blocks *
        vit_block_macs(num_tokens, embed_dims, feedforward_channels))


def mae_decoder_macs(
        num_patches: int,
        len_keep: int,
        embed_dims: int,
        decoder_dims: int,
        decoder_depth: int,
        out_channels: int,
        decoder_feedforward_channels: Optional[int] = None) -> int:
    """MACs of MAE's asymmetric decoder.

    ``decoder_embed`` on the ``1 + len_keep`` encoded tokens, then
    ``decoder_depth`` blocks and ``decoder_pred`` on all ``1 + N`` tokens.

    Args:
        num_patches (int): Patches per image ``N``.
        len_keep (int): Visible patches.
        embed_dims (int): Encoder width.
        decoder_dims (int): Decoder width.
        decoder_depth (int): Decoder blocks.
        out_channels (int): Output width (``p * p * 3`` for pixels).
        decoder_feedforward_channels (int, optional): Defaults to 4 x.

    Returns:
        int: Multiply-accumulates.
    """
    n = num_patches + 1
    return ((1 + len_keep) * embed_dims * decoder_dims + decoder_depth *
            vit_block_macs(n, decoder_dims, decoder_feedforward_channels) +
            n * decoder_dims * out_channels)


def dmae_teacher_macs(
        embed_dims: int = 1024,
        arch_depth: int = 24,
        run_depth: int = 18,
        img_size: int = 224,
        patch_size: int = 16,
        mask_ratio: float = 0.75,
        decoder_dims: int = 512,
        decoder_depth: int = 8,
        feedforward_channels: Optional[int] = None) -> Dict[str, float]:
    """Teacher cost per image: partial teacher vs the official code.

    Defaults: the MAE ViT-L/16 teacher of the paper at 224 px, 75% masking
    (49 visible patches, 50 tokens with the class token), aligned at its
    block index 17, so 18 blocks are run.

    Args:
        embed_dims (int): Teacher width. Defaults to 1024.
        arch_depth (int): Blocks of the full teacher. Defaults to 24.
        run_depth (int): Blocks we run (deepest aligned index + 1).
            Defaults to 18.
        img_size (int): Image size. Defaults to 224.
        patch_size (int): Patch size. Defaults to 16.
        mask_ratio (float): Mask ratio. Defaults to 0.75.
        decoder_dims (int): Width of the official teacher's decoder.
            Defaults to 512.
        decoder_depth (int): Blocks of the official teacher's decoder.
            Defaults to 8.
        feedforward_channels (int, optional): Teacher FFN width. Defaults to
            ``4 * embed_dims``.

    Returns:
        Dict[str, float]: MACs of ``'partial'`` (ours), ``'official'`` (all
        blocks + decoder on the visible tokens), ``'full_image'`` (all blocks
        on all ``1 + N`` tokens, a conventional feature-distillation
        teacher), and the fractions ``'saving_vs_official'`` and
        ``'saving_vs_full_image'``.
    """
    num_patches = (img_size // patch_size)**2
    len_keep = int(num_patches * (1 - mask_ratio))
    tokens = 1 + len_keep
    partial = vit_encoder_macs(num_patches, tokens, embed_dims, run_depth,
                               patch_size, feedforward_channels)
    official = vit_encoder_macs(
        num_patches, tokens, embed_dims, arch_depth,
        patch_size, feedforward_channels) + mae_decoder_macs(
            num_patches, len_keep, embed_dims, decoder_dims, decoder_depth,
            patch_size * patch_size * 3)
    full_image = vit_encoder_macs(num_patches, num_patches + 1, embed_dims,
                                  arch_depth, patch_size, feedforward_channels)
    return dict(
        partial=float(partial),
        official=float(official),
        full_image=float(full_image),
        saving_vs_official=1 - partial / official,
        saving_vs_full_image=1 - partial / full_image)


def _first_linear(module: nn.Module) -> nn.Linear:
    return next(m for m in module.modules() if isinstance(m, nn.Linear))


def _blocks_macs(blocks: Sequence[nn.Module], num_tokens: int) -> int:
    """MACs of mmpretrain ``TransformerEncoderLayer`` blocks on ``T``
    tokens (widths read from the modules)."""
    total = 0
    for blk in blocks:
        total += vit_block_macs(num_tokens, blk.attn.embed_dims,
                                _first_linear(blk.ffn).out_features)
    return total


def _patch_embed_macs_of(vit: nn.Module) -> int:
    conv = vit.patch_embed.projection
    k = conv.kernel_size[0] * conv.kernel_size[1]
    return vit.num_patches * conv.in_channels * k * conv.out_channels


def _linears_macs(module: nn.Module, num_tokens: int) -> int:
    return num_tokens * sum(m.in_features * m.out_features
                            for m in module.modules()
                            if isinstance(m, nn.Linear))


def pretrain_step_macs(model: nn.Module) -> Dict[str, int]:
    """Per-image MACs of one training step of MAE, DBOT or DMAE.

    Read from a built model (widths, depths, mask ratio):

    - student encoder: patch embedding on all ``N`` patches, blocks on the
      ``1 + len_keep`` visible tokens;
    - student decoder: ``decoder_embed`` on ``1 + len_keep`` tokens, blocks
      and ``decoder_pred`` on all ``1 + N`` tokens;
    - DMAE projectors: on the ``1 + len_keep`` tokens of the aligned block;
    - teacher, forward only: all of its ``depth`` blocks on all
      ``1 + N`` tokens (dBOT), or its blocks up to the deepest aligned one
      on the ``1 + len_keep`` visible tokens (DMAE, ``teacher_layers``).

    The backward pass costs two products per forward product (input and
    weight gradients), except the patch embedding whose input (the image)
    needs no gradient. Recomputation by activation checkpointing is not
    counted (these are model MACs).

    Args:
        model (nn.Module): ``MAE`` (mmpretrain), :class:`DBOT` or
            :class:`DMAE` with :class:`MKDViT` / :class:`DBOTDecoder` /
            :class:`TeacherViT` parts.

    Returns:
        Dict[str, int]: ``'encoder'``, ``'decoder'``, ``'projector'``,
        ``'teacher'`` (forward MACs), ``'student_forward'`` (their student
        sum), ``'student_backward'`` and ``'step'`` (student forward +
        backward + teacher forward).

    Raises:
        ValueError: If a part is not a ViT of the supported kind.
    """
    bb, neck = model.backbone, model.neck
    for name, part, attr in (('backbone', bb, 'mask_ratio'),
                             ('neck', neck, 'decoder_blocks')):
        if not hasattr(part, attr):
            raise ValueError(f'pretrain_step_macs: `model.{name}` '
                             f'({type(part).__name__}) is not an MAE-style '
                             'encoder/decoder.')
    n = bb.num_patches
    keep = 1 + int(n * (1 - bb.mask_ratio))
    embed = _patch_embed_macs_of(bb)
    encoder = embed + _blocks_macs(bb.layers, keep)
    dec_dims = neck.decoder_embed.out_features
    decoder = (keep * neck.decoder_embed.in_features * dec_dims +
               _blocks_macs(neck.decoder_blocks, n + 1) +
               (n + 1) * dec_dims * neck.decoder_pred.out_features)
    projector = sum(
        _linears_macs(p, keep) for p in getattr(model, 'projectors', []))
    teacher = 0
    if getattr(model, 'teacher', None) is not None:
        t = model.teacher
        if not hasattr(t, 'depth') or not hasattr(t, 'patch_embed'):
            raise ValueError(f'pretrain_step_macs: the teacher '
                             f'({type(t).__name__}) is not a TeacherViT.')
        if hasattr(model, 'teacher_layers'):  # DMAE: visible tokens
            blocks = t.layers[:max(model.teacher_layers) + 1]
            t_tokens = keep
        else:  # dBOT: the intact image
            blocks, t_tokens = t.layers, t.num_patches + 1
        teacher = _patch_embed_macs_of(t) + _blocks_macs(blocks, t_tokens)
    student = encoder + decoder + projector
    backward = 2 * student - embed
    return dict(
        encoder=encoder,
        decoder=decoder,
        projector=projector,
        teacher=teacher,
        student_forward=student,
        student_backward=backward,
        step=student + backward + teacher)
