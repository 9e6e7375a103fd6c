# Copyright (c) mkd_mm contributors. All rights reserved.
"""Strict loading of teacher weights from the checkpoint formats in use.

Formats recognised (the container and the key style are detected
separately):

- **official / timm style**: the MAE releases (``mae_pretrain_vit_*.pth``,
  ``mae_visualize_vit_*.pth`` and ``*_full.pth`` with a decoder), dBOT and DMAE
  releases, DeiT and DINO backbones: keys ``patch_embed.proj``,
  ``blocks.{i}.norm1``, ``attn.qkv``, ``mlp.fc1``, ``norm``, usually under
  ``'model'`` (DINO: bare, or ``'teacher'`` with ``module.``/``backbone.``
  prefixes);
- **mmpretrain**: ``{'state_dict': {'backbone.layers.{i}.ln1...'}}`` (model
  zoo MAE checkpoints and classifiers);
- **mkd_mm**: our pre-training checkpoints, whose student encoder is
  ``backbone.*`` (the teacher, decoder and projection heads are ignored).

Anything the teacher needs and the file lacks, any unexpected key, or a shape
that does not match is an error that names the file and lists the keys. The
only keys dropped silently are those of parts a teacher never has (decoder,
mask token, classification heads, projection heads) and, explicitly, the
blocks beyond the teacher's ``depth`` and the final norm of a teacher without
one.
"""
import re
from typing import Dict, List, Optional, Tuple

import torch
import torch.nn as nn

from ...utils.checkpoint_io import load_checkpoint_file
from ...utils.key_mapping import official_to_mmpretrain_key

# parts of released checkpoints that a teacher encoder never has
_FOREIGN_PARTS = re.compile(
    r'^(decoder|mask_token|head|head_dist|fc_norm|ln2\.|'
    r'aligned_feature_projection|lm_head|neck|teacher|projectors|'
    r'data_preprocessor|target_generator|stage$)')


def timm_to_mmpretrain_key(key: str) -> str:
    """Map one official (timm-style) ViT key to mmpretrain's name.

    Args:
        key (str): e.g. ``blocks.3.mlp.fc1.weight``.

    Returns:
        str: e.g. ``layers.3.ffn.layers.0.0.weight``; keys that are not
        encoder keys (decoder, heads, ...) are returned unchanged.
    """
    return official_to_mmpretrain_key(key) or key


def unwrap_state_dict(ckpt: dict,
                      prefix: Optional[str] = None
                      ) -> Tuple[Dict[str, torch.Tensor], str]:
    """Extract an encoder state dict with mmpretrain names from a checkpoint.

    Args:
        ckpt (dict): The loaded checkpoint object.
        prefix (str, optional): Take only keys under this prefix (stripped).
            By default ``backbone.`` is used when present (mmpretrain and
            mkd_mm files; in ours it selects the student, not the teacher).

    Returns:
        Tuple[dict, str]: The state dict and the detected format name.
    """
    if not isinstance(ckpt, dict):
        raise TypeError(f'expected a dict, got {type(ckpt).__name__}')
    container = 'bare'
    for key in ('state_dict', 'model', 'teacher', 'module'):
        if key in ckpt and isinstance(ckpt[key], dict):
            container = key
            ckpt = ckpt[key]
            break
    sd = {k: v for k, v in ckpt.items() if isinstance(v, torch.Tensor)}
    sd = {k[len('module.'):] if k.startswith('module.') else k: v
          for k, v in sd.items()}
    if prefix is None and any(k.startswith('backbone.') for k in sd):
        prefix = 'backbone.'
    if prefix:
        sd = {k[len(prefix):]: v for k, v in sd.items()
              if k.startswith(prefix)}
    if any(k.startswith('blocks.') or k.startswith('patch_embed.proj.')
           for k in sd):
        sd = {timm_to_mmpretrain_key(k): v for k, v in sd.items()}
        fmt = 'official (timm-style)'
    elif container == 'state_dict':
        fmt = 'mmpretrain/mkd_mm'
    else:
        fmt = 'mmpretrain-style'
    return sd, f'{fmt}, container={container!r}, prefix={prefix!r}'


def _layer_index(key: str) -> Optional[int]:
    m = re.match(r'^layers\.(\d+)\.', key)
    return int(m.group(1)) if m else None


def load_teacher_weights(teacher: nn.Module,
                         checkpoint: str,
                         prefix: Optional[str] = None,
                         allow_unsafe: bool = False) -> str:
    """Load a checkpoint into a :class:`TeacherViT`, strictly.

    Args:
        teacher (nn.Module): The teacher; needs ``depth`` and ``arch_depth``.
        checkpoint (str): Path of a local checkpoint file.
        prefix (str, optional): See :func:`unwrap_state_dict`.
        allow_unsafe (bool): Allow full unpickling of a trusted file.

    Returns:
        str: A one-line report of what was loaded.

    Raises:
        KeyError: If keys are missing or unexpected, listing them.
        ValueError: If shapes differ or the file holds a ViT of another
            depth than the configured architecture.
    """
    ckpt = load_checkpoint_file(checkpoint, allow_unsafe=allow_unsafe)
    sd, fmt = unwrap_state_dict(ckpt, prefix)
    dropped = sorted({k.split('.')[0] for k in sd if _FOREIGN_PARTS.match(k)})
    sd = {k: v for k, v in sd.items() if not _FOREIGN_PARTS.match(k)}
    if not sd:
        raise KeyError(f'Teacher checkpoint {checkpoint} ({fmt}) contains no '
                       'ViT encoder weights.')

    # the file must hold a ViT of the configured size
    ckpt_depth = 1 + max((i for i in map(_layer_index, sd) if i is not None),
                         default=-1)
    if ckpt_depth != teacher.arch_depth:
        raise ValueError(
            f'Teacher checkpoint {checkpoint} holds a ViT with {ckpt_depth} '
            f'blocks, but the teacher architecture has {teacher.arch_depth} '
            '(check `arch` of the teacher config).')
    # explicitly allowed: blocks beyond `depth`, final norm of a teacher
    # built without one
    skipped = [k for k in sd if (_layer_index(k) or 0) >= teacher.depth
               and _layer_index(k) is not None]
    if not teacher.final_norm:
        skipped += [k for k in sd if k.startswith('ln1.')]
    sd = {k: v for k, v in sd.items() if k not in set(skipped)}

    own = teacher.state_dict()
    missing = sorted(set(own) - set(sd))
    unexpected = sorted(set(sd) - set(own))
    if missing or unexpected:
        raise KeyError(
            f'Teacher checkpoint {checkpoint} ({fmt}) does not match the '
            f'teacher (depth {teacher.depth}):\n  missing keys: '
            f'{_short(missing)}\n  unexpected keys: {_short(unexpected)}')
    bad = [f'{k}: checkpoint {tuple(sd[k].shape)} vs teacher '
           f'{tuple(own[k].shape)}' for k in sd
           if k != 'pos_embed' and sd[k].shape != own[k].shape]
    if bad:
        raise ValueError(f'Teacher checkpoint {checkpoint} ({fmt}) has '
                         'tensors of the wrong shape (another ViT size?):\n  '
                         + '\n  '.join(bad[:10]))
    teacher.load_state_dict(sd, strict=True)  # resizes pos_embed if needed
    return (f'{checkpoint} [{fmt}], {len(sd)} tensors, depth '
            f'{teacher.depth}/{teacher.arch_depth}, ignored: '
            f'{dropped + (["blocks>=depth/final norm"] if skipped else [])}')


def _short(keys: List[str], n: int = 20) -> str:
    if not keys:
        return '[]'
    more = f' ... (+{len(keys) - n} more)' if len(keys) > n else ''
    return ', '.join(keys[:n]) + more
