# Copyright (c) mkd_mm contributors. All rights reserved.
"""Export an mkd_mm / mmpretrain ViT encoder to official (timm) names.

The inverse of ``official_to_mmpretrain.py`` for the encoder: the output is
``{'model': {...}}`` with ``patch_embed.proj``, ``blocks.{i}.norm1``...,
``norm`` (and ``fc_norm`` if the source has mmpretrain's ``ln2``), which the
MAE / dBOT code bases and timm's ``VisionTransformer`` load. Everything that
is not part of the encoder is dropped and reported.

Example:
    python tools/model_converters/mmpretrain_to_official.py \\
        work_dirs/dbot_vitb/epoch_1600.pth dbot_vitb_timm.pth
"""
import argparse
import os
import os.path as osp
import sys
from typing import List, Optional

import torch

from mkd_mm.utils.checkpoint_io import load_checkpoint_file
from mkd_mm.utils.key_mapping import (format_report, mmpretrain_to_official,
                                      unwrap_state_dict)


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('src', help='mkd_mm / mmpretrain checkpoint')
    parser.add_argument('dst', help='output file')
    parser.add_argument('--prefix', default='backbone.')
    parser.add_argument('--allow-unsafe', action='store_true')
    return parser.parse_args(argv)


def export(src: str,
           dst: str,
           prefix: str = 'backbone.',
           allow_unsafe: bool = False) -> dict:
    """Write the official-layout encoder of ``src`` to ``dst``.

    Args:
        src (str): Checkpoint file.
        dst (str): Output path.
        prefix (str): Encoder prefix. Defaults to ``'backbone.'``.
        allow_unsafe (bool): Opt in to full unpickling. Defaults to False.

    Returns:
        dict: ``{'num_exported', 'dropped'}``.

    Raises:
        KeyError: If no encoder key was found.
    """
    checkpoint = load_checkpoint_file(src, allow_unsafe=allow_unsafe)
    state_dict, _ = unwrap_state_dict(checkpoint)
    official, dropped = mmpretrain_to_official(state_dict, prefix=prefix)
    if not official:
        raise KeyError(f'{src}: no {prefix!r} ViT encoder keys to export.')
    if osp.dirname(dst):
        os.makedirs(osp.dirname(dst), exist_ok=True)
    torch.save(dict(model=official), dst)
    print(
        format_report(f'{src} -> {dst}: {len(official)} tensors exported.', {
            f'dropped ({k})': v
            for k, v in dropped.items()
        }))
    return dict(num_exported=len(official), dropped=dropped)


def main(argv: Optional[List[str]] = None) -> int:
    """Entry point."""
    args = parse_args(argv)
    try:
        export(args.src, args.dst, args.prefix, args.allow_unsafe)
    except (KeyError, ValueError, TypeError, FileNotFoundError,
            RuntimeError) as e:
        print(
            f'error: {e.args[0] if isinstance(e, KeyError) else e}',
            file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
