# Copyright (c) mkd_mm contributors. All rights reserved.
"""Convert an official MAE checkpoint (a DMAE teacher) to mmpretrain format.

Handles the three official MAE releases (facebookresearch/mae):

- ``mae_pretrain_vit_{base,large,huge}.pth``: encoder only;
- ``mae_pretrain_vit_*_full.pth`` and ``mae_visualize_vit_*.pth`` (the file
  the official DMAE code loads as its teacher): encoder + decoder +
  ``mask_token``.

The output is ``{'state_dict': {'backbone.*': ..., ['neck.*': ...]},
'meta': {...}}``: the encoder in mmpretrain ``VisionTransformer`` /
``MAEViT`` names, and the decoder (if the file has one and ``--no-decoder``
is not given) in ``MAEPretrainDecoder`` names. The key mapping is the shared
one of :mod:`mkd_mm.utils.key_mapping` (also used by the generic
``official_to_mmpretrain.py``); this tool adds MAE-specific checks: it
detects the decoder, infers the ViT size, prints the ``arch`` to put in
``model.teacher.arch``, and re-loads the result strictly into a
:class:`TeacherViT` (and ``MAEPretrainDecoder``) of that size.

Converting is optional for DMAE: ``TeacherViT`` reads the official files
directly. It is useful to store a teacher in the mmpretrain layout or to
initialise an mmpretrain ``MAE`` model from the official weights.

Example:
    python tools/model_converters/mae_official_to_mmpretrain.py \\
        checkpoints/mae_visualize_vit_large.pth \\
        checkpoints/mae_visualize_vit_large_mmpretrain.pth
"""
import argparse
import os
import os.path as osp
import sys
from typing import Dict, List, Optional

import torch

from mkd_mm.utils.checkpoint_io import load_checkpoint_file
from mkd_mm.utils.key_mapping import (detect_layout, official_to_mmpretrain,
                                      unwrap_state_dict)


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(
        description='Convert an official MAE checkpoint to mmpretrain format.')
    parser.add_argument('src', help='official MAE checkpoint (.pth)')
    parser.add_argument('dst', help='output file (mmpretrain format)')
    parser.add_argument(
        '--no-decoder',
        action='store_true',
        help='drop the decoder of _full / visualize files (encoder only)')
    parser.add_argument(
        '--no-verify',
        action='store_true',
        help='skip re-loading the result into a TeacherViT (saves memory)')
    parser.add_argument(
        '--allow-unsafe',
        action='store_true',
        help='fully unpickle a TRUSTED file that holds objects outside the '
        'safe-load allow-list (can execute code)')
    return parser.parse_args(argv)


def infer_arch(state_dict: Dict[str, torch.Tensor]) -> dict:
    """ViT size of an official encoder state dict.

    Args:
        state_dict (dict): Official (timm) keys.

    Returns:
        dict: ``embed_dims``, ``num_layers``, ``feedforward_channels``,
        ``num_heads`` (from mmpretrain's arch zoo when the size is a known
        one, else ``embed_dims // 64``) and ``name`` (the arch-zoo name or
        None).
    """
    from mmpretrain.models import VisionTransformer
    dims = state_dict['patch_embed.proj.weight'].shape[0]
    depth = 1 + max(
        int(k.split('.')[1]) for k in state_dict if k.startswith('blocks.'))
    ffn = state_dict['blocks.0.mlp.fc1.weight'].shape[0]
    arch = dict(
        embed_dims=dims,
        num_layers=depth,
        num_heads=max(1, dims // 64),
        feedforward_channels=ffn,
        name=None)
    for name in ('b', 'l', 'h', 'deit-s', 'deit-t'):
        zoo = VisionTransformer.arch_zoo[name]
        if (zoo['embed_dims'], zoo['num_layers'],
                zoo['feedforward_channels']) == (dims, depth, ffn):
            arch.update(num_heads=zoo['num_heads'], name=name)
            break
    return arch


def _verify(dst: str, arch: dict, has_neck: bool,
            state_dict: Dict[str, torch.Tensor]) -> None:
    """Re-load the converted file strictly."""
    import mkd_mm  # noqa: F401  (registers TeacherViT)
    from mmpretrain.registry import MODELS

    from mkd_mm.models.utils.teacher_loading import load_teacher_weights
    arch_cfg = {k: v for k, v in arch.items() if k != 'name'}
    side = int(round((state_dict['pos_embed'].shape[1] - 1)**.5))
    patch = state_dict['patch_embed.proj.weight'].shape[-1]
    teacher = MODELS.build(
        dict(
            type='TeacherViT',
            arch=arch_cfg,
            img_size=side * patch,
            patch_size=patch,
            final_norm='norm.weight' in state_dict))
    print(load_teacher_weights(teacher, dst))
    if has_neck:
        ckpt = load_checkpoint_file(dst)
        neck_sd = {
            k[len('neck.'):]: v
            for k, v in ckpt['state_dict'].items() if k.startswith('neck.')
        }
        dec_dims = neck_sd['decoder_embed.weight'].shape[0]
        dec_depth = 1 + max(
            int(k.split('.')[1])
            for k in neck_sd if k.startswith('decoder_blocks.'))
        neck = MODELS.build(
            dict(
                type='MAEPretrainDecoder',
                num_patches=neck_sd['decoder_pos_embed'].shape[1] - 1,
                patch_size=patch,
                embed_dim=arch['embed_dims'],
                decoder_embed_dim=dec_dims,
                decoder_depth=dec_depth,
                decoder_num_heads=16 if dec_dims % 16 == 0 else 1,
                mlp_ratio=neck_sd['decoder_blocks.0.ffn.layers.0.0.weight'].
                shape[0] / dec_dims,
                norm_cfg=dict(type='LN', eps=1e-6)))
        neck.load_state_dict(neck_sd, strict=True)
        print(f'decoder: {dec_depth} blocks, {dec_dims}-d, loads strictly '
              'into MAEPretrainDecoder')


def convert(src: str,
            dst: str,
            with_decoder: bool = True,
            verify: bool = True,
            allow_unsafe: bool = False) -> dict:
    """Convert ``src`` (official MAE) and write ``dst`` (mmpretrain).

    Args:
        src (str): Official checkpoint.
        dst (str): Output path.
        with_decoder (bool): Convert the decoder if the file has one.
            Defaults to True.
        verify (bool): Re-load the output strictly. Defaults to True.
        allow_unsafe (bool): Opt in to full unpickling. Defaults to False.

    Returns:
        dict: ``arch`` (inferred size), ``has_decoder`` and ``dropped``.

    Raises:
        ValueError: If ``src`` is not an official MAE/timm ViT.
    """
    ckpt = load_checkpoint_file(src, allow_unsafe=allow_unsafe)
    state_dict, container = unwrap_state_dict(ckpt)
    layout = detect_layout(state_dict)
    if layout != 'official' or 'patch_embed.proj.weight' not in state_dict:
        raise ValueError(
            f'{src}: not an official MAE (timm-layout) checkpoint (detected '
            f'layout: {layout}, container: {container or "top level"}); '
            'mmpretrain/mkd_mm files need no conversion.')
    has_decoder = any(k.startswith('decoder_') for k in state_dict)
    converted, dropped = official_to_mmpretrain(
        state_dict,
        prefix='backbone.',
        with_decoder=with_decoder and has_decoder)
    arch = infer_arch(state_dict)
    meta = dict(
        converted_from=osp.basename(src),
        converter='mae_official_to_mmpretrain',
        arch=arch)
    if osp.dirname(dst):
        os.makedirs(osp.dirname(dst), exist_ok=True)
    torch.save(dict(state_dict=converted, meta=meta), dst)
    name = repr(arch['name']) if arch['name'] else (
        '{' + ', '.join(f"'{k}': {v}"
                        for k, v in arch.items() if k != 'name') + '}')
    if not has_decoder:
        decoder = 'none in the file'
    elif with_decoder:
        decoder = 'converted to neck.*'
    else:
        decoder = 'dropped'
    print(f'{src} -> {dst}: {len(converted)} tensors; ViT with '
          f'{arch["num_layers"]} blocks, width {arch["embed_dims"]} '
          f'(model.teacher.arch={name}); decoder: {decoder}')
    for category, keys in dropped.items():
        print(f'  dropped ({category}): {len(keys)} keys, e.g. {keys[:3]}')
    if verify:
        _verify(dst, arch, with_decoder and has_decoder, state_dict)
    return dict(arch=arch, has_decoder=has_decoder, dropped=dropped)


def main(argv: Optional[List[str]] = None) -> int:
    """Entry point."""
    args = parse_args(argv)
    try:
        convert(args.src, args.dst, not args.no_decoder, not args.no_verify,
                args.allow_unsafe)
    except (ValueError, KeyError, TypeError, FileNotFoundError,
            RuntimeError) as e:
        print(f'error: {e}', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
