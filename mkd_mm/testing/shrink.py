# Copyright (c) mkd_mm contributors. All rights reserved.
import copy
from typing import Union

#: tiny widths that keep the ordering of the real ones (S < B < L < H)
_TINY_WIDTH = {
    't': 16, 'deit-t': 16, 'deit-tiny': 16, 'tiny': 16,
    's': 24, 'small': 24, 'deit-s': 24, 'deit-small': 24,
    'b': 32, 'base': 32, 'deit-b': 32, 'deit-base': 32,
    'l': 48, 'large': 48,
    'h': 64, 'huge': 64,
}
_REAL_WIDTH = {768: 'b', 1024: 'l', 1280: 'h', 384: 's', 192: 't'}


def tiny_arch(arch: Union[str, dict], num_layers: int = 2) -> dict:
    """A tiny stand-in of a ViT architecture of the same relative width.

    Args:
        arch (str | dict): mmpretrain arch name or dict.
        num_layers (int): Blocks of the tiny ViT. Defaults to 2.

    Returns:
        dict: An arch dict.
    """
    if isinstance(arch, dict):
        arch = _REAL_WIDTH.get(arch['embed_dims'], 'b')
    width = _TINY_WIDTH[arch.lower()]
    return dict(
        embed_dims=width,
        num_layers=num_layers,
        num_heads=2,
        feedforward_channels=2 * width)


def shrink_pretrain_model(model: dict,
                          num_layers: int = 2,
                          grid: int = 4,
                          patch: int = 8) -> dict:
    """Shrink a full-size DBOT/DMAE/MAE model config for CPU tests.

    Widths become 16-64, depths ``num_layers`` (a depth-0 teacher stays 0,
    DMAE's aligned indices are mapped to the last tiny block), images
    ``grid * patch`` pixels. A teacher with another patch size than the
    student (ViT-H/14 at 196 px for a /16 student) keeps the same token grid
    with patch ``patch - 1``.

    Args:
        model (dict): The ``model`` config.
        num_layers (int): Blocks of every tiny ViT. Defaults to 2.
        grid (int): Patch grid side. Defaults to 4.
        patch (int): Student patch size. Defaults to 8.

    Returns:
        dict: A new, shrunk model config.
    """
    model = copy.deepcopy(model)
    bb = model['backbone']
    student_patch = bb.get('patch_size', 16)
    bb['arch'] = tiny_arch(bb.get('arch', 'b'), num_layers)
    bb.update(img_size=grid * patch, patch_size=patch)
    s_width = bb['arch']['embed_dims']
    t_width = None
    if model.get('teacher'):
        t = model['teacher']
        t['arch'] = tiny_arch(t.get('arch', 'b'), num_layers)
        t_width = t['arch']['embed_dims']
        t_patch = patch if t.get('patch_size', 16) == student_patch \
            else patch - 1
        t.update(img_size=grid * t_patch, patch_size=t_patch)
        if t.get('depth') not in (None, 0):
            t['depth'] = min(t['depth'], num_layers)
    neck = model.get('neck')
    if neck:
        neck.update(
            num_patches=grid * grid,
            patch_size=patch,
            embed_dim=s_width,
            decoder_embed_dim=16,
            decoder_depth=1,
            decoder_num_heads=2)
        if neck.get('predict_feature_dim') is not None:
            neck['predict_feature_dim'] = t_width or s_width
    head = model.get('head')
    if head and 'patch_size' in head:
        head['patch_size'] = patch
    return model
