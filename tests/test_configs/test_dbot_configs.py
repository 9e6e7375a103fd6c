# Copyright (c) mkd_mm contributors. All rights reserved.
import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmpretrain.registry import MODELS

import mkd_mm  # noqa: F401
from mkd_mm.models import MKDViT
from mkd_mm.testing import shrink_pretrain_model

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
# the CLIP recipe (no decoder, CLIP teacher) has its own config test
CONFIGS = sorted(
    c for c in glob.glob(osp.join(ROOT, 'configs', 'dbot', '*.py'))
    if '_clip-' not in osp.basename(c))

_TO_TIMM = [('patch_embed.projection.', 'patch_embed.proj.'),
            ('.ln1.', '.norm1.'), ('.ln2.', '.norm2.'),
            ('.ffn.layers.0.0.', '.mlp.fc1.'), ('.ffn.layers.1.', '.mlp.fc2.')]


def _to_timm(key):
    if key.startswith('ln1.'):
        return 'norm.' + key[4:]
    key = key.replace('layers.', 'blocks.', 1) if key.startswith(
        'layers.') else key
    for a, b in _TO_TIMM:
        key = key.replace(a, b)
    return key


def _fake_teacher_ckpt(teacher_cfg, path, official):
    """A checkpoint of the teacher's (tiny) architecture, in the format the
    config expects: official timm keys or an mkd_mm/mmpretrain file."""
    vit = MKDViT(
        arch=teacher_cfg['arch'],
        img_size=teacher_cfg['img_size'],
        patch_size=teacher_cfg['patch_size'])
    vit.init_weights()
    sd = vit.state_dict()
    if official:
        torch.save({'model': {_to_timm(k): v for k, v in sd.items()}}, path)
    else:
        torch.save({'state_dict': {'backbone.' + k: v
                                   for k, v in sd.items()}}, path)


def test_all_dbot_configs_are_covered():
    names = {osp.basename(c) for c in CONFIGS}
    for required in ('vitb_stage1.py', 'vitb_stage2.py', 'vitb_stage3.py',
                     'vitl_stage1.py', 'vitl_stage2.py', 'vith_stage1.py',
                     'vith_stage2.py', 'vitb_2x800e.py', 'vitb_3x800e.py'):
        assert required in names


@pytest.mark.parametrize('path', CONFIGS, ids=osp.basename)
def test_config_builds_and_runs_one_loss(path, tmp_path):
    cfg = Config.fromfile(path)
    assert cfg.default_scope == 'mmpretrain'
    assert 'mkd_mm' in cfg.custom_imports['imports']
    model_cfg = shrink_pretrain_model(cfg.model.to_dict())
    init = model_cfg['teacher'].get('init_cfg')
    if init and init.get('type') == 'Pretrained':
        ckpt = str(tmp_path / 'teacher.pth')
        official = not init['checkpoint'].startswith('work_dirs/')
        _fake_teacher_ckpt(model_cfg['teacher'], ckpt, official)
        init['checkpoint'] = ckpt
    model_cfg['teacher_precision'] = 'fp32'
    model = MODELS.build(model_cfg)
    model.init_weights()
    x = torch.randn(2, 3, 32, 32)
    losses = model.loss(x)
    assert losses['loss'].isfinite() and losses['loss'] > 0
    # the schedule: peak lr 2.4e-3 at 4096 images per optimizer step
    assert cfg.optim_wrapper.optimizer.lr == pytest.approx(2.4e-3)
    per_step = (cfg.train_dataloader.batch_size * 8 *
                cfg.optim_wrapper.accumulative_counts)
    assert per_step == 4096
    hooks = [h['type'] for h in cfg.custom_hooks]
    assert cfg.default_hooks.rng_state.type.endswith('RNGStateHook')
    sched = cfg.param_scheduler[0]
    assert sched['type'] == 'StagedWarmupCosineLR' and sched['warmup'] == 40
    assert sched['stage_ends'][-1] == cfg.train_cfg.max_epochs
    if 'BootstrapTeacherHook' in hooks:
        hook = cfg.custom_hooks[hooks.index('BootstrapTeacherHook')]
        assert hook['stage_ends'] == sched['stage_ends']


def test_stage2_teacher_checkpoint_overridable():
    cfg = Config.fromfile(osp.join(ROOT, 'configs/dbot/vitb_stage2.py'))
    assert cfg.model.teacher.init_cfg.checkpoint == \
        'work_dirs/vitb_stage1/epoch_800.pth'
    cfg.merge_from_dict(
        {'model.teacher.init_cfg.checkpoint': 'other/file.pth'})
    assert cfg.model.teacher.init_cfg.checkpoint == 'other/file.pth'


def test_stage_by_stage_seeds_draw_a_fresh_student():
    """Each stage config has its own seed, so the stage-2 (3) student does
    not restart from the stage-1 student's initial weights (nor the random
    stage-1 teacher's, a copy of them), as in the one-run schedule."""
    from mmengine.runner import set_random_seed
    seeds, inits = {}, {}
    for name in ('vitb_stage1', 'vitb_stage2', 'vitb_stage3'):
        cfg = Config.fromfile(osp.join(ROOT, 'configs', 'dbot', f'{name}.py'))
        seeds[name] = cfg.randomness.seed
        model_cfg = shrink_pretrain_model(cfg.model.to_dict())
        model_cfg['teacher'].pop('init_cfg', None)
        set_random_seed(cfg.randomness.seed)
        model = MODELS.build(model_cfg)
        model.init_weights()
        inits[name] = model
    assert len(set(seeds.values())) == 3
    s1, s2, s3 = inits['vitb_stage1'], inits['vitb_stage2'], inits[
        'vitb_stage3']
    key = 'layers.0.attn.qkv.weight'
    w1 = s1.backbone.state_dict()[key]
    assert torch.equal(s1.teacher.state_dict()[key], w1)  # random teacher
    for other in (s2, s3):
        w = other.backbone.state_dict()[key]
        assert (w - w1).norm() / w1.norm() > 0.5
    for name in ('vitl', 'vith'):
        seeds = [
            Config.fromfile(osp.join(ROOT, 'configs', 'dbot',
                                     f'{name}_stage{k}.py')).randomness.seed
            for k in (1, 2)
        ]
        assert seeds[0] != seeds[1], name
