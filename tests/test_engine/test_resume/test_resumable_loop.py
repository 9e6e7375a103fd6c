# Copyright (c) mkd_mm contributors. All rights reserved.
"""ResumableSampler and ResumableEpochBasedTrainLoop, in process."""
import copy
import os.path as osp

import pytest
import torch
from mmengine.dataset import DefaultSampler
from mmengine.hooks import Hook
from mmengine.runner import Runner
from mmpretrain.registry import DATASETS

import mkd_mm  # noqa: F401
from mkd_mm.datasets import ResumableSampler
from mkd_mm.testing import TinyImageDataset, tiny_pretrain_runner_cfg

NUM_SAMPLES, BATCH = 12, 4  # 3 iterations per epoch


@DATASETS.register_module(force=True)
class LoadRecordingDataset(TinyImageDataset):
    """Records every index it loads (in the class: runners rebuild it)."""
    loaded: list = []

    def prepare_data(self, idx: int) -> dict:
        LoadRecordingDataset.loaded.append(idx)
        return super().prepare_data(idx)


class BatchIndexProbe(Hook):
    """Records the batch indices the hooks see."""

    def __init__(self):
        self.batch_indices = []

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        self.batch_indices.append((runner.epoch, batch_idx, runner.iter))


def _ranks(monkeypatch, rank, world_size):
    monkeypatch.setattr('mmengine.dataset.sampler.get_dist_info', lambda:
                        (rank, world_size))


@pytest.mark.parametrize('world_size', [1, 2])
@pytest.mark.parametrize('shuffle', [True, False])
def test_sampler_order_equals_default_sampler(monkeypatch, world_size,
                                              shuffle):
    dataset = list(range(11))  # uneven: rounded up for 2 ranks
    for rank in range(world_size):
        _ranks(monkeypatch, rank, world_size)
        ref = DefaultSampler(dataset, shuffle=shuffle, seed=3)
        ours = ResumableSampler(dataset, shuffle=shuffle, seed=3)
        assert len(ours) == len(ref) == -(-11 // world_size)
        for epoch in range(3):
            ref.set_epoch(epoch)
            ours.set_epoch(epoch)
            assert list(ours) == list(ref)
    # the epochs are really shuffled differently (the test can fail)
    if shuffle:
        ref.set_epoch(0)
        first = list(ref)
        ref.set_epoch(1)
        assert list(ref) != first


def test_sampler_skip_is_one_shot_and_checked(monkeypatch):
    _ranks(monkeypatch, 1, 2)
    dataset = list(range(20))
    ref = DefaultSampler(dataset, shuffle=True, seed=5)
    ours = ResumableSampler(dataset, shuffle=True, seed=5)
    ref.set_epoch(4)
    ours.set_epoch(4)
    full = list(ref)
    ours.skip_next(4)
    assert ours.pending_skip == 4
    assert list(ours) == full[4:] and len(full[4:]) == 6
    assert len(ours) == 10  # the epoch length does not change
    assert list(ours) == full  # only the next epoch is shortened
    ours.skip_next(10)
    assert list(ours) == []
    with pytest.raises(ValueError, match='cannot skip 11 samples'):
        ours.skip_next(11)


def _cfg(work_dir, sampler='ResumableSampler', loop='Resumable', **kwargs):
    cfg = tiny_pretrain_runner_cfg(
        str(work_dir),
        max_epochs=2,
        stage_ends=[2],
        num_samples=NUM_SAMPLES,
        batch_size=BATCH,
        **kwargs)
    cfg['train_dataloader']['dataset']['type'] = 'LoadRecordingDataset'
    cfg['train_dataloader']['sampler']['type'] = sampler
    cfg['train_cfg']['type'] = f'{loop}EpochBasedTrainLoop'
    cfg['default_hooks']['checkpoint'] = dict(
        type='CheckpointHook', by_epoch=False, interval=1)
    cfg['default_hooks']['logger'] = dict(type='LoggerHook', interval=100)
    return cfg


def _train(cfg, resume_from=None):
    LoadRecordingDataset.loaded = []
    probe = BatchIndexProbe()
    cfg = copy.deepcopy(cfg)
    cfg['custom_hooks'] = cfg['custom_hooks'] + [probe]
    if resume_from is not None:
        cfg.update(load_from=resume_from, resume=True)
        torch.manual_seed(1234)  # another RNG state before the restore
    runner = Runner(**cfg)
    runner.train()
    return runner, probe, list(LoadRecordingDataset.loaded)


@pytest.fixture(scope='module')
def uninterrupted(tmp_path_factory):
    work_dir = tmp_path_factory.mktemp('loop_reference')
    runner, probe, loaded = _train(_cfg(work_dir))
    return work_dir, runner, probe, loaded


def test_uninterrupted_run_is_mmengine_loop(tmp_path, uninterrupted):
    """Same batches, hook calls and weights as EpochBasedTrainLoop +
    DefaultSampler."""
    _, runner, probe, loaded = uninterrupted
    plain, plain_probe, plain_loaded = _train(
        _cfg(tmp_path, sampler='DefaultSampler', loop=''))
    assert len(loaded) == 2 * NUM_SAMPLES and sorted(loaded[:12]) == list(
        range(12))
    assert loaded == plain_loaded
    assert probe.batch_indices == plain_probe.batch_indices == [
        (e, b, 3 * e + b) for e in range(2) for b in range(3)
    ]
    ours, theirs = runner.model.state_dict(), plain.model.state_dict()
    assert all(torch.equal(ours[k], theirs[k]) for k in theirs)


@pytest.mark.parametrize('resume_iter', [1, 2, 3, 4])
def test_resume_mid_epoch_skips_without_loading(tmp_path, uninterrupted,
                                                resume_iter):
    ref_dir, ref_runner, ref_probe, ref_loaded = uninterrupted
    ckpt = osp.join(ref_dir, f'iter_{resume_iter}.pth')
    runner, probe, loaded = _train(_cfg(tmp_path), resume_from=ckpt)
    # exactly the samples the uninterrupted run loaded after that point
    assert loaded == ref_loaded[resume_iter * BATCH:]
    assert probe.batch_indices == ref_probe.batch_indices[resume_iter:]
    assert runner.iter == 6 and runner.epoch == 2
    ref = ref_runner.model.state_dict()
    got = runner.model.state_dict()
    assert all(torch.equal(got[k], ref[k]) for k in ref)


def test_mmengine_loop_retrains_the_resumed_epoch(tmp_path, uninterrupted):
    """The fact this loop fixes: EpochBasedTrainLoop restarts the epoch."""
    ref_dir = uninterrupted[0]
    runner, probe, loaded = _train(
        _cfg(tmp_path, loop=''), resume_from=osp.join(ref_dir, 'iter_1.pth'))
    assert len(loaded) == 2 * NUM_SAMPLES  # batch 0 loaded and trained again
    assert probe.batch_indices[0] == (0, 0, 1)
    assert runner.iter == 7  # one iteration more than the schedule


def test_mid_epoch_resume_needs_resumable_sampler(tmp_path, uninterrupted):
    ref_dir = uninterrupted[0]
    with pytest.raises(TypeError, match="sampler=dict\\(type='Resumable"):
        _train(
            _cfg(tmp_path, sampler='DefaultSampler'),
            resume_from=osp.join(ref_dir, 'iter_1.pth'))
    # an epoch-end position needs no skipping: any sampler works
    runner, _, loaded = _train(
        _cfg(tmp_path / 'b', sampler='DefaultSampler'),
        resume_from=osp.join(ref_dir, 'iter_3.pth'))
    assert runner.iter == 6 and len(loaded) == NUM_SAMPLES


def test_changed_epoch_length_is_reported(tmp_path, uninterrupted):
    ref_dir = uninterrupted[0]
    cfg = _cfg(tmp_path)
    cfg['train_dataloader']['batch_size'] = 6  # 2 iterations per epoch
    # (BootstrapTeacherHook would already refuse the changed schedule)
    cfg['custom_hooks'] = [dict(type='RNGStateHook')]
    with pytest.raises(ValueError, match='another epoch length'):
        _train(cfg, resume_from=osp.join(ref_dir, 'iter_3.pth'))
