# Copyright (c) mkd_mm contributors. All rights reserved.
"""Tiny CLIP image towers and dBOT-CLIP configs for CPU tests."""
import copy
from typing import Dict, Optional

import torch
from mmpretrain.models.utils.clip_generator_helper import \
    VisionTransformer as CLIPVisionTransformer

from .shrink import tiny_arch

#: a 2-block, 32-d CLIP image tower with a 24-d output at 32 px (4x4 grid)
TINY_CLIP_ARCH = dict(
    width=32,
    layers=2,
    heads=2,
    patch_size=8,
    output_dim=24,
    pretrain_img_size=32)


def tiny_clip_state_dict(arch: Optional[dict] = None,
                         with_text: bool = True,
                         seed: int = 0) -> Dict[str, torch.Tensor]:
    """An OpenAI-format CLIP state dict of a tiny random image tower.

    The image tower is mmpretrain's CLIP ``VisionTransformer`` (the module
    OpenAI's ``build_model`` builds), so the keys are exactly OpenAI's
    ``visual.*`` ones. ``with_text`` adds a few text-tower entries and the
    scalar ``input_resolution``/``context_length``/``vocab_size`` that a
    converted OpenAI file also holds.

    Args:
        arch (dict, optional): CLIP arch dict (see :class:`CLIPTeacher`).
            Defaults to :data:`TINY_CLIP_ARCH`.
        with_text (bool): Add text-tower entries. Defaults to True.
        seed (int): Seed of the random weights. Defaults to 0.

    Returns:
        Dict[str, torch.Tensor]: The state dict.
    """
    arch = copy.deepcopy(arch or TINY_CLIP_ARCH)
    state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    try:
        tower = CLIPVisionTransformer(
            input_resolution=arch['pretrain_img_size'],
            patch_size=arch['patch_size'],
            width=arch['width'],
            layers=arch['layers'],
            heads=arch.get('heads') or arch['width'] // 64,
            output_dim=arch['output_dim'])
        # random non-trivial norms and biases (the tower's own init is 1/0)
        for name, p in tower.named_parameters():
            if 'ln_' in name or name.endswith('bias'):
                p.data.add_(0.1 * torch.randn_like(p))
    finally:
        torch.random.set_rng_state(state)
    sd = {
        'visual.' + k: v.detach().clone()
        for k, v in tower.state_dict().items()
    }
    if with_text:
        width = 16
        sd.update({
            'positional_embedding':
            torch.zeros(8, width),
            'text_projection':
            torch.zeros(width, arch['output_dim']),
            'logit_scale':
            torch.tensor(4.6052),
            'token_embedding.weight':
            torch.zeros(10, width),
            'transformer.resblocks.0.attn.in_proj_weight':
            torch.zeros(3 * width, width),
            'ln_final.weight':
            torch.ones(width),
            'ln_final.bias':
            torch.zeros(width),
            'input_resolution':
            torch.tensor(arch['pretrain_img_size']),
            'context_length':
            torch.tensor(8),
            'vocab_size':
            torch.tensor(10),
        })
    return sd


def tiny_dbot_clip_cfg(clip_checkpoint: Optional[str] = None,
                       img_size: int = 32,
                       patch_size: int = 8,
                       clip_arch: Optional[dict] = None,
                       **kwargs) -> dict:
    """Config of a tiny :class:`DBOTCLIP` (16 patches at 32 px).

    Args:
        clip_checkpoint (str, optional): OpenAI-format CLIP state dict of
            ``clip_arch`` (see :func:`tiny_clip_state_dict`). Defaults to
            None (random teacher).
        img_size (int): Student image size. Defaults to 32.
        patch_size (int): Student patch size. Defaults to 8.
        clip_arch (dict, optional): Teacher arch. Defaults to
            :data:`TINY_CLIP_ARCH`.
        **kwargs: Overrides of the top-level model keys.

    Returns:
        dict: The model config (ImageNet mean/std preprocessor, fp32
        teacher).
    """
    from .tiny import TINY_ARCH
    clip_arch = copy.deepcopy(clip_arch or TINY_CLIP_ARCH)
    teacher = dict(
        type='CLIPTeacher',
        arch=clip_arch,
        img_size=img_size // patch_size * clip_arch['patch_size'])
    if clip_checkpoint is not None:
        teacher['init_cfg'] = dict(
            type='Pretrained', checkpoint=clip_checkpoint)
    cfg = dict(
        type='DBOTCLIP',
        backbone=dict(
            type='MKDBEiTViT',
            arch=copy.deepcopy(TINY_ARCH),
            img_size=img_size,
            patch_size=patch_size,
            drop_path_rate=0.0),
        head=dict(
            type='MIMHead', loss=dict(type='NegativeCosineLoss', eps=1e-6)),
        teacher=teacher,
        teacher_precision='fp32',
        data_preprocessor=dict(
            type='SelfSupDataPreprocessor',
            mean=[123.675, 116.28, 103.53],
            std=[58.395, 57.12, 57.375],
            to_rgb=True))
    cfg.update(kwargs)
    return cfg


def shrink_dbot_clip_model(model: dict,
                           num_layers: int = 2,
                           grid: int = 4,
                           patch: int = 8,
                           clip_checkpoint: Optional[str] = None) -> dict:
    """Shrink a full-size :class:`DBOTCLIP` model config for CPU tests.

    The student keeps its relative width (16-64, ``num_layers`` blocks) at
    ``grid * patch`` pixels. The CLIP teacher becomes a tiny tower (32-d, or
    48-d for an L teacher, 2 heads, output 24-d or 40-d) with the same token
    grid; a teacher that runs at another size than its checkpoint
    (CLIP-L/14 at 196 px, checkpoint at 224) keeps that relation: patch
    ``patch - 1`` and a checkpoint grid ``round(grid * 224 / 196)``, so the
    position-embedding interpolation is exercised.

    Args:
        model (dict): The ``model`` config.
        num_layers (int): Blocks of both tiny towers. Defaults to 2.
        grid (int): Patch grid side. Defaults to 4.
        patch (int): Student patch size. Defaults to 8.
        clip_checkpoint (str, optional): New teacher checkpoint path.

    Returns:
        dict: A new, shrunk model config.
    """
    from mkd_mm.models.backbones.clip_teacher import CLIP_ARCHS
    model = copy.deepcopy(model)
    bb = model['backbone']
    bb['arch'] = tiny_arch(bb.get('arch', 'b'), num_layers)
    s_patch = bb.get('patch_size', 16)
    s_img = bb.get('img_size', 224)
    bb.update(img_size=grid * patch, patch_size=patch)

    t = model['teacher']
    arch = t.get('arch', 'b16')
    full = CLIP_ARCHS[arch] if isinstance(arch, str) else arch
    t_img = t.get('img_size', 224)
    large = full['width'] > 768
    t_patch = patch if full['patch_size'] == s_patch else patch - 1
    pre_grid = max(grid, round(grid * full['pretrain_img_size'] / t_img))
    t['arch'] = dict(
        width=48 if large else 32,
        layers=num_layers,
        heads=2,
        patch_size=t_patch,
        output_dim=40 if large else 24,
        pretrain_img_size=pre_grid * t_patch)
    t['img_size'] = grid * t_patch
    assert s_img // s_patch == t_img // full['patch_size'], 'bad full config'
    if clip_checkpoint is not None and t.get('init_cfg'):
        t['init_cfg']['checkpoint'] = clip_checkpoint
    gen = model.get('mask_generator')
    if gen:
        gen.update(
            input_size=grid,
            num_masking_patches=grid * grid // 2,
            min_num_patches=1)
    return model
