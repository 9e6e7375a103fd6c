# Copyright (c) mkd_mm contributors. All rights reserved.
import os.path as osp

import pytest
import torch
from mmengine.runner import Runner

from mkd_mm.testing import tiny_pretrain_runner_cfg


def _run(work_dir, **kwargs):
    runner = Runner(**tiny_pretrain_runner_cfg(str(work_dir), **kwargs))
    runner.train()
    return runner


def _weights(runner):
    model = runner.model
    return {k: v.clone() for k, v in model.state_dict().items()}


def test_two_stage_run_breakpoint_and_lr_restart(tmp_path):
    records = []

    from mmengine.hooks import Hook

    class Probe(Hook):
        priority = 'LOWEST'

        def before_train_iter(self, runner, batch_idx, data_batch=None):
            m = runner.model
            records.append(
                (runner.epoch, int(m.stage),
                 runner.optim_wrapper.get_lr()['lr'][0],
                 {k: v.clone() for k, v in m.backbone.state_dict().items()},
                 {k: v.clone() for k, v in m.teacher.state_dict().items()}))

    cfg = tiny_pretrain_runner_cfg(str(tmp_path), max_epochs=4)
    cfg['custom_hooks'].append(Probe())
    runner = Runner(**cfg)
    runner.train()
    # 8 samples / batch 4 = 2 iterations per epoch, stages [2, 4] epochs
    stages = [r[1] for r in records]
    assert stages == [0, 0, 0, 0, 1, 1, 1, 1]
    lrs = [r[2] for r in records]
    # warm-up of 1 epoch = 2 iterations from exactly 0, then cosine; restart
    assert lrs[0] == 0 and lrs[4] == 0
    assert lrs[1] == pytest.approx(0.5e-3)
    assert lrs[1:4] == pytest.approx(lrs[5:8])
    # at the breakpoint, the teacher took the last stage-1 student weights
    # (after the last stage-1 optimizer step, i.e. the stage-1 final
    # checkpoint) and the student was re-initialised
    final1 = torch.load(
        osp.join(tmp_path, 'stage1_final.pth'), weights_only=True)
    sd1 = final1['state_dict']
    teacher2 = records[4][4]
    for k, v in teacher2.items():
        assert torch.equal(v, sd1['backbone.' + k]), k
    student2 = records[4][3]
    assert not torch.equal(student2['layers.0.attn.qkv.weight'],
                           sd1['backbone.layers.0.attn.qkv.weight'])
    assert torch.count_nonzero(student2['layers.0.attn.qkv.bias']) == 0
    assert osp.exists(osp.join(tmp_path, 'stage2_final.pth'))
    assert int(runner.model.stage) == 1


@pytest.fixture(scope='module')
def uninterrupted(tmp_path_factory):
    """A 2 x 2-epoch run with a checkpoint after every epoch."""
    work_dir = tmp_path_factory.mktemp('uninterrupted')
    return _weights(_run(work_dir, max_epochs=4)), work_dir


@pytest.mark.parametrize('resume_epoch', [1, 2, 3])
def test_resume_is_bit_identical(tmp_path, uninterrupted, resume_epoch):
    """Resume mid-stage (1), at the stage end before the breakpoint (2) and
    right after the breakpoint (3) of a 2 x 2-epoch run."""
    ref, work_dir = uninterrupted
    ckpt = osp.join(work_dir, f'epoch_{resume_epoch}.pth')
    # a fresh runner with another global RNG state before it restores one
    torch.manual_seed(1234)
    resumed = _run(tmp_path, max_epochs=4, load_from=ckpt, resume=True)
    got = _weights(resumed)
    assert got.keys() == ref.keys()
    for k in ref:
        assert torch.equal(got[k], ref[k]), k


def test_bad_stage_ends_are_reported(tmp_path):
    with pytest.raises(ValueError, match='must equal `train_cfg.max_epochs`'):
        _run(tmp_path / 'a', max_epochs=6, stage_ends=[2, 4])
    with pytest.raises(ValueError, match='strictly'):
        cfg = tiny_pretrain_runner_cfg(str(tmp_path / 'b'), max_epochs=4)
        cfg['custom_hooks'][0]['stage_ends'] = [3, 2, 4]
        Runner(**cfg).train()
    with pytest.raises(ValueError, match='describe different stages'):
        cfg = tiny_pretrain_runner_cfg(str(tmp_path / 'c'), max_epochs=4)
        cfg['custom_hooks'][0]['stage_ends'] = [1, 4]
        Runner(**cfg).train()


def test_reset_optimizer_option(tmp_path):
    cfg = tiny_pretrain_runner_cfg(str(tmp_path), max_epochs=2,
                                   stage_ends=[1, 2], warmup=0.5)
    cfg['custom_hooks'][0]['reset_optimizer'] = True
    steps = []
    from mmengine.hooks import Hook

    class Probe(Hook):
        priority = 'LOWEST'

        def before_train_iter(self, runner, batch_idx, data_batch=None):
            state = runner.optim_wrapper.optimizer.state
            steps.append(
                max([int(s['step']) for s in state.values()], default=0))

    cfg['custom_hooks'].append(Probe())
    Runner(**cfg).train()
    assert steps == [0, 1, 0, 1]  # moments and step cleared at the boundary


def test_momentum_teacher(tmp_path):
    cfg = tiny_pretrain_runner_cfg(str(tmp_path), max_epochs=2,
                                   stage_ends=[2])
    cfg['custom_hooks'][0]['momentum'] = dict(type='constant', value=0.5)
    runner = Runner(**cfg)
    runner.train()
    m = runner.model
    assert int(m.stage) == 0
    # the teacher moved towards the student but is not equal to it
    s = m.backbone.layers[0].attn.qkv.weight
    t = m.teacher.layers[0].attn.qkv.weight
    assert not torch.equal(s, t)
    from mkd_mm.engine import BootstrapTeacherHook
    hook = BootstrapTeacherHook(momentum=dict(type='cosine', base=0.996))
    assert hook.momentum_at(0, 100) == pytest.approx(0.996)
    assert hook.momentum_at(50, 100) == pytest.approx(0.998)
    assert hook.momentum_at(100, 100) == pytest.approx(1.0)
