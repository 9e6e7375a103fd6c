# Copyright (c) mkd_mm contributors. All rights reserved.
"""Pre-training as the README tells users to run it, as subprocesses.

- dBOT stage by stage: ``tools/train.py vitb_stage1.py``, then
  ``tools/train.py vitb_stage2.py`` whose teacher is the stage-1 checkpoint
  at the path stage 1 writes by default (``work_dirs/vitb_stage1/``); the
  stage-2 student starts from a fresh initialisation (its own seed).
- dBOT in one run (``vitb_2x800e.py``) through ``tools/dist_train.sh CONFIG
  2`` (two gloo processes) with gradient accumulation: the log states the
  total batch, the breakpoint hands the student to the teacher.
"""
import re

import pytest
import torch
from user_paths import fail_message, prepare, run


def _load(path):
    # our own checkpoints, written by these tests
    return torch.load(str(path), map_location='cpu', weights_only=False)


def _sub(state: dict, prefix: str) -> dict:
    return {
        k[len(prefix):]: v
        for k, v in state.items() if k.startswith(prefix)
    }


def _rel_diff(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).norm() / a.norm())


@pytest.fixture(scope='module')
def stages(tmp_path_factory, demo_data):
    """Stage 1 then stage 2 of the stage-by-stage dBOT ViT-B schedule."""
    root = tmp_path_factory.mktemp('dbot_stages')
    s1 = prepare('configs/dbot/vitb_stage1.py', root / 'cfg', demo_data)
    s2 = prepare('configs/dbot/vitb_stage2.py', root / 'cfg', demo_data)
    first = run(['tools/train.py', s1], cwd=root)
    second = run([
        'tools/train.py', s2, '--cfg-options',
        'model.teacher.init_cfg.checkpoint=work_dirs/vitb_stage1/epoch_1.pth'
    ],
                 cwd=root)
    return root, first, second


def test_stage1_writes_where_stage2_looks(stages):
    root, first, _ = stages
    assert first.returncode == 0, fail_message(first)
    assert (root / 'work_dirs' / 'vitb_stage1' / 'epoch_1.pth').is_file()
    text = first.stdout + first.stderr
    assert 'Total batch 8 = 1 processes x 2 per process x 4 accumulation' \
        in text
    # the recipe's 4096 differs: warned, lr scaled as the official code does
    assert "differs from the recipe's 4096" in text


def test_stage2_teacher_is_stage1_student(stages):
    root, first, second = stages
    assert first.returncode == 0, fail_message(first)
    assert second.returncode == 0, fail_message(second)
    s1 = _load(root / 'work_dirs' / 'vitb_stage1' / 'epoch_1.pth')
    s2 = _load(root / 'work_dirs' / 'vitb_stage2' / 'epoch_1.pth')
    student1 = _sub(s1['state_dict'], 'backbone.')
    teacher2 = _sub(s2['state_dict'], 'teacher.')
    assert set(teacher2) <= set(student1)
    for k, v in teacher2.items():
        assert torch.equal(v, student1[k]), k
    assert 'Teacher loaded' in second.stdout + second.stderr


def test_stage2_student_starts_fresh(stages):
    root, first, second = stages
    assert second.returncode == 0, fail_message(second)
    s1 = _load(root / 'work_dirs' / 'vitb_stage1' / 'epoch_1.pth')
    s2 = _load(root / 'work_dirs' / 'vitb_stage2' / 'epoch_1.pth')
    # the stage-1 random teacher is a copy of the stage-1 student's initial
    # weights and never trains; at the recipe's lr scaled to batch 2
    # (2.4e-3 x 2 / 4096) two steps move the stage-2 student by ~1e-6, so
    # had stage 2 re-used stage 1's seed it would still equal that init
    init1 = _sub(s1['state_dict'], 'teacher.')
    student2 = _sub(s2['state_dict'], 'backbone.')
    for key in ('layers.0.attn.qkv.weight', 'layers.1.ffn.layers.1.weight',
                'patch_embed.projection.weight', 'cls_token'):
        assert _rel_diff(init1[key], student2[key]) > 0.5, key
    assert s1['meta']['seed'] != s2['meta']['seed']


def test_one_run_two_processes(tmp_path, demo_data, free_port):
    """``tools/dist_train.sh vitb_2x800e.py 2``: stages, batch, teacher."""
    cfg = prepare('configs/dbot/vitb_2x800e.py', tmp_path / 'cfg', demo_data)
    proc = run([
        'tools/dist_train.sh', cfg, '2', '--cfg-options',
        'optim_wrapper.accumulative_counts=1'
    ],
               cwd=tmp_path,
               python=False,
               env={'PORT': str(free_port)})
    assert proc.returncode == 0, fail_message(proc)
    text = proc.stdout + proc.stderr
    assert 'Total batch 4 = 2 processes x 2 per process x 1 accumulation' \
        in text
    assert 'Distributed training: True' in text
    work = tmp_path / 'work_dirs' / 'vitb_2x800e'
    e1, e2 = _load(work / 'epoch_1.pth'), _load(work / 'epoch_2.pth')
    assert int(e1['state_dict']['stage']) == 0
    assert int(e2['state_dict']['stage']) == 1
    # at the breakpoint the teacher took the student's weights
    teacher2 = _sub(e2['state_dict'], 'teacher.')
    student1 = _sub(e1['state_dict'], 'backbone.')
    for k, v in teacher2.items():
        assert torch.equal(v, student1[k]), k
    assert re.search(r'Epoch\(train\)\s+\[2\]', text)
