# Copyright (c) mkd_mm contributors. All rights reserved.
"""Distributed equivalence on the CPU: ``tools/train.py`` under ``torchrun``
with 2 gloo processes and a per-process batch of 4 gives the loss curve and
the final weights of a 1-process run with batch 8 (run in the test process),
for dBOT and DMAE. The frozen teacher is not in DDP and
``find_unused_parameters`` is off (DDP would fail on an unused parameter in
the second iteration).

The dBOT runs also check the non-finite guard: the loss of the second
iteration is NaN on rank 1 only (``dist_helpers.PoisonedDBOT``), and on the
single process; both ranks must skip that update (the verdict is
all-reduced, so DDP does not deadlock and the replicas stay equal), rank 0
must report it although its own loss was finite, and the runs must still
agree.

Each sample carries a fixed mask derived from its index
(``dist_helpers.MaskedTinyImageDataset``), the sampler does not shuffle, and
there is no augmentation, so both runs see exactly the same global batches:
rank ``r`` takes samples ``r, r + 2, ...``, whose union per step is the
1-process batch.

The DMAE test also trains 1 process with batch 4 and
``accumulative_counts=2`` (Runner-level gradient accumulation) and checks
its loss curve and weights against the batch-8 run.
"""
import json
import math
import os
from pathlib import Path

import pytest
import torch
from dist_helpers import equivalence_cfg
from mmengine.config import Config
from mmengine.runner import Runner

HERE = Path(__file__).resolve().parent
#: fp32 reductions run in another order across processes (or micro-batches:
#: AdamW's m / sqrt(v) turns the rounding of a near-zero gradient into up to
#: ~4e-6 on single weights, measured; the updates move weights by ~4e-3)
LOSS_RTOL, WEIGHT_ATOL, WEIGHT_RTOL = 1e-5, 1e-5, 1e-4
#: the key part of a qkv bias has an exactly-zero gradient (softmax is
#: shift-invariant), so AdamW turns float rounding noise (~1e-10) into
#: updates; measured differences are <= 4e-5, against 4e-3 of movement
KEY_BIAS_ATOL = 1e-4
#: the (0-based) iteration whose loss is NaN in the dBOT runs
POISONED_ITER = 1


def write_config(path: Path, cfg: dict) -> Path:
    """Write a plain-dict config as a Python config file."""
    path.write_text(''.join(f'{key} = {value!r}\n'
                            for key, value in cfg.items()))
    return path


def tool_env(repo_root: Path) -> dict:
    return dict(
        PYTHONPATH=os.pathsep.join([str(repo_root), str(HERE)]),
        OMP_NUM_THREADS='1')


def fail_message(proc) -> str:
    return (f'exit {proc.returncode}\n--- stdout (tail)\n{proc.stdout[-3000:]}'
            f'\n--- stderr (tail)\n{proc.stderr[-4000:]}')


def train(run_tool,
          repo_root: Path,
          cfg_path: Path,
          work_dir: Path,
          port: int,
          nproc: int = 2):
    """``tools/train.py --launcher pytorch`` under torchrun (gloo)."""
    return run_tool([
        '-m', 'torch.distributed.run', '--nproc_per_node',
        str(nproc), '--master_addr', '127.0.0.1', '--master_port',
        str(port), 'tools/train.py',
        str(cfg_path), '--work-dir',
        str(work_dir), '--launcher', 'pytorch'
    ],
                    env=tool_env(repo_root),
                    timeout=300)


def train_in_process(cfg_path: Path, work_dir: Path) -> None:
    """The 1-process reference run, in this process (saves a start-up)."""
    cfg = Config.fromfile(str(cfg_path))
    cfg.work_dir = str(work_dir)
    Runner.from_cfg(cfg).train()


def load_run(work_dir: Path, rank: int) -> dict:
    return json.loads((work_dir / f'run_rank{rank}.json').read_text())


def load_weights(path: Path) -> dict:
    # our own checkpoint, written by this test: a full unpickle is safe
    return torch.load(
        str(path), map_location='cpu', weights_only=False)['state_dict']


@pytest.mark.parametrize('algorithm', ['dbot', 'dmae'])
def test_two_processes_match_one(algorithm, tmp_path, repo_root, run_tool,
                                 free_port):
    runtime = str(repo_root / 'configs' / '_base_' / 'default_runtime.py')
    single_dir, dist_dir = tmp_path / 'single', tmp_path / 'dist'
    cfgs = dict(
        single=equivalence_cfg(algorithm, runtime, batch_size=8),
        dist=equivalence_cfg(algorithm, runtime, batch_size=4))
    poisoned = POISONED_ITER if algorithm == 'dbot' else None
    if poisoned is not None:
        for rank, name in ((0, 'single'), (1, 'dist')):
            cfgs[name]['model'].update(
                type='PoisonedDBOT',
                poison_rank=rank,
                poison_iters=[poisoned],
                nonfinite_guard=dict(max_consecutive=2))
    train_in_process(
        write_config(tmp_path / 'single.py', cfgs['single']), single_dir)
    dist = train(run_tool, repo_root,
                 write_config(tmp_path / 'dist.py', cfgs['dist']), dist_dir,
                 free_port)
    assert dist.returncode == 0, fail_message(dist)
    output = dist.stdout + dist.stderr
    assert "'backend': 'gloo'" in output
    if poisoned is not None:
        assert ("non-finite loss term 'loss' and gradient norm at iteration "
                f'{poisoned + 1}; the update was skipped') in output

    # --- what DDP wraps
    one = load_run(single_dir, 0)
    ranks = [load_run(dist_dir, r) for r in (0, 1)]
    assert one['info'] == dict(wrapped=False, wrapper=None)
    for run in ranks:
        info = run['info']
        assert info['wrapper'] == 'DistillerDistributedDataParallel'
        assert info['find_unused_parameters'] is False
        teacher = [n for n in info['all_params'] if n.startswith('teacher.')]
        assert teacher and set(teacher) <= set(info['ignored'])
        assert info['ddp_params'], 'no parameter is synchronised'
        assert not [n for n in info['ddp_params'] if n.startswith('teacher')]
        assert set(info['ddp_params']) == \
            set(info['all_params']) - set(info['ignored'])

    # --- the loss curve: the 1-process loss is the mean over the ranks
    # (every sample has the same number of masked patches)
    assert len(one['losses']) == 4
    assert all(len(run['losses']) == 4 for run in ranks)
    keys = [k for k in one['losses'][0] if k.startswith('loss')]
    if algorithm == 'dmae':
        assert set(keys) == {'loss', 'loss_rec', 'loss_align'}
    for it, ref in enumerate(one['losses']):
        for key in keys:
            per_rank = [run['losses'][it][key] for run in ranks]
            if it == poisoned:
                assert math.isnan(ref[key]) and math.isnan(per_rank[1])
                assert math.isfinite(per_rank[0])
                continue
            assert sum(per_rank) / 2 == pytest.approx(
                ref[key], rel=LOSS_RTOL), f'iteration {it + 1}, {key}'
    curve = [step['loss'] for step in one['losses']]
    assert len(set(curve)) == 4  # the weights move: a real comparison

    # --- the final weights
    assert_same_weights(single_dir / 'epoch_2.pth', dist_dir / 'epoch_2.pth')

    if algorithm == 'dmae':
        # Runner-level gradient accumulation: 1 process, batch 4,
        # accumulative_counts=2 makes the same 4 updates of 8 samples
        accum_dir = tmp_path / 'accum'
        cfg = equivalence_cfg(algorithm, runtime, batch_size=4)
        cfg['optim_wrapper']['accumulative_counts'] = 2
        train_in_process(write_config(tmp_path / 'accum.py', cfg), accum_dir)
        micro = load_run(accum_dir, 0)['losses']
        assert len(micro) == 8
        for it, ref in enumerate(one['losses']):
            mean = (micro[2 * it]['loss'] + micro[2 * it + 1]['loss']) / 2
            assert mean == pytest.approx(ref['loss'], rel=LOSS_RTOL)
        assert_same_weights(single_dir / 'epoch_2.pth',
                            accum_dir / 'epoch_2.pth')


def assert_same_weights(path_a: Path, path_b: Path) -> None:
    """Every tensor of two checkpoints agrees within the tolerances."""
    a, b = load_weights(path_a), load_weights(path_b)
    assert a.keys() == b.keys()
    for key in a:
        x, y = a[key].float(), b[key].float()
        if key.endswith('attn.qkv.bias'):
            q_x, k_x, v_x = x.chunk(3)
            q_y, k_y, v_y = y.chunk(3)
            assert torch.allclose(k_x, k_y, atol=KEY_BIAS_ATOL, rtol=0), key
            x, y = torch.cat([q_x, v_x]), torch.cat([q_y, v_y])
        assert torch.allclose(x, y, atol=WEIGHT_ATOL, rtol=WEIGHT_RTOL), key
