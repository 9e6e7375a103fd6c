# Copyright (c) mkd_mm contributors. All rights reserved.
"""Shared helpers of the downstream and converter tests.

- checkpoints produced by the pre-training code (mkd_mm ``DBOT``; the
  mmpretrain ``MAE`` stand-in only if ``DBOT`` cannot be imported), either
  from a real short mmengine run or from a freshly built model;
- a tiny reference implementation of the official (timm-style) ViT, written
  for these tests, to check converted weights against;
- config shrinking (keep depth and patch size, make everything narrow) and
  the demo data sets.
"""
import argparse
import copy
import os
import os.path as osp
import re
import sys
from typing import Dict, Optional, Sequence

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

REPO = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
CONFIG_DIR = osp.join(REPO, 'configs', 'benchmarks')

#: the tiny ViT of the end-to-end transfer tests
TINY = dict(embed_dims=96, num_layers=4, num_heads=3, feedforward_channels=384)


def narrow_arch(num_layers: int, embed_dims: int = 32) -> dict:
    """A narrow arch with a given depth (parameter names as the full one)."""
    return dict(
        embed_dims=embed_dims,
        num_layers=num_layers,
        num_heads=2,
        feedforward_channels=2 * embed_dims)


# --------------------------------------------------------------------------
# checkpoints from the pre-training code
# --------------------------------------------------------------------------
def have_dbot() -> bool:
    """Whether mkd_mm's DBOT algorithm is importable."""
    try:
        import mkd_mm  # noqa: F401
        from mmpretrain.registry import MODELS
        return MODELS.get('DBOT') is not None
    except Exception:  # pragma: no cover
        return False


def pretrain_model_cfg(arch: dict, img_size: int, patch_size: int) -> dict:
    """Config of the pre-training algorithm for a given student arch.

    ``DBOT`` (student ``MKDViT`` + ``DBOTDecoder``, teacher ``TeacherViT``)
    when available, else mmpretrain's ``MAE`` (the stand-in).
    """
    num_patches = (img_size // patch_size)**2
    dim = arch['embed_dims']
    preprocessor = dict(
        type='SelfSupDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        to_rgb=True)
    if have_dbot():
        return dict(
            type='DBOT',
            backbone=dict(
                type='MKDViT',
                arch=copy.deepcopy(arch),
                img_size=img_size,
                patch_size=patch_size,
                mask_ratio=0.75),
            neck=dict(
                type='DBOTDecoder',
                num_patches=num_patches,
                patch_size=patch_size,
                embed_dim=dim,
                decoder_embed_dim=32,
                decoder_depth=1,
                decoder_num_heads=2,
                predict_feature_dim=dim),
            head=dict(
                type='MIMHead',
                loss=dict(type='StandardizedSmoothL1Loss', beta=2.0)),
            teacher=dict(
                type='TeacherViT',
                arch=copy.deepcopy(arch),
                depth=arch['num_layers'],
                img_size=img_size,
                patch_size=patch_size),
            teacher_precision='fp32',
            data_preprocessor=preprocessor)
    return dict(
        type='MAE',
        backbone=dict(
            type='MAEViT',
            arch=copy.deepcopy(arch),
            img_size=img_size,
            patch_size=patch_size,
            mask_ratio=0.75),
        neck=dict(
            type='MAEPretrainDecoder',
            num_patches=num_patches,
            patch_size=patch_size,
            embed_dim=dim,
            decoder_embed_dim=32,
            decoder_depth=1,
            decoder_num_heads=2),
        head=dict(
            type='MAEPretrainHead',
            norm_pix=True,
            patch_size=patch_size,
            loss=dict(type='PixelReconstructionLoss', criterion='L2')),
        data_preprocessor=preprocessor)


def build_pretrain_model(arch: dict, img_size: int, patch_size: int):
    """Build and initialise the pre-training algorithm."""
    import mkd_mm  # noqa: F401
    from mmengine.registry import DefaultScope
    from mmpretrain.registry import MODELS
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        model = MODELS.build(pretrain_model_cfg(arch, img_size, patch_size))
    model.init_weights()
    return model


def save_pretrain_checkpoint(path: str,
                             arch: dict,
                             img_size: int = 64,
                             patch_size: int = 16,
                             extra_keys: bool = True) -> str:
    """Save a freshly built pre-training model as an mmengine checkpoint.

    The file has the layout of a Runner checkpoint (``meta`` with numpy
    values, ``state_dict``), so it also exercises the safe loader. With
    ``extra_keys``, DMAE-style projection heads and a data-preprocessor
    buffer are added so every drop category of the contract is present.
    """
    model = build_pretrain_model(arch, img_size, patch_size)
    state_dict = {k: v.detach().clone() for k, v in model.state_dict().items()}
    if not any(k.startswith('teacher.') for k in state_dict):
        # MAE stand-in: add the teacher the contract says will be there
        for k in list(state_dict):
            if k.startswith('backbone.'):
                state_dict['teacher.' + k[len('backbone.'):]] = \
                    state_dict[k].clone()
    if extra_keys:
        dim = arch['embed_dims']
        state_dict['projectors.0.fc.weight'] = torch.randn(2 * dim, dim)
        state_dict['projectors.0.fc.bias'] = torch.zeros(2 * dim)
        state_dict['data_preprocessor.mean'] = torch.zeros(3, 1, 1)
    checkpoint = dict(
        meta=dict(
            epoch=np.int64(1),
            iter=np.int64(2),
            seed=np.int64(0),
            mmengine_version='0.10.7'),
        state_dict=state_dict)
    os.makedirs(osp.dirname(path) or '.', exist_ok=True)
    torch.save(checkpoint, path)
    return path


def register_random_image_dataset() -> str:
    """Register (once) a tiny random-image dataset for pre-training runs."""
    from mmengine.dataset import BaseDataset
    from mmpretrain.registry import DATASETS
    from mmpretrain.structures import DataSample
    name = 'DownstreamTestRandomImages'
    if DATASETS.get(name) is not None:
        return name

    class DownstreamTestRandomImages(BaseDataset):
        """Deterministic random images (pre-training smoke runs)."""

        def __init__(self,
                     num_samples: int = 8,
                     img_size: int = 64,
                     **kwargs) -> None:
            self.num_samples = num_samples
            self.img_size = img_size
            super().__init__(
                pipeline=[], lazy_init=False, serialize_data=False)

        def load_data_list(self) -> list:
            g = torch.Generator().manual_seed(0)
            imgs = torch.randint(
                0,
                256, (self.num_samples, 3, self.img_size, self.img_size),
                generator=g,
                dtype=torch.uint8)
            return [dict(img=img) for img in imgs]

        def prepare_data(self, idx: int) -> dict:
            return dict(
                inputs=self.data_list[idx]['img'].clone(),
                data_samples=DataSample())

    DATASETS.register_module(name=name, module=DownstreamTestRandomImages)
    return name


def run_pretraining(work_dir: str,
                    arch: dict,
                    img_size: int = 64,
                    patch_size: int = 16,
                    iters: int = 2) -> str:
    """Run the pre-training algorithm for a few iterations with a Runner.

    Returns:
        str: Path of the checkpoint the Runner saved (``epoch_1.pth``).
    """
    import mkd_mm  # noqa: F401
    from mmengine.runner import Runner
    dataset = register_random_image_dataset()
    runner = Runner(
        model=pretrain_model_cfg(arch, img_size, patch_size),
        work_dir=work_dir,
        train_dataloader=dict(
            dataset=dict(
                type=dataset, num_samples=2 * iters, img_size=img_size),
            sampler=dict(type='DefaultSampler', shuffle=True, seed=0),
            collate_fn=dict(type='default_collate'),
            batch_size=2,
            num_workers=0),
        optim_wrapper=dict(
            type='OptimWrapper',
            optimizer=dict(
                type='AdamW', lr=1e-3, betas=(0.9, 0.95), weight_decay=0.05)),
        train_cfg=dict(type='EpochBasedTrainLoop', max_epochs=1),
        default_hooks=dict(
            logger=dict(type='LoggerHook', interval=1),
            checkpoint=dict(type='CheckpointHook', interval=1)),
        randomness=dict(seed=0),
        default_scope='mmpretrain',
        log_level='WARNING',
        experiment_name=f'pretrain_{osp.basename(work_dir)}')
    runner.train()
    path = osp.join(work_dir, 'epoch_1.pth')
    assert osp.isfile(path), os.listdir(work_dir)
    return path


# --------------------------------------------------------------------------
# reference official (timm-style) ViT, written for these tests
# --------------------------------------------------------------------------
class _RefBlock(nn.Module):

    def __init__(self, dim: int, heads: int, hidden: int) -> None:
        super().__init__()
        self.heads = heads
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = nn.Module()
        self.attn.qkv = nn.Linear(dim, 3 * dim)
        self.attn.proj = nn.Linear(dim, dim)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = nn.Module()
        self.mlp.fc1 = nn.Linear(dim, hidden)
        self.mlp.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, N, C = x.shape
        h = self.norm1(x)
        qkv = self.attn.qkv(h).reshape(B, N, 3, self.heads, C // self.heads)
        q, k, v = qkv.permute(2, 0, 3, 1, 4)
        attn = (q @ k.transpose(-2, -1)) * (C // self.heads)**-0.5
        h = (attn.softmax(-1) @ v).transpose(1, 2).reshape(B, N, C)
        x = x + self.attn.proj(h)
        return x + self.mlp.fc2(F.gelu(self.mlp.fc1(self.norm2(x))))


class ReferenceOfficialViT(nn.Module):
    """Minimal MAE/dBOT-release ViT (timm names) to compare against.

    Args:
        arch (dict): ``embed_dims``, ``num_layers``, ``num_heads``,
            ``feedforward_channels``.
        img_size (int): Input size. Defaults to 64.
        patch_size (int): Patch size. Defaults to 16.
        num_classes (int): Head classes; 0 means a pre-trained (no head)
            model with final ``norm``, >0 a fine-tuned model with global
            pooling, ``fc_norm`` and ``head``. Defaults to 0.
    """

    def __init__(self,
                 arch: dict,
                 img_size: int = 64,
                 patch_size: int = 16,
                 num_classes: int = 0) -> None:
        super().__init__()
        dim = arch['embed_dims']
        self.patch_size = patch_size
        n = (img_size // patch_size)**2
        self.patch_embed = nn.Module()
        self.patch_embed.proj = nn.Conv2d(3, dim, patch_size, patch_size)
        self.cls_token = nn.Parameter(torch.randn(1, 1, dim) * .02)
        self.pos_embed = nn.Parameter(torch.randn(1, n + 1, dim) * .02)
        self.blocks = nn.ModuleList([
            _RefBlock(dim, arch['num_heads'], arch['feedforward_channels'])
            for _ in range(arch['num_layers'])
        ])
        self.num_classes = num_classes
        if num_classes:
            self.fc_norm = nn.LayerNorm(dim, eps=1e-6)
            self.head = nn.Linear(dim, num_classes)
        else:
            self.norm = nn.LayerNorm(dim, eps=1e-6)
        for p in self.parameters():  # non-trivial norms and biases
            with torch.no_grad():
                p.add_(torch.randn_like(p) * 0.05)

    def tokens(self, x: torch.Tensor, taps: Sequence[int] = ()):
        """Tokens after every block in ``taps`` and after the last block."""
        x = self.patch_embed.proj(x).flatten(2).transpose(1, 2)
        x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], 1)
        x = x + self.pos_embed
        outs = []
        for i, blk in enumerate(self.blocks):
            x = blk(x)
            if i in taps:
                outs.append(x)
        return x, outs

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Final-norm tokens (pre-trained) or logits (fine-tuned)."""
        x, _ = self.tokens(x)
        if self.num_classes:
            return self.head(self.fc_norm(x[:, 1:].mean(1)))
        return self.norm(x)


def official_release(model: ReferenceOfficialViT,
                     with_decoder: bool = True) -> dict:
    """The state dict of ``model`` packed like an official release."""
    sd = {k: v.detach().clone() for k, v in model.state_dict().items()}
    if with_decoder:
        dim = model.cls_token.shape[-1]
        sd['mask_token'] = torch.zeros(1, 1, 16)
        sd['decoder_embed.weight'] = torch.randn(16, dim)
        sd['decoder_pos_embed'] = torch.zeros(1, 5, 16)
        sd['decoder_blocks.0.norm1.weight'] = torch.ones(16)
        sd['decoder_norm.weight'] = torch.ones(16)
        sd['decoder_predp.weight'] = torch.randn(dim, 16)
        sd['aligned_feature_projection_heads.0.weight'] = torch.randn(32, dim)
    return dict(
        model=sd,
        epoch=99,
        args=argparse.Namespace(model='vit_tiny', mask_ratio=0.75))


# --------------------------------------------------------------------------
# configs
# --------------------------------------------------------------------------
def _set_norm_bn(obj) -> None:
    """Replace every SyncBN by BN in a config tree (single-device runs)."""
    if isinstance(obj, dict):
        if obj.get('type') == 'SyncBN':
            obj['type'] = 'BN'
        for v in obj.values():
            _set_norm_bn(v)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            _set_norm_bn(v)


def shrink_config(cfg, embed_dims: int = 32, arch: Optional[dict] = None):
    """Make a downstream config narrow, keeping depth and parameter names.

    Args:
        cfg (mmengine.Config): A config of ``configs/benchmarks``.
        embed_dims (int): New width. Defaults to 32.
        arch (dict, optional): Full arch to use instead (its depth may differ
            from the config's).

    Returns:
        tuple: ``(cfg, arch)`` with the arch actually used.
    """
    depths = {'base': 12, 'large': 24, 'huge': 32, 'b': 12, 'l': 24, 'h': 32}
    model = cfg.model
    backbone = model.backbone
    if arch is None:
        arch = narrow_arch(depths[backbone.arch], embed_dims)
    dim = arch['embed_dims']
    backbone.arch = copy.deepcopy(arch)
    _set_norm_bn(model)
    neck = model.get('neck')
    if model.type == 'CascadeRCNN':
        neck[0].embed_dim = dim
        neck[1].in_channels = [dim] * 4
    elif model.type == 'EncoderDecoder':
        neck.embed_dim = dim
        model.decode_head.in_channels = [dim] * 4
        model.decode_head.channels = dim
        model.auxiliary_head.in_channels = dim
    else:  # classifier
        model.head.in_channels = dim
        if neck:
            neck.input_features = dim
    if 'optim_wrapper' in cfg:
        paramwise = cfg.optim_wrapper.get('paramwise_cfg') or {}
        if 'num_layers' in paramwise:
            paramwise['num_layers'] = arch['num_layers']
        if cfg.optim_wrapper.get('type') == 'AmpOptimWrapper':
            cfg.optim_wrapper.type = 'OptimWrapper'
            cfg.optim_wrapper.pop('loss_scale', None)
    return cfg, arch


def demo_data_root(tmp_root: str) -> str:
    """``data/demo`` if complete, else a fresh copy generated in tmp."""
    sys.path.insert(0, osp.join(REPO, 'tools', 'data'))
    try:
        import make_demo_data
    finally:
        sys.path.pop(0)
    repo_demo = osp.join(REPO, 'data', 'demo')
    if make_demo_data.is_complete(repo_demo):
        return repo_demo
    out = osp.join(tmp_root, 'demo')
    if not make_demo_data.is_complete(out):
        make_demo_data.generate(out)
    return out


def param_depth(name: str, num_layers: int) -> int:
    """Independent statement of the layer-decay depth rule (for asserts)."""
    if name in ('backbone.cls_token', 'backbone.pos_embed') or \
            name.startswith('backbone.patch_embed.'):
        return 0
    m = re.match(r'^backbone\.layers\.(\d+)\.', name)
    if m:
        return int(m.group(1)) + 1
    return num_layers + 1


def expected_no_decay(name: str, param: torch.Tensor) -> bool:
    """Independent statement of the no-weight-decay rule (for asserts)."""
    return param.ndim <= 1 or name.endswith('.bias') or name in (
        'backbone.pos_embed', 'backbone.cls_token')


def state_dict_cpu(model: nn.Module) -> Dict[str, torch.Tensor]:
    """A detached CPU copy of a state dict."""
    return {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
