# Copyright (c) mkd_mm contributors. All rights reserved.
"""Strict loading of pre-trained ViT encoders into downstream backbones.

Every downstream backbone of mkd_mm (classification, detection,
segmentation) loads its pre-trained weights through :func:`load_vit_weights`,
which

1. reads the file with the safe loader (``weights_only=True`` plus the
   project's allow-list);
2. finds the student encoder, whatever the layout: an mkd_mm / mmpretrain
   checkpoint (``backbone.*``; teacher, decoder, projection heads, data
   preprocessor are dropped and reported), a backbone-only file written by
   ``tools/model_converters/extract_backbone.py``, or an official
   dBOT / DMAE / MAE release (timm names under ``'model'``);
3. resizes the absolute position embedding to the model's patch grid
   (bicubic, cls slot kept);
4. loads with a full report and **raises** on any unexpected key, any shape
   mismatch, or any missing key except those the backbone declares as new
   at transfer (relative position bias tables, layer-scale gammas, a fresh
   fc_norm).
"""
import re
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from mmengine.logging import print_log

from mkd_mm.utils.checkpoint_io import load_checkpoint_file
from mkd_mm.utils.key_mapping import (count_layers, detect_layout,
                                      extract_backbone, format_report,
                                      official_to_mmpretrain, resize_pos_embed,
                                      unwrap_state_dict)


class CheckpointMismatchError(RuntimeError):
    """A checkpoint does not fit the backbone it is loaded into."""


def read_vit_encoder(
    path: str,
    prefix: str = 'backbone.',
    allow_unsafe: bool = False,
) -> Tuple[Dict[str, torch.Tensor], Dict[str, List[str]], str]:
    """Read the (student) ViT encoder of a checkpoint file.

    Args:
        path (str): Checkpoint file.
        prefix (str): Prefix of the encoder in mmpretrain-layout files.
            Defaults to ``'backbone.'``.
        allow_unsafe (bool): Opt in to full unpickling of a trusted file
            that holds non-tensor objects outside the allow-list.
            Defaults to False.

    Returns:
        tuple: ``(state_dict, dropped, layout)``: the encoder with bare
        mmpretrain names (no prefix), the dropped keys by category, and the
        detected layout (``'official'``, ``'mmpretrain'``,
        ``'mmpretrain-bare'``).

    Raises:
        CheckpointMismatchError: If the file holds no recognisable ViT
            encoder.
    """
    checkpoint = load_checkpoint_file(path, allow_unsafe=allow_unsafe)
    try:
        state_dict, _ = unwrap_state_dict(checkpoint)
    except TypeError as e:
        raise CheckpointMismatchError(f'{path}: {e}') from e
    layout = detect_layout(state_dict)
    if layout == 'official':
        encoder, dropped = official_to_mmpretrain(state_dict, prefix='')
    elif any(k.startswith(prefix) for k in state_dict):
        encoder, dropped = extract_backbone(
            state_dict, prefix=prefix, strip_prefix=True)
        layout = 'mmpretrain'
    elif layout == 'mmpretrain-bare':
        encoder, dropped = dict(state_dict), {}
    else:
        sample = ', '.join(list(state_dict.keys())[:6])
        raise CheckpointMismatchError(
            f'{path}: found no ViT encoder: no key starts with {prefix!r} and '
            f'there are no official ViT keys (blocks.*, patch_embed.proj.*). '
            f'First keys: {sample}.')
    return dict(encoder), dropped, layout


def _matches(key: str, patterns: Sequence[str]) -> bool:
    return any(re.search(p, key) for p in patterns)


def load_vit_weights(
    module: nn.Module,
    path: str,
    prefix: str = 'backbone.',
    allowed_missing: Sequence[str] = (),
    unused_keys: Sequence[str] = (),
    patch_resolution: Optional[Tuple[int, int]] = None,
    num_extra_tokens: int = 1,
    allow_unsafe: bool = False,
    logger: str = 'current',
) -> Dict[str, object]:
    """Load a pre-trained ViT encoder into ``module`` strictly, with a report.

    Args:
        module (nn.Module): Backbone with mmpretrain ViT parameter names.
        path (str): Checkpoint file (any layout :func:`read_vit_encoder`
            accepts).
        prefix (str): Prefix of the encoder in mmpretrain-layout files.
            Defaults to ``'backbone.'``.
        allowed_missing (Sequence[str]): Regexes of module keys that the
            checkpoint may lack (parameters created at transfer).
        unused_keys (Sequence[str]): Regexes of checkpoint keys that the
            module deliberately does not use (e.g. the final norm when the
            taps have no LN). They are dropped and reported, not an error.
        patch_resolution (tuple[int, int], optional): The module's patch grid
            for the position embedding. Defaults to
            ``module.patch_resolution``.
        num_extra_tokens (int): Non-grid tokens in ``pos_embed``.
            Defaults to 1.
        allow_unsafe (bool): See :func:`read_vit_encoder`. Defaults to False.
        logger (str): mmengine logger name for the report.
            Defaults to ``'current'``.

    Returns:
        dict: Report with keys ``loaded``, ``missing_allowed``, ``unused``,
        ``dropped`` (by category), ``resized`` and ``layout``.

    Raises:
        CheckpointMismatchError: On unexpected keys, shape mismatches or
            missing keys that are not allowed. The message names the file and
            the keys.
    """
    encoder, dropped, layout = read_vit_encoder(
        path, prefix=prefix, allow_unsafe=allow_unsafe)
    own = module.state_dict()

    # architecture check first: clearer than a list of 200 keys
    ck_layers = count_layers(encoder, r'^layers\.(\d+)\.')
    own_layers = count_layers(own, r'^layers\.(\d+)\.')
    ck_dim = encoder['cls_token'].shape[-1] if 'cls_token' in encoder else None
    own_dim = own['cls_token'].shape[-1] if 'cls_token' in own else None
    if ck_layers != own_layers or (ck_dim is not None and own_dim is not None
                                   and ck_dim != own_dim):
        raise CheckpointMismatchError(
            f'{path}: checkpoint from another architecture: it has '
            f'{ck_layers} blocks of width {ck_dim}, the backbone '
            f'{type(module).__name__} has {own_layers} blocks of width '
            f'{own_dim}.')

    resized: List[str] = []
    if 'pos_embed' in encoder and 'pos_embed' in own \
            and encoder['pos_embed'].shape != own['pos_embed'].shape:
        grid = patch_resolution or tuple(module.patch_resolution)
        src = encoder['pos_embed']
        if src.shape[-1] != own['pos_embed'].shape[-1]:
            raise CheckpointMismatchError(
                f'{path}: pos_embed width {src.shape[-1]} does not match '
                f'the backbone ({own["pos_embed"].shape[-1]}).')
        encoder['pos_embed'] = resize_pos_embed(
            src, tuple(grid), num_extra_tokens=num_extra_tokens)
        resized.append(f'pos_embed {tuple(src.shape)} -> '
                       f'{tuple(encoder["pos_embed"].shape)} (bicubic)')

    unused = [k for k in encoder if k not in own and _matches(k, unused_keys)]
    unexpected = [k for k in encoder if k not in own and k not in unused]
    mismatched = [
        f'{k}: checkpoint {tuple(v.shape)} vs model {tuple(own[k].shape)}'
        for k, v in encoder.items() if k in own and v.shape != own[k].shape
    ]
    missing = [k for k in own if k not in encoder]
    missing_allowed = [k for k in missing if _matches(k, allowed_missing)]
    missing_bad = [k for k in missing if k not in missing_allowed]

    if unexpected or mismatched or missing_bad:
        msg = format_report(
            f'{path}: the checkpoint ({layout} layout) does not fit '
            f'{type(module).__name__}:', {
                'unexpected keys': unexpected,
                'shape mismatches': mismatched,
                'missing keys (not allowed)': missing_bad,
            })
        raise CheckpointMismatchError(msg)

    to_load = {k: v for k, v in encoder.items() if k in own}
    result = module.load_state_dict(to_load, strict=False)
    # safety net: torch must agree with the analysis above
    assert not result.unexpected_keys, result.unexpected_keys
    assert set(result.missing_keys) <= set(missing_allowed), \
        result.missing_keys

    report = dict(
        layout=layout,
        loaded=sorted(to_load),
        missing_allowed=missing_allowed,
        unused=unused,
        dropped=dropped,
        resized=resized)
    sections = {
        'missing, new at transfer (initialised fresh)': missing_allowed,
        'unused by this backbone (dropped)': unused,
        'position embedding resized': resized,
    }
    for category, keys in dropped.items():
        sections[f'not part of the encoder: {category} (dropped)'] = keys
    print_log(
        format_report(
            f'Loaded {len(to_load)} tensors from {path} ({layout} layout) '
            f'into {type(module).__name__}; no unexpected keys.', sections),
        logger=logger)
    return report
