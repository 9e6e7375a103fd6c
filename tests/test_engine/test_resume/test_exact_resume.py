# Copyright (c) mkd_mm contributors. All rights reserved.
"""Exact resume after SIGKILL and safe checkpoint writes, with real
``tools/train.py`` subprocesses on the CPU (issue #7, parts 1 and 2).

dBOT: 3 stages x 2 epochs x 3 iterations (boundaries after iterations 6
and 12), a checkpoint after every iteration. One uninterrupted reference
run; one run that is killed again and again and restarted each time with
``tools/train.py CONFIG --work-dir SAME --resume`` (in a process forked
from the test process, the last one with ``python tools/train.py``):

1. SIGKILL after iteration 2 (mid-epoch, mid-stage);
2. after iteration 6 (the last iteration before the first boundary, before
   the epoch-end hooks ran);
3. after iteration 7 (right after the boundary, mid-epoch);
4. during the save of ``iter_11.pth`` (half of the bytes written);
5. the newest complete checkpoint, ``iter_10.pth``, truncated by hand;
   the restart warns, skips it and resumes from ``iter_9.pth``.

After every kill the newest checkpoint equals the reference's of the same
iteration, and the final one (student, teacher, stage, optimizer,
schedulers) is bit-identical. DMAE: one mid-epoch kill.
"""
import re
from pathlib import Path

import pytest
from resume_helpers import (ITERS_PER_EPOCH, assert_same_training_state,
                            describe, last_checkpoint, train, write_config)

from mkd_mm.utils.resume import check_resume_checkpoint

DBOT_EPOCHS, DBOT_STAGES = 6, [2, 4, 6]
DBOT_ITERS = DBOT_EPOCHS * ITERS_PER_EPOCH
SIGKILL_EXIT = -9


@pytest.fixture(scope='module')
def dbot_config(tmp_path_factory, demo_data) -> Path:
    folder = tmp_path_factory.mktemp('dbot_resume_cfg')
    return write_config(folder / 'dbot_tiny.py', demo_data, 'dbot',
                        DBOT_EPOCHS, DBOT_STAGES)


@pytest.fixture(scope='module')
def dbot_reference(tmp_path_factory, dbot_config) -> Path:
    """The uninterrupted run."""
    work_dir = tmp_path_factory.mktemp('dbot_reference')
    proc = train(dbot_config, work_dir)
    assert proc.returncode == 0, describe(proc)
    assert (work_dir / f'iter_{DBOT_ITERS}.pth').is_file()
    return work_dir


@pytest.fixture(scope='module')
def dbot_interrupted(tmp_path_factory, dbot_config) -> dict:
    """The run killed at every point of the module docstring, in order."""
    work_dir = tmp_path_factory.mktemp('dbot_interrupted')
    steps = {}
    for name, kwargs in (('mid_stage', dict(kill_after_iter=2)),
                         ('before_boundary', dict(kill_after_iter=6)),
                         ('after_boundary', dict(kill_after_iter=7)),
                         ('during_save',
                          dict(kill_during_save='iter_11.pth'))):
        proc = train(dbot_config, work_dir, resume=bool(steps), **kwargs)
        assert proc.returncode == SIGKILL_EXIT, f'{name}: {describe(proc)}'
        steps[name] = dict(
            proc=proc,
            latest=last_checkpoint(work_dir),
            files=sorted(p.name for p in work_dir.iterdir()))
    # a damaged newest checkpoint (e.g. a disk error): truncated by hand
    damaged = work_dir / 'iter_10.pth'
    damaged.write_bytes(damaged.read_bytes()[:1000])
    # the last restart is the real command line in a fresh interpreter
    proc = train(dbot_config, work_dir, resume=True, fresh_interpreter=True)
    assert proc.returncode == 0, describe(proc)
    steps['final'] = dict(proc=proc)
    return dict(work_dir=work_dir, steps=steps)


@pytest.mark.parametrize('step, iteration', [('mid_stage', 2),
                                             ('before_boundary', 6),
                                             ('after_boundary', 7)])
def test_checkpoint_at_kill_matches_reference(dbot_interrupted, dbot_reference,
                                              step, iteration):
    info = dbot_interrupted['steps'][step]
    assert f'SIGKILL after iteration {iteration}' in info['proc'].stdout
    assert info['latest'].name == f'iter_{iteration}.pth'
    assert_same_training_state(info['latest'],
                               dbot_reference / info['latest'].name)


def test_resumed_mid_epoch_without_loading_skipped_batches(dbot_interrupted):
    steps = dbot_interrupted['steps']
    # restarted from iter_2 (epoch 1, batch 3 of 3 is next)
    assert 'Resuming epoch 1 at batch 3 of 3' in steps['before_boundary'][
        'proc'].stdout
    # restarted from iter_7 (epoch 3, stage 2): batch 2 is next
    assert 'Resuming epoch 3 at batch 2 of 3' in steps['during_save'][
        'proc'].stdout
    # restarted from iter_6: the rest of epoch 2 is empty, the stage-1 end
    # is saved and the breakpoint taken by the resumed run
    log = steps['after_boundary']['proc'].stdout
    assert 'dBOT stage 1 finished; saved stage1_final.pth' in log
    assert 'dBOT stage 2 starts at epoch 2' in log


def test_kill_during_save_leaves_no_truncated_checkpoint(dbot_interrupted):
    info = dbot_interrupted['steps']['during_save']
    assert 'SIGKILL while writing iter_11.pth' in info['proc'].stdout
    assert 'iter_11.pth' not in info['files']
    temps = [f for f in info['files'] if f.startswith('iter_11.pth.tmp-')]
    assert len(temps) == 1, info['files']
    # last_checkpoint names the previous, complete checkpoint
    assert info['latest'].name == 'iter_10.pth'


def test_resume_skips_damaged_checkpoint_and_cleans_up(dbot_interrupted,
                                                       dbot_reference):
    work_dir = dbot_interrupted['work_dir']
    log = dbot_interrupted['steps']['final']['proc'].stdout
    damaged = work_dir / 'iter_10.pth'
    warning = re.search(r'WARNING.*Skipping unreadable checkpoint (\S+):', log)
    assert warning and Path(warning[1]) == damaged, log[-3000:]
    assert f'--resume auto: resuming from {work_dir / "iter_9.pth"}' in log
    assert re.search(r'Removed \S+iter_11\.pth\.tmp-\d+: an incomplete', log)
    assert not list(work_dir.glob('*.tmp-*'))
    # the resumed run rewrote iter_10 and wrote iter_11 completely
    check_resume_checkpoint(str(damaged))
    assert_same_training_state(damaged, dbot_reference / 'iter_10.pth')


def test_final_weights_bit_identical(dbot_interrupted, dbot_reference):
    work_dir = dbot_interrupted['work_dir']
    final = f'iter_{DBOT_ITERS}.pth'
    assert last_checkpoint(work_dir).name == final
    assert_same_training_state(work_dir / final, dbot_reference / final)
    for k in (1, 2, 3):
        name = f'stage{k}_final.pth'
        assert_same_training_state(work_dir / name, dbot_reference / name)


def test_dmae_mid_epoch_kill_resumes_bit_identically(tmp_path, demo_data):
    config = write_config(tmp_path / 'dmae_tiny.py', demo_data, 'dmae', 2)
    reference, interrupted = tmp_path / 'reference', tmp_path / 'interrupted'
    proc = train(config, reference)
    assert proc.returncode == 0, describe(proc)
    proc = train(config, interrupted, kill_after_iter=4)
    assert proc.returncode == SIGKILL_EXIT, describe(proc)
    assert last_checkpoint(interrupted).name == 'iter_4.pth'
    proc = train(config, interrupted, resume=True)
    assert proc.returncode == 0, describe(proc)
    assert 'Resuming epoch 2 at batch 2 of 3' in proc.stdout
    final = f'iter_{2 * ITERS_PER_EPOCH}.pth'
    assert_same_training_state(interrupted / final, reference / final)
