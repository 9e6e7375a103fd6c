# Copyright (c) mkd_mm contributors. All rights reserved.
"""Pure key-mapping functions between ViT checkpoint layouts.

Three layouts meet in this project:

- **official** (timm style), used by the MAE, dBOT and DMAE releases:
  ``patch_embed.proj``, ``blocks.{i}.norm1``, ``attn.qkv``, ``mlp.fc1``,
  ``norm``, plus the decoder (``decoder_*``, ``mask_token``), dBOT's
  ``decoder_predp``, DMAE's ``aligned_feature_projection_heads.*`` and, in
  fine-tuned releases, ``fc_norm`` and ``head``; stored under ``'model'``.
- **mmpretrain**: ``VisionTransformer``/``MAEViT`` names
  (``patch_embed.projection``, ``layers.{i}.ln1``, ``ffn.layers.0.0``,
  ``ln1``) under the ``backbone.`` prefix, the ``MAEPretrainDecoder`` under
  ``neck.``, classifier heads under ``head.``; stored under ``'state_dict'``.
- **mkd_mm pre-training checkpoints**: mmpretrain layout for the student
  (``backbone.``), plus parts no downstream model uses (``teacher.*``,
  ``neck.*``, ``projectors.*``, ``align_*``, ``data_preprocessor.*``, stage
  buffers).

Everything here works on plain ``{str: Tensor}`` dicts and imports nothing but
torch, so pre-training code, converters and downstream loaders share it. Every
function reports what it dropped; nothing is dropped silently.
"""
import math
import re
from collections import OrderedDict
from typing import Dict, List, Mapping, Optional, Tuple

import torch
import torch.nn.functional as F

StateDict = Dict[str, torch.Tensor]

#: official (timm) encoder name -> mmpretrain ``VisionTransformer`` name.
_OFFICIAL_TO_MMPRETRAIN_ENCODER: List[Tuple[str, str]] = [
    (r'^cls_token$', 'cls_token'),
    (r'^pos_embed$', 'pos_embed'),
    (r'^patch_embed\.proj\.', 'patch_embed.projection.'),
    (r'^blocks\.(\d+)\.norm1\.', r'layers.\1.ln1.'),
    (r'^blocks\.(\d+)\.norm2\.', r'layers.\1.ln2.'),
    (r'^blocks\.(\d+)\.attn\.qkv\.', r'layers.\1.attn.qkv.'),
    (r'^blocks\.(\d+)\.attn\.proj\.', r'layers.\1.attn.proj.'),
    (r'^blocks\.(\d+)\.mlp\.fc1\.', r'layers.\1.ffn.layers.0.0.'),
    (r'^blocks\.(\d+)\.mlp\.fc2\.', r'layers.\1.ffn.layers.1.'),
    (r'^norm\.', 'ln1.'),
    # fine-tuned releases: global-pool norm (timm ``fc_norm``) is
    # mmpretrain's ``ln2`` with ``out_type='avg_featmap'``
    (r'^fc_norm\.', 'ln2.'),
]

#: official MAE decoder name -> mmpretrain ``MAEPretrainDecoder`` name.
_OFFICIAL_TO_MMPRETRAIN_DECODER: List[Tuple[str, str]] = [
    (r'^mask_token$', 'mask_token'),
    (r'^decoder_pos_embed$', 'decoder_pos_embed'),
    (r'^decoder_embed\.', 'decoder_embed.'),
    (r'^decoder_blocks\.(\d+)\.norm1\.', r'decoder_blocks.\1.ln1.'),
    (r'^decoder_blocks\.(\d+)\.norm2\.', r'decoder_blocks.\1.ln2.'),
    (r'^decoder_blocks\.(\d+)\.attn\.qkv\.', r'decoder_blocks.\1.attn.qkv.'),
    (r'^decoder_blocks\.(\d+)\.attn\.proj\.', r'decoder_blocks.\1.attn.proj.'),
    (r'^decoder_blocks\.(\d+)\.mlp\.fc1\.',
     r'decoder_blocks.\1.ffn.layers.0.0.'),
    (r'^decoder_blocks\.(\d+)\.mlp\.fc2\.',
     r'decoder_blocks.\1.ffn.layers.1.'),
    (r'^decoder_norm\.', 'ln1.'),
    (r'^decoder_pred\.', 'decoder_pred.'),
]

#: reverse of the encoder table (mmpretrain -> official)
_MMPRETRAIN_TO_OFFICIAL_ENCODER: List[Tuple[str, str]] = [
    (r'^cls_token$', 'cls_token'),
    (r'^pos_embed$', 'pos_embed'),
    (r'^patch_embed\.projection\.', 'patch_embed.proj.'),
    (r'^layers\.(\d+)\.ln1\.', r'blocks.\1.norm1.'),
    (r'^layers\.(\d+)\.ln2\.', r'blocks.\1.norm2.'),
    (r'^layers\.(\d+)\.attn\.qkv\.', r'blocks.\1.attn.qkv.'),
    (r'^layers\.(\d+)\.attn\.proj\.', r'blocks.\1.attn.proj.'),
    (r'^layers\.(\d+)\.ffn\.layers\.0\.0\.', r'blocks.\1.mlp.fc1.'),
    (r'^layers\.(\d+)\.ffn\.layers\.1\.', r'blocks.\1.mlp.fc2.'),
    (r'^ln1\.', 'norm.'),
    (r'^ln2\.', 'fc_norm.'),
]

#: parts of an official release that a downstream encoder never uses, by
#: category (the category names appear in the printed reports).
_OFFICIAL_DROP_CATEGORIES: List[Tuple[str, str]] = [
    ('decoder', r'^(decoder_|mask_token$)'),
    ('projection_heads', r'^aligned_feature_projection'),
    ('classifier_head', r'^(head|head_dist)\.'),
]

#: parts of an mmpretrain / mkd_mm checkpoint besides the student encoder.
_MMPRETRAIN_DROP_CATEGORIES: List[Tuple[str, str]] = [
    ('teacher', r'^(teacher|target_generator|teachers)\.'),
    ('decoder', r'^neck\.'),
    ('projection_heads', r'^(projectors|align_[^.]*|aligners)\.?'),
    ('data_preprocessor', r'^data_preprocessor\.'),
    ('classifier_head', r'^head\.'),
    # top-level buffers of an algorithm, e.g. dBOT's ``stage`` counter
    ('algorithm_buffers', r'^[^.]+$'),
]

#: keys that identify the official (timm) layout.
_OFFICIAL_MARKERS = re.compile(r'^(blocks\.\d+\.|patch_embed\.proj\.)')
#: keys that identify the mmpretrain layout (with or without a prefix).
_MMPRETRAIN_MARKERS = re.compile(
    r'(^|\.)(layers\.\d+\.ln1\.|patch_embed\.projection\.)')


def _apply_rules(key: str, rules: List[Tuple[str, str]]) -> Optional[str]:
    """Rename ``key`` with the first matching rule, or return None."""
    for pattern, repl in rules:
        if re.search(pattern, key):
            return re.sub(pattern, repl, key, count=1)
    return None


def official_to_mmpretrain_key(key: str) -> Optional[str]:
    """Map one official (timm-style) ViT encoder key to mmpretrain's name.

    Args:
        key (str): e.g. ``'blocks.3.mlp.fc1.weight'``.

    Returns:
        str | None: e.g. ``'layers.3.ffn.layers.0.0.weight'``, or None if
        ``key`` is not an encoder key.
    """
    return _apply_rules(key, _OFFICIAL_TO_MMPRETRAIN_ENCODER)


def mmpretrain_to_official_key(key: str) -> Optional[str]:
    """Map one mmpretrain ``VisionTransformer`` key to the official name.

    Args:
        key (str): e.g. ``'layers.3.ffn.layers.0.0.weight'`` (no prefix).

    Returns:
        str | None: e.g. ``'blocks.3.mlp.fc1.weight'``, or None if ``key`` is
        not an encoder key.
    """
    return _apply_rules(key, _MMPRETRAIN_TO_OFFICIAL_ENCODER)


def unwrap_state_dict(checkpoint: Mapping) -> Tuple[StateDict, str]:
    """Find the state dict inside a loaded checkpoint object.

    Args:
        checkpoint (Mapping): What ``torch.load`` returned.

    Returns:
        tuple: ``(state_dict, container)`` where ``container`` is the key the
        state dict was found under (``'state_dict'``, ``'model'``,
        ``'module'``) or ``''`` for a bare state dict. A leading ``module.``
        (DDP) is stripped from every key.

    Raises:
        TypeError: If ``checkpoint`` is not a mapping of tensors.
    """
    if not isinstance(checkpoint, Mapping):
        raise TypeError('A checkpoint must be a dict, got '
                        f'{type(checkpoint).__name__}.')
    container = ''
    state_dict = checkpoint
    for name in ('state_dict', 'model', 'module'):
        if name in checkpoint and isinstance(checkpoint[name], Mapping):
            state_dict, container = checkpoint[name], name
            break
    out: StateDict = OrderedDict()
    for key, value in state_dict.items():
        if not isinstance(key, str):
            continue
        if key.startswith('module.'):
            key = key[len('module.'):]
        out[key] = value
    if not any(torch.is_tensor(v) for v in out.values()):
        raise TypeError('The checkpoint holds no tensors (looked under '
                        f'{container or "the top level"}).')
    return out, container


def detect_layout(state_dict: Mapping[str, torch.Tensor]) -> str:
    """Tell which key layout a state dict uses.

    Args:
        state_dict (Mapping[str, Tensor]): Keys to inspect.

    Returns:
        str: ``'official'`` (timm names), ``'mmpretrain'`` (``backbone.``
        prefixed mmpretrain names), ``'mmpretrain-bare'`` (mmpretrain names
        without prefix, as inside a backbone) or ``'unknown'``.
    """
    keys = list(state_dict.keys())
    if any(
            k.startswith('backbone.') and _MMPRETRAIN_MARKERS.search(k)
            for k in keys):
        return 'mmpretrain'
    if any(_OFFICIAL_MARKERS.match(k) for k in keys):
        return 'official'
    if any(_MMPRETRAIN_MARKERS.match(k) for k in keys):
        return 'mmpretrain-bare'
    return 'unknown'


def _categorise(key: str, categories: List[Tuple[str, str]]) -> str:
    for name, pattern in categories:
        if re.search(pattern, key):
            return name
    return 'other'


def official_to_mmpretrain(
    state_dict: Mapping[str, torch.Tensor],
    prefix: str = 'backbone.',
    with_decoder: bool = False,
    with_head: bool = False,
) -> Tuple[StateDict, Dict[str, List[str]]]:
    """Convert an official (timm-style) ViT state dict to mmpretrain names.

    Args:
        state_dict (Mapping[str, Tensor]): Official keys (``blocks.*``...),
            already unwrapped from ``'model'``.
        prefix (str): Prefix of the encoder keys in the output.
            Defaults to ``'backbone.'``.
        with_decoder (bool): Also convert the MAE decoder to
            ``MAEPretrainDecoder`` names under ``neck.``. dBOT's
            ``decoder_predp`` (a feature predictor) has no counterpart and
            stays in the ``decoder`` drop list. Defaults to False.
        with_head (bool): Convert a fine-tuned classifier ``head`` to
            ``head.fc`` (mmpretrain ``LinearClsHead``). Defaults to False.

    Returns:
        tuple: ``(new_state_dict, dropped)`` where ``dropped`` maps a
        category (``decoder``, ``projection_heads``, ``classifier_head``,
        ``other``) to the list of official keys that were not converted.
    """
    out: StateDict = OrderedDict()
    dropped: Dict[str, List[str]] = {}
    for key, value in state_dict.items():
        new = official_to_mmpretrain_key(key)
        if new is not None:
            out[prefix + new] = value
            continue
        if with_decoder:
            new = _apply_rules(key, _OFFICIAL_TO_MMPRETRAIN_DECODER)
            if new is not None:
                out['neck.' + new] = value
                continue
        if with_head and re.match(r'^head\.(weight|bias)$', key):
            out['head.fc.' + key.split('.')[-1]] = value
            continue
        dropped.setdefault(_categorise(key, _OFFICIAL_DROP_CATEGORIES),
                           []).append(key)
    return out, dropped


def mmpretrain_to_official(
    state_dict: Mapping[str, torch.Tensor],
    prefix: str = 'backbone.',
) -> Tuple[StateDict, Dict[str, List[str]]]:
    """Convert mmpretrain encoder keys back to official (timm) names.

    Args:
        state_dict (Mapping[str, Tensor]): mmpretrain keys.
        prefix (str): Prefix of the encoder keys in ``state_dict``; keys
            without it are dropped (and reported). Defaults to
            ``'backbone.'``.

    Returns:
        tuple: ``(official_state_dict, dropped)``; ``dropped`` maps a category
        to the keys that have no official counterpart.
    """
    out: StateDict = OrderedDict()
    dropped: Dict[str, List[str]] = {}
    for key, value in state_dict.items():
        if key.startswith(prefix):
            new = mmpretrain_to_official_key(key[len(prefix):])
            if new is not None:
                out[new] = value
                continue
        dropped.setdefault(_categorise(key, _MMPRETRAIN_DROP_CATEGORIES),
                           []).append(key)
    return out, dropped


def extract_backbone(
    state_dict: Mapping[str, torch.Tensor],
    prefix: str = 'backbone.',
    strip_prefix: bool = False,
) -> Tuple[StateDict, Dict[str, List[str]]]:
    """Keep only the student encoder of an mmpretrain / mkd_mm state dict.

    Args:
        state_dict (Mapping[str, Tensor]): Full model state dict.
        prefix (str): Prefix of the student encoder. Defaults to
            ``'backbone.'``.
        strip_prefix (bool): Remove ``prefix`` from the kept keys.
            Defaults to False.

    Returns:
        tuple: ``(backbone_state_dict, dropped)``; ``dropped`` maps a
        category (``teacher``, ``decoder``, ``projection_heads``,
        ``data_preprocessor``, ``classifier_head``, ``other``) to the keys
        that were removed.

    Raises:
        KeyError: If no key starts with ``prefix``.
    """
    out: StateDict = OrderedDict()
    dropped: Dict[str, List[str]] = {}
    for key, value in state_dict.items():
        if key.startswith(prefix):
            out[key[len(prefix):] if strip_prefix else key] = value
        else:
            dropped.setdefault(
                _categorise(key, _MMPRETRAIN_DROP_CATEGORIES), []).append(key)
    if not out:
        sample = ', '.join(list(state_dict.keys())[:5])
        raise KeyError(f'No key starts with {prefix!r} (first keys: '
                       f'{sample}). Is this a pre-training checkpoint of '
                       'mkd_mm/mmpretrain? Official releases must be '
                       'converted first (tools/model_converters/'
                       'official_to_mmpretrain.py).')
    return out, dropped


def count_layers(state_dict: Mapping[str, torch.Tensor],
                 pattern: str = r'(?:^|\.)layers\.(\d+)\.') -> int:
    """Number of transformer blocks in a state dict (max index + 1).

    Args:
        state_dict (Mapping[str, Tensor]): Keys to inspect.
        pattern (str): Regex with one group capturing the block index.
            Defaults to mmpretrain's ``layers.{i}.``.

    Returns:
        int: Number of blocks, 0 if none.
    """
    ids = [
        int(m.group(1)) for k in state_dict for m in [re.search(pattern, k)]
        if m
    ]
    return max(ids) + 1 if ids else 0


def resize_pos_embed(pos_embed: torch.Tensor,
                     dst_hw: Tuple[int, int],
                     src_hw: Optional[Tuple[int, int]] = None,
                     num_extra_tokens: int = 1,
                     mode: str = 'bicubic') -> torch.Tensor:
    """Resize an absolute position embedding to another patch grid.

    The extra (cls) tokens are kept as they are; the grid part is
    interpolated with ``align_corners=False`` (the MAE/dBOT fine-tuning rule).

    Args:
        pos_embed (Tensor): Shape ``(1, num_extra_tokens + H*W, C)``.
        dst_hw (tuple[int, int]): Target grid ``(H', W')``.
        src_hw (tuple[int, int], optional): Source grid. Defaults to the
            square grid implied by the token count.
        num_extra_tokens (int): Leading non-grid tokens. Defaults to 1.
        mode (str): Interpolation mode. Defaults to ``'bicubic'``.

    Returns:
        Tensor: Shape ``(1, num_extra_tokens + H'*W', C)``, same dtype.

    Raises:
        ValueError: If the token count is not a grid of ``src_hw``.
    """
    if pos_embed.dim() != 3:
        raise ValueError('pos_embed must be (1, N, C), got shape '
                         f'{tuple(pos_embed.shape)}.')
    num_grid = pos_embed.shape[1] - num_extra_tokens
    if src_hw is None:
        side = int(math.isqrt(num_grid))
        src_hw = (side, side)
    if src_hw[0] * src_hw[1] != num_grid:
        raise ValueError(f'pos_embed has {num_grid} grid tokens, which is '
                         f'not a {src_hw[0]}x{src_hw[1]} grid.')
    if tuple(src_hw) == tuple(dst_hw):
        return pos_embed
    extra = pos_embed[:, :num_extra_tokens]
    grid = pos_embed[:, num_extra_tokens:]
    dim = grid.shape[-1]
    grid = grid.reshape(1, src_hw[0], src_hw[1], dim).permute(0, 3, 1, 2)
    grid = F.interpolate(
        grid.float(), size=tuple(dst_hw), mode=mode, align_corners=False)
    grid = grid.permute(0, 2, 3, 1).reshape(1, dst_hw[0] * dst_hw[1], dim)
    return torch.cat([extra, grid.to(pos_embed.dtype)], dim=1)


def format_report(title: str,
                  sections: Mapping[str, List[str]],
                  max_keys: int = 8) -> str:
    """Render a key report as readable text.

    Args:
        title (str): First line.
        sections (Mapping[str, list[str]]): Section name -> keys.
        max_keys (int): Keys listed per section before eliding.
            Defaults to 8.

    Returns:
        str: Multi-line report.
    """
    lines = [title]
    for name, keys in sections.items():
        keys = list(keys)
        lines.append(f'  {name}: {len(keys)} key(s)')
        for key in keys[:max_keys]:
            lines.append(f'    - {key}')
        if len(keys) > max_keys:
            lines.append(f'    ... and {len(keys) - max_keys} more')
    return '\n'.join(lines)
