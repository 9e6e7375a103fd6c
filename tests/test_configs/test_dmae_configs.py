# Copyright (c) mkd_mm contributors. All rights reserved.
"""Every DMAE and MAE-baseline config builds and computes a loss.

The real sizes (ViT-B/L at 224 px) are too slow for a CPU test run, so each
config is shrunk: the widths become tiny but the depths (and hence the
aligned block indices) stay those of the config, the image is 64 px with
8 px patches (64 patches), and the teacher is random. Everything else (loss
options, projector mode, mask ratio, decoder depth, optimizer and schedule
settings) is the config's own.
"""
import copy
import glob
import math
import os.path as osp
from types import SimpleNamespace

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmpretrain.models import VisionTransformer
from mmpretrain.registry import MODELS

import mkd_mm  # noqa: F401
from mkd_mm.engine.runner import MKDRunner
from mkd_mm.models import num_visible_patches

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DMAE_CONFIGS = sorted(glob.glob(osp.join(ROOT, 'configs', 'dmae', '*.py')))
MAE_CONFIGS = sorted(glob.glob(osp.join(ROOT, 'configs', 'mae', '*.py')))
IMG, PATCH = 64, 8


def _depth(arch):
    if isinstance(arch, str):
        return VisionTransformer.arch_zoo[arch]['num_layers']
    return arch['num_layers']


def _width(arch):
    if isinstance(arch, str):
        return VisionTransformer.arch_zoo[arch]['embed_dims']
    return arch['embed_dims']


def shrink(model_cfg):
    """Tiny widths, the config's depths, 64 px images."""
    cfg = copy.deepcopy(model_cfg)
    s_dim = 8 * (1 + _width(cfg.backbone.arch) // 384)  # Ti 8, S 16, B 24
    cfg.backbone.update(
        arch=dict(
            embed_dims=s_dim,
            num_layers=_depth(cfg.backbone.arch),
            num_heads=2,
            feedforward_channels=2 * s_dim),
        img_size=IMG,
        patch_size=PATCH)
    cfg.neck.update(
        num_patches=(IMG // PATCH)**2,
        patch_size=PATCH,
        embed_dim=s_dim,
        decoder_embed_dim=8,
        decoder_num_heads=2)
    cfg.head.patch_size = PATCH
    if 'teacher' in cfg:
        t_dim = 8 * (2 + _width(cfg.teacher.arch) // 256)  # B 40, L 48
        cfg.teacher.update(
            arch=dict(
                embed_dims=t_dim,
                num_layers=_depth(cfg.teacher.arch),
                num_heads=2,
                feedforward_channels=2 * t_dim),
            img_size=IMG,
            patch_size=PATCH,
            init_cfg=None)
    return cfg


def _cpu_optim_wrapper(cfg):
    ow = copy.deepcopy(cfg.optim_wrapper)
    assert ow.pop('type') == 'AmpOptimWrapper'  # real configs: AMP
    ow.pop('loss_scale')
    return ow


@pytest.mark.parametrize('path', DMAE_CONFIGS + MAE_CONFIGS, ids=osp.basename)
def test_config_builds_and_runs_one_loss(path):
    cfg = Config.fromfile(path)
    assert cfg.default_scope == 'mmpretrain'
    assert 'mkd_mm' in cfg.custom_imports.imports
    torch.manual_seed(0)
    model = MODELS.build(shrink(cfg.model))
    model.init_weights()
    x = torch.randn(2, 3, IMG, IMG)
    losses = model.loss(x, data_samples=None)
    total = sum(v for k, v in losses.items() if 'loss' in k)
    assert torch.isfinite(total)
    if cfg.model.type == 'DMAE':
        assert {'loss_rec', 'loss_align'} <= set(losses)
        assert model.teacher.depth == max(cfg.model.teacher_layers) + 1
        assert len(model.projectors) == len(cfg.model.student_layers)
    else:
        assert set(losses) == {'loss'}
    # one optimizer step with the config's own optimizer settings
    optim = build_optim_wrapper(model, _cpu_optim_wrapper(cfg))
    optim.update_params(total)


@pytest.mark.parametrize('path', DMAE_CONFIGS + MAE_CONFIGS, ids=osp.basename)
def test_recipe(path):
    """100 epochs, 20 warm-up, 4096 images/step, lr 2.4e-3, data."""
    cfg = Config.fromfile(path)
    assert cfg.train_cfg.max_epochs == 100
    (sched, ) = cfg.param_scheduler
    assert sched.type == 'StagedWarmupCosineLR'
    assert sched.stage_ends == [100] and sched.warmup == 20
    assert sched.eta_min == 0 and sched.convert_to_iter_based
    opt = cfg.optim_wrapper.optimizer
    assert opt.type == 'AdamW' and tuple(opt.betas) == (0.9, 0.95)
    assert opt.weight_decay == 0.05
    accum = cfg.optim_wrapper.accumulative_counts
    per_gpu = cfg.train_dataloader.batch_size
    assert (per_gpu, accum) == (128, 4)
    assert 8 * per_gpu * accum == 4096
    # the lr the configs' runner (MKDRunner.scale_lr) produces on 8 GPUs:
    # total batch 8 x 128 x 4 = 4096 = the recipe's, so 2.4e-3 unchanged
    assert cfg.runner_type == 'mmpretrain.MKDRunner'
    assert cfg.auto_scale_lr.base_batch_size == 4096
    model = torch.nn.Linear(2, 2)
    ow = build_optim_wrapper(model, _cpu_optim_wrapper(cfg))
    fake_runner = SimpleNamespace(
        _train_dataloader=cfg.train_dataloader, world_size=8)
    fake_runner.batch_sizes = lambda w: MKDRunner.batch_sizes(fake_runner, w)
    assert cfg.auto_scale_lr.enable
    MKDRunner.scale_lr(fake_runner, ow, cfg.auto_scale_lr)
    assert ow.optimizer.param_groups[0]['lr'] == pytest.approx(2.4e-3)
    # the data pipeline: RRC(0.2, 1) bicubic + flip, no colour jitter
    steps = [t['type'] for t in cfg.train_dataloader.dataset.pipeline]
    assert steps == [
        'StrictLoadImageFromFile', 'RandomResizedCrop', 'RandomFlip', 'PackInputs'
    ]
    rrc = cfg.train_dataloader.dataset.pipeline[1]
    assert (rrc.scale, tuple(rrc.crop_ratio_range),
            rrc.interpolation) == (224, (0.2, 1.0), 'bicubic')
    assert cfg.model.head.norm_pix is False  # official DMAE default


def test_schedule_values_per_iteration():
    from mkd_mm.engine import StagedWarmupCosineLR
    cfg = Config.fromfile(osp.join(ROOT, 'configs/dmae/vitb_from_vitl.py'))
    model = torch.nn.Linear(2, 2)
    ow = build_optim_wrapper(model, _cpu_optim_wrapper(cfg))
    for g in ow.optimizer.param_groups:
        g['lr'] = 2.4e-3
    kwargs = {
        k: v
        for k, v in cfg.param_scheduler[0].items()
        if k not in ('type', 'convert_to_iter_based')
    }
    sched = StagedWarmupCosineLR.build_iter_from_epoch(
        ow, epoch_length=10, **kwargs)
    lrs = []
    for _ in range(1000):
        lrs.append(ow.optimizer.param_groups[0]['lr'])
        sched.step()
    assert lrs[0] == 0.0  # warm-up from exactly 0
    assert lrs[100] == pytest.approx(2.4e-3 * 100 / 200)
    assert lrs[200] == pytest.approx(2.4e-3)  # peak after 20 epochs
    assert lrs[600] == pytest.approx(2.4e-3 * 0.5 *
                                     (1 + math.cos(math.pi * 400 / 800)))
    assert lrs[999] == pytest.approx(0, abs=1e-7)


def test_weight_decay_groups_match_official_add_weight_decay():
    """No decay exactly for ndim <= 1 or bias; frozen params excluded."""
    cfg = Config.fromfile(osp.join(ROOT, 'configs/dmae/vitb_from_vitl.py'))
    model = MODELS.build(shrink(cfg.model))
    ow = build_optim_wrapper(model, _cpu_optim_wrapper(cfg))
    wd = {}
    for group in ow.optimizer.param_groups:
        for p in group['params']:
            wd[id(p)] = group.get('weight_decay',
                                  ow.optimizer.defaults['weight_decay'])
    names = {id(p): n for n, p in model.named_parameters()}
    for n, p in model.named_parameters():
        if not p.requires_grad:  # teacher, fixed sin-cos pos embeddings
            assert id(p) not in wd, n
            assert n.startswith('teacher.') or 'pos_embed' in n, n
            continue
        expected = 0.0 if (p.ndim <= 1 or n.endswith('.bias')) else 0.05
        assert wd[id(p)] == expected, n
    decayed = {names[i] for i, v in wd.items() if v > 0}
    # official quirk kept: the cls and mask tokens ARE decayed
    assert {'backbone.cls_token', 'neck.mask_token'} <= decayed
    assert any(n.startswith('projectors.') for n in decayed)


@pytest.mark.parametrize('name,ratio,visible', [
    ('vitb_from_vitl.py', 0.75, 49),
    ('vitb_from_vitl_mask0.90.py', 0.90, 19),
    ('vitb_from_vitl_mask0.95.py', 0.95, 9),
    ('vitb_from_vitl_mask0.98.py', 0.98, 3),
])
def test_mask_ratio_variants_visible_patches(name, ratio, visible):
    cfg = Config.fromfile(osp.join(ROOT, 'configs/dmae', name))
    assert cfg.model.backbone.mask_ratio == ratio
    assert num_visible_patches(196, ratio) == visible
    assert f'= {visible}' in open(osp.join(ROOT, 'configs/dmae',
                                           name)).read() or visible == 49


def test_variants_differ_only_where_stated():
    base = Config.fromfile(osp.join(ROOT, 'configs/dmae/vitb_from_vitl.py'))
    assert base.model.projector.mode == 'mlp'  # paper default
    assert base.model.student_layers == [8]
    assert base.model.teacher_layers == [17]
    assert base.model.teacher.arch == 'l' and base.model.alpha == 1.0
    assert base.model.align_loss == dict(
        type='FeatureAlignLoss', criterion='L1', normalize=True)
    assert base.model.teacher.init_cfg.checkpoint == \
        'checkpoints/mae_visualize_vit_large.pth'
    lin = Config.fromfile(
        osp.join(ROOT, 'configs/dmae/vitb_from_vitl_official-linear-head.py'))
    assert lin.model.projector.mode == 'linear'
    assert lin.model.projector.init == 'default'
    dec2 = Config.fromfile(
        osp.join(ROOT, 'configs/dmae/vitb_from_vitl_dec2.py'))
    assert dec2.model.neck.decoder_depth == 2
    for name, s_arch, t_arch, s_idx, t_idx in [
        ('vits_from_vitl.py', 'deit-small', 'l', 8, 17),
        ('vits_from_vitb.py', 'deit-small', 'b', 8, 8),
        ('vitt_from_vitb.py', 'deit-tiny', 'b', 8, 8),
    ]:
        cfg = Config.fromfile(osp.join(ROOT, 'configs/dmae', name))
        assert cfg.model.backbone.arch == s_arch
        assert cfg.model.teacher.arch == t_arch
        assert cfg.model.neck.embed_dim == _width(s_arch)
        # 3/4 depth of both
        assert (s_idx + 1) / 12 == 0.75
        assert (t_idx + 1) / _depth(t_arch) == 0.75
        assert cfg.model.student_layers == [s_idx]
        assert cfg.model.teacher_layers == [t_idx]


def test_full_size_main_config_builds():
    """The real ViT-B <- ViT-L model (no teacher file needed to build)."""
    cfg = Config.fromfile(osp.join(ROOT, 'configs/dmae/vitb_from_vitl.py'))
    with torch.device('meta'):
        model = MODELS.build(cfg.model)
    assert len(model.teacher.layers) == 18 and model.teacher.depth == 18
    assert model.teacher.embed_dims == 1024 and not model.teacher.final_norm
    (proj, ) = model.projectors
    assert [
        tuple(m.weight.shape) for m in proj.layers
        if isinstance(m, torch.nn.Linear)
    ] == [(1024, 768), (1024, 1024)]
    assert model.neck.decoder_pred.out_features == 16 * 16 * 3
    assert len(model.neck.decoder_blocks) == 8
    assert model.backbone.num_patches == 196
    n_student = sum(p.numel() for n, p in model.named_parameters()
                    if n.startswith('backbone.'))
    assert n_student == pytest.approx(85.8e6, rel=0.01)  # ViT-B encoder


def test_metafile_lists_every_dmae_config():
    import yaml
    with open(osp.join(ROOT, 'configs/dmae/metafile.yml')) as f:
        meta = yaml.safe_load(f)
    listed = {m['Config'] for m in meta['Models']}
    on_disk = {osp.relpath(p, ROOT) for p in DMAE_CONFIGS}
    assert listed == on_disk
    assert all(m['In Collection'] == 'DMAE' for m in meta['Models'])
