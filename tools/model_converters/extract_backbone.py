# Copyright (c) mkd_mm contributors. All rights reserved.
"""Extract the student encoder of a pre-training checkpoint for transfer.

An mkd_mm pre-training checkpoint (``DBOT``/``DMAE``, mmengine format) holds
the student encoder (``backbone.*``) next to parts no downstream model uses:
the teacher (``teacher.*``), the decoder (``neck.*``), projection heads
(``projectors.*`` / ``align_*``), the data preprocessor, algorithm buffers
(``stage``), the optimizer and the message hub. This tool writes
``{'state_dict': {'backbone.*': ...}, 'meta': {...}}`` (the ``backbone.``
prefix is kept, so mmpretrain / mmdet / mmseg configs use
``init_cfg=dict(type='Pretrained', checkpoint=OUT, prefix='backbone.')``)
and prints a report of every dropped key. An official release (timm layout)
is converted instead (see ``official_to_mmpretrain.py``).

Examples:
    python tools/model_converters/extract_backbone.py \\
        work_dirs/dbot_vitb/epoch_1600.pth dbot_vitb_backbone.pth
"""
import argparse
import os
import os.path as osp
import sys
from typing import List, Optional

import torch

from mkd_mm.utils.checkpoint_io import load_checkpoint_file
from mkd_mm.utils.key_mapping import (count_layers, detect_layout,
                                      extract_backbone, format_report,
                                      official_to_mmpretrain,
                                      unwrap_state_dict)


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('src', help='pre-training checkpoint')
    parser.add_argument('dst', help='output file (backbone only)')
    parser.add_argument(
        '--prefix',
        default='backbone.',
        help='prefix of the student encoder (default: backbone.)')
    parser.add_argument(
        '--allow-unsafe',
        action='store_true',
        help='fully unpickle a TRUSTED file that holds objects outside the '
        'safe-load allow-list (can execute code)')
    return parser.parse_args(argv)


def extract(src: str,
            dst: str,
            prefix: str = 'backbone.',
            allow_unsafe: bool = False) -> dict:
    """Write the backbone of ``src`` to ``dst``.

    Args:
        src (str): Checkpoint file.
        dst (str): Output path.
        prefix (str): Student prefix. Defaults to ``'backbone.'``.
        allow_unsafe (bool): Opt in to full unpickling. Defaults to False.

    Returns:
        dict: ``{'num_kept', 'num_layers', 'dropped', 'layout'}``.

    Raises:
        KeyError: If ``src`` has no ``prefix`` keys and is not an official
            release.
    """
    checkpoint = load_checkpoint_file(src, allow_unsafe=allow_unsafe)
    state_dict, _ = unwrap_state_dict(checkpoint)
    layout = detect_layout(state_dict)
    if layout == 'official':
        backbone, dropped = official_to_mmpretrain(state_dict, prefix=prefix)
    else:
        try:
            backbone, dropped = extract_backbone(state_dict, prefix=prefix)
        except KeyError as e:
            raise KeyError(f'{src}: {e.args[0]}') from None
    num_layers = count_layers(
        backbone, '^' + prefix.replace('.', r'\.') + r'layers\.(\d+)\.')
    src_meta = checkpoint.get('meta', {}) if isinstance(checkpoint,
                                                        dict) else {}
    meta = dict(
        extracted_from=osp.basename(src),
        converter='extract_backbone',
        source_layout=layout,
        num_layers=num_layers)
    for key in ('epoch', 'iter', 'mmengine_version', 'experiment_name'):
        if isinstance(src_meta, dict) and key in src_meta:
            value = src_meta[key]
            meta[f'source_{key}'] = value.item() if hasattr(value,
                                                            'item') else value
    if osp.dirname(dst):
        os.makedirs(osp.dirname(dst), exist_ok=True)
    torch.save(dict(state_dict=backbone, meta=meta), dst)
    print(
        format_report(
            f'{src} -> {dst}: kept {len(backbone)} tensors of the student '
            f'encoder ({num_layers} blocks, {layout} layout).', {
                f'dropped ({k})': v
                for k, v in dropped.items()
            }))
    return dict(
        num_kept=len(backbone),
        num_layers=num_layers,
        dropped=dropped,
        layout=layout)


def main(argv: Optional[List[str]] = None) -> int:
    """Entry point."""
    args = parse_args(argv)
    try:
        extract(args.src, args.dst, args.prefix, args.allow_unsafe)
    except (KeyError, ValueError, TypeError, FileNotFoundError,
            RuntimeError) as e:
        print(
            f'error: {e.args[0] if isinstance(e, KeyError) else e}',
            file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
