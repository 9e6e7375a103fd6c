# Copyright (c) mkd_mm contributors. All rights reserved.
"""Convert an official dBOT / DMAE / MAE release to the mmpretrain layout.

The official releases store timm-style keys (``patch_embed.proj``,
``blocks.{i}.norm1``, ``attn.qkv``, ``mlp.fc1``, ``norm``) under ``'model'``,
plus parts a downstream encoder does not use (the decoder, ``mask_token``,
dBOT's ``decoder_predp``, DMAE's ``aligned_feature_projection_heads``). The
output is ``{'state_dict': {'backbone.*': ...}, 'meta': {...}}``, which
mmpretrain (``init_cfg=dict(type='Pretrained', prefix='backbone.')``) and
every mkd_mm downstream backbone read. A report lists every dropped key.

Examples:
    python tools/model_converters/official_to_mmpretrain.py \\
        84.5_dbot_base_pre.pth dbot_vit-base-p16_mmpretrain.pth
    # a fine-tuned release, keeping fc_norm (ln2) and the head (head.fc):
    python tools/model_converters/official_to_mmpretrain.py \\
        84.5_dbot_base_finetune.pth ft.pth --with-head
    # keep the MAE decoder as MAEPretrainDecoder weights (neck.*):
    python tools/model_converters/official_to_mmpretrain.py \\
        mae_visualize_vit_large.pth mae_l_full.pth --with-decoder
"""
import argparse
import os
import os.path as osp
import sys
from typing import List, Optional

import torch

from mkd_mm.utils.checkpoint_io import load_checkpoint_file
from mkd_mm.utils.key_mapping import (count_layers, detect_layout,
                                      format_report, official_to_mmpretrain,
                                      unwrap_state_dict)


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('src', help='official checkpoint (.pth)')
    parser.add_argument('dst', help='output file')
    parser.add_argument(
        '--with-decoder',
        action='store_true',
        help='convert the MAE decoder to MAEPretrainDecoder names (neck.*)')
    parser.add_argument(
        '--with-head',
        action='store_true',
        help='convert a fine-tuned classifier head to head.fc.*')
    parser.add_argument(
        '--allow-unsafe',
        action='store_true',
        help='fully unpickle a TRUSTED file that holds objects outside the '
        'safe-load allow-list (can execute code)')
    return parser.parse_args(argv)


def convert(src: str,
            dst: str,
            with_decoder: bool = False,
            with_head: bool = False,
            allow_unsafe: bool = False) -> dict:
    """Convert ``src`` and write ``dst``.

    Args:
        src (str): Official checkpoint.
        dst (str): Output path.
        with_decoder (bool): Keep the decoder (``neck.*``). Defaults to False.
        with_head (bool): Keep a classifier head (``head.fc.*``).
            Defaults to False.
        allow_unsafe (bool): Opt in to full unpickling. Defaults to False.

    Returns:
        dict: ``{'num_converted', 'num_layers', 'dropped'}``.

    Raises:
        ValueError: If ``src`` is not an official (timm-layout) ViT.
    """
    checkpoint = load_checkpoint_file(src, allow_unsafe=allow_unsafe)
    state_dict, container = unwrap_state_dict(checkpoint)
    layout = detect_layout(state_dict)
    if layout != 'official':
        raise ValueError(
            f'{src}: not an official (timm-layout) ViT checkpoint (detected '
            f'layout: {layout}; looked under {container or "top level"}). '
            'mkd_mm / mmpretrain checkpoints need no conversion: use '
            'tools/model_converters/extract_backbone.py to strip them.')
    converted, dropped = official_to_mmpretrain(
        state_dict,
        prefix='backbone.',
        with_decoder=with_decoder,
        with_head=with_head)
    num_layers = count_layers(converted, r'^backbone\.layers\.(\d+)\.')
    meta = dict(
        converted_from=osp.basename(src),
        converter='official_to_mmpretrain',
        num_layers=num_layers)
    if osp.dirname(dst):
        os.makedirs(osp.dirname(dst), exist_ok=True)
    torch.save(dict(state_dict=converted, meta=meta), dst)
    print(
        format_report(
            f'{src} -> {dst}: {len(converted)} tensors converted '
            f'({num_layers} blocks).', {
                f'dropped ({k})': v
                for k, v in dropped.items()
            }))
    return dict(
        num_converted=len(converted), num_layers=num_layers, dropped=dropped)


def main(argv: Optional[List[str]] = None) -> int:
    """Entry point."""
    args = parse_args(argv)
    try:
        convert(args.src, args.dst, args.with_decoder, args.with_head,
                args.allow_unsafe)
    except (ValueError, TypeError, FileNotFoundError, RuntimeError) as e:
        print(f'error: {e}', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
