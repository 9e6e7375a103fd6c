# Copyright (c) mkd_mm contributors. All rights reserved.
"""Strict loading of an OpenAI CLIP image tower from a local state dict.

OpenAI distributes CLIP as TorchScript archives (``ViT-B-16.pt``,
``ViT-L-14.pt``). They cannot be read with ``torch.load(weights_only=True)``
and executing TorchScript is not needed: convert once to a plain state dict
with the OpenAI key names (run in the directory holding ``ViT-B-16.pt``)::

    python -c "import torch; torch.save(torch.jit.load('ViT-B-16.pt', \
map_location='cpu').state_dict(), 'clip_vit-b16_openai.pth')"

Such a file holds the whole CLIP model: the image tower under ``visual.``
(``visual.conv1.weight``, ``visual.class_embedding``,
``visual.positional_embedding``, ``visual.ln_pre.*``,
``visual.transformer.resblocks.{i}.attn.in_proj_weight`` ...,
``visual.ln_post.*``, ``visual.proj``) and the text tower (``token_embedding``,
``transformer.*``, ``ln_final``, ``text_projection``, ``logit_scale``,
``positional_embedding`` and the scalar entries ``input_resolution``,
``context_length``, ``vocab_size``). Only ``visual.*`` is used; the text tower
is ignored. Files that hold only the image tower (keys without the
``visual.`` prefix, e.g. ``model.visual.state_dict()``) and files with a
``state_dict``/``model`` container are accepted too.
"""
import os.path as osp
import zipfile
from typing import Dict, List, Tuple

import torch
import torch.nn as nn

from ...utils.checkpoint_io import load_checkpoint_file

#: the command that converts an OpenAI TorchScript file (documented)
CONVERT_CMD = ("python -c \"import torch; torch.save(torch.jit.load("
               "'{src}', map_location='cpu').state_dict(), '{dst}')\"")


def is_torchscript_archive(path: str) -> bool:
    """Whether ``path`` is a TorchScript archive (e.g. OpenAI's ``.pt``).

    Args:
        path (str): A local file.

    Returns:
        bool: True for a zip file holding TorchScript code/constants.
    """
    if not zipfile.is_zipfile(path):
        return False
    with zipfile.ZipFile(path) as zf:
        return any(
            n.endswith('/constants.pkl') or '/code/' in n
            for n in zf.namelist())


def clip_visual_state_dict(
        ckpt: dict) -> Tuple[Dict[str, torch.Tensor], List[str]]:
    """Extract the image tower from a loaded CLIP checkpoint.

    Args:
        ckpt (dict): A full OpenAI CLIP state dict, an image-tower-only state
            dict, or either inside a ``state_dict``/``model`` container.

    Returns:
        Tuple[dict, list]: The image-tower state dict with keys relative to
        the tower (``conv1.weight``, ...) and the names of the ignored
        top-level groups (e.g. the text tower).
    """
    if not isinstance(ckpt, dict):
        raise TypeError(f'expected a state dict, got {type(ckpt).__name__}')
    for key in ('state_dict', 'model'):
        if key in ckpt and isinstance(ckpt[key], dict):
            ckpt = ckpt[key]
            break
    sd = {
        (k[len('module.'):] if k.startswith('module.') else k): v
        for k, v in ckpt.items() if isinstance(v, torch.Tensor)
    }
    if any(k.startswith('visual.') for k in sd):
        visual = {
            k[len('visual.'):]: v
            for k, v in sd.items() if k.startswith('visual.')
        }
        ignored = sorted(
            {k.split('.')[0]
             for k in sd if not k.startswith('visual.')})
        return visual, ignored
    return sd, []


def _short(keys: List[str], n: int = 20) -> str:
    if not keys:
        return '[]'
    more = f' ... (+{len(keys) - n} more)' if len(keys) > n else ''
    return ', '.join(keys[:n]) + more


def load_clip_visual_weights(tower: nn.Module,
                             checkpoint: str,
                             allow_unsafe: bool = False) -> str:
    """Load an OpenAI-format CLIP image tower into ``tower``, strictly.

    Args:
        tower (nn.Module): A CLIP ``VisionTransformer`` whose parameter names
            are the OpenAI ones without ``visual.``.
        checkpoint (str): Path of a local state-dict file (never downloaded).
        allow_unsafe (bool): Allow full unpickling of a trusted file.

    Returns:
        str: A one-line report of what was loaded.

    Raises:
        FileNotFoundError: If the file does not exist (with how to get it).
        ValueError: If the file is a TorchScript archive (with the command
            that converts it) or tensors have the wrong shape.
        KeyError: If keys are missing or unexpected, listing them.
    """
    if not osp.isfile(checkpoint):
        raise FileNotFoundError(
            f'CLIP checkpoint not found: {checkpoint}. Download OpenAI\'s '
            'ViT-B-16.pt / ViT-L-14.pt yourself and convert it with\n  ' +
            CONVERT_CMD.format(src='ViT-B-16.pt', dst=checkpoint) +
            '\n(see docs/dbot_clip.md); nothing is downloaded automatically.')
    if is_torchscript_archive(checkpoint):
        raise ValueError(
            f'{checkpoint} is a TorchScript archive (OpenAI\'s original '
            '.pt format). Convert it once to a plain state dict:\n  ' +
            CONVERT_CMD.format(
                src=checkpoint, dst=osp.splitext(checkpoint)[0] + '.pth') +
            '\nand point the teacher `init_cfg.checkpoint` at the .pth file.')
    ckpt = load_checkpoint_file(checkpoint, allow_unsafe=allow_unsafe)
    sd, ignored = clip_visual_state_dict(ckpt)
    own = tower.state_dict()
    missing = sorted(set(own) - set(sd))
    unexpected = sorted(set(sd) - set(own))
    if missing or unexpected:
        raise KeyError(
            f'CLIP checkpoint {checkpoint} does not match the CLIP image '
            'tower (OpenAI key names, relative to `visual.`):\n  missing '
            f'keys: {_short(missing)}\n  unexpected keys: '
            f'{_short(unexpected)}')
    bad = [
        f'{k}: checkpoint {tuple(sd[k].shape)} vs model '
        f'{tuple(own[k].shape)}' for k in own if sd[k].shape != own[k].shape
    ]
    if bad:
        raise ValueError(
            f'CLIP checkpoint {checkpoint} has tensors of the wrong shape '
            '(another CLIP size? check `teacher.arch`):\n  ' +
            '\n  '.join(bad[:10]))
    tower.load_state_dict(sd, strict=True)
    dtypes = sorted({str(v.dtype).replace('torch.', '') for v in sd.values()})
    return (f'{checkpoint}: {len(sd)} image-tower tensors ({"/".join(dtypes)}'
            f' in the file), ignored: {ignored or "nothing"}')
