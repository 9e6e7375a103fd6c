# Copyright (c) mkd_mm contributors. All rights reserved.
import os
import time

import pytest
import torch

from mkd_mm.utils import resume as resume_mod
from mkd_mm.utils.resume import (CheckpointNotResumableError,
                                 check_resume_checkpoint,
                                 find_resume_checkpoint,
                                 resolve_resume_checkpoint, resume_candidates)


@pytest.fixture
def messages(monkeypatch):
    """The log lines of mkd_mm.utils.resume, as (level, text)."""
    out = []
    monkeypatch.setattr(
        resume_mod,
        'print_log',
        lambda msg, logger=None, level=20: out.append((level, msg)))
    return out


def _save(path, it, training=True, age=0.0):
    ckpt = dict(
        meta=dict(epoch=0, iter=it), state_dict=dict(w=torch.full((3, ), it)))
    if training:
        ckpt['optimizer'] = dict(state={}, param_groups=[])
    torch.save(ckpt, str(path))
    stamp = time.time() - 100 + it + age
    os.utime(path, (stamp, stamp))
    return path


def _work_dir(tmp_path, last=3):
    for it in (1, 2, 3):
        _save(tmp_path / f'iter_{it}.pth', it)
    (tmp_path / 'last_checkpoint').write_text(
        str(tmp_path / f'iter_{last}.pth'))
    return tmp_path


def test_latest_readable_checkpoint_is_used(tmp_path, messages):
    work_dir = _work_dir(tmp_path)
    assert find_resume_checkpoint(str(work_dir)) == str(work_dir /
                                                        'iter_3.pth')
    assert not any(level == 30 for level, _ in messages)


def test_truncated_latest_is_skipped_with_a_warning(tmp_path, messages):
    work_dir = _work_dir(tmp_path)
    latest = work_dir / 'iter_3.pth'
    latest.write_bytes(latest.read_bytes()[:200])
    assert find_resume_checkpoint(str(work_dir)) == str(work_dir /
                                                        'iter_2.pth')
    warnings = [m for level, m in messages if level == 30]
    assert len(warnings) == 1
    assert f'Skipping unreadable checkpoint {latest}' in warnings[0]


def test_corrupt_bytes_inside_the_file_are_detected(tmp_path, messages):
    work_dir = _work_dir(tmp_path)
    latest = work_dir / 'iter_3.pth'
    data = bytearray(latest.read_bytes())
    # flip bytes inside the tensor data (stored uncompressed in the zip)
    pos = data.find(torch.full((3, ), 3).numpy().tobytes())
    assert pos > 0
    data[pos] ^= 0xFF
    latest.write_bytes(bytes(data))
    with pytest.raises(CheckpointNotResumableError, match='bad CRC'):
        check_resume_checkpoint(str(latest))
    assert find_resume_checkpoint(str(work_dir)).endswith('iter_2.pth')


def test_empty_or_stale_last_checkpoint_falls_back_to_newest(
        tmp_path, messages):
    work_dir = _work_dir(tmp_path, last=1)  # points to an older file
    assert resume_candidates(str(work_dir))[0] == str(work_dir / 'iter_1.pth')
    (work_dir / 'last_checkpoint').write_text('')
    assert resume_candidates(
        str(work_dir)) == [str(work_dir / f'iter_{i}.pth') for i in (3, 2, 1)]
    assert find_resume_checkpoint(str(work_dir)).endswith('iter_3.pth')
    assert any('last_checkpoint is empty' in m for _, m in messages)
    os.remove(work_dir / 'last_checkpoint')
    assert find_resume_checkpoint(str(work_dir)).endswith('iter_3.pth')


def test_weights_only_files_are_not_resumed_from(tmp_path, messages):
    work_dir = _work_dir(tmp_path)
    _save(work_dir / 'stage1_final.pth', 3, training=False, age=0.5)
    os.remove(work_dir / 'last_checkpoint')
    assert find_resume_checkpoint(str(work_dir)).endswith('iter_3.pth')
    assert any('stage1_final.pth: not a training checkpoint' in m
               for level, m in messages if level == 20)


def test_nothing_readable_starts_from_scratch(tmp_path, messages):
    (tmp_path / 'iter_1.pth').write_bytes(b'garbage')
    assert resolve_resume_checkpoint('auto', str(tmp_path)) is None
    text = ' '.join(m for level, m in messages if level == 30)
    assert 'iter_1.pth' in text and 'starts from scratch' in text
    assert resolve_resume_checkpoint(None, str(tmp_path)) is None
    assert resolve_resume_checkpoint('auto', str(tmp_path / 'nope')) is None


def test_explicit_unreadable_path_is_an_error(tmp_path, messages):
    work_dir = _work_dir(tmp_path)
    good = str(work_dir / 'iter_2.pth')
    assert resolve_resume_checkpoint(good, str(work_dir)) == good
    bad = work_dir / 'iter_3.pth'
    bad.write_bytes(bad.read_bytes()[:100])
    with pytest.raises(
            CheckpointNotResumableError,
            match=f'--resume {bad}: cannot resume'):
        resolve_resume_checkpoint(str(bad), str(work_dir))
    with pytest.raises(CheckpointNotResumableError, match='does not exist'):
        resolve_resume_checkpoint(str(work_dir / 'x.pth'), str(work_dir))


def test_stale_temp_files_are_removed_first(tmp_path, messages):
    work_dir = _work_dir(tmp_path)
    stale = work_dir / 'iter_4.pth.tmp-{}'.format(2**22 + 7)
    stale.write_bytes(b'half')
    assert find_resume_checkpoint(str(work_dir)).endswith('iter_3.pth')
    assert not stale.exists()


def test_train_tool_sets_resume_and_load_from(tmp_path, messages):
    """``tools/train.py``: ``--resume`` fills ``resume``/``load_from`` with
    the readable checkpoint; an unreadable explicit path is a usage error."""
    import sys
    from pathlib import Path

    from mmengine.config import Config
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / 'tools'))
    import train as train_tool

    work_dir = _work_dir(tmp_path)
    latest = work_dir / 'iter_3.pth'
    latest.write_bytes(latest.read_bytes()[:300])

    def choose(*argv):
        args = train_tool.parse_args(['cfg.py', *argv])
        cfg = Config(dict(work_dir=str(work_dir), resume=False))
        train_tool.choose_resume_checkpoint(cfg, args)
        return cfg.resume, cfg.get('load_from')

    assert choose('--resume') == (True, str(work_dir / 'iter_2.pth'))
    assert choose() == (False, None)
    with pytest.raises(train_tool.UsageError, match='iter_3.pth'):
        choose('--resume', str(latest))
    for path in work_dir.glob('iter_*.pth'):
        path.write_bytes(b'')
    assert choose('--resume', 'auto') == (False, None)  # from scratch


def test_file_needing_full_unpickling_names_the_opt_in(tmp_path):
    import datetime
    path = tmp_path / 'foreign.pth'
    torch.save(
        dict(
            meta=dict(epoch=0, iter=1),
            state_dict={},
            optimizer={},
            when=datetime.date(2020, 1, 1)), str(path))
    with pytest.raises(
            CheckpointNotResumableError, match='--allow-unsafe-checkpoint'):
        check_resume_checkpoint(str(path))
    check_resume_checkpoint(str(path), allow_unsafe=True)
