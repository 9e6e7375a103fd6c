# Copyright (c) mkd_mm contributors. All rights reserved.
"""The non-finite guard in a 2-process gloo run: a NaN loss on rank 1 only
makes both ranks skip the same step (the verdict is all-reduced, so DDP
does not deadlock and the replicas stay identical), and rank 0 reports the
iteration and the term although its own loss was finite."""
import math

import torch
from dist_helpers import equivalence_cfg
from test_ddp_equivalence import (fail_message, load_run, load_weights,
                                  train, write_config)


def test_nan_on_one_rank_is_skipped_on_both(tmp_path, repo_root, run_tool,
                                            free_port):
    runtime = str(repo_root / 'configs' / '_base_' / 'default_runtime.py')
    cfg = equivalence_cfg('dbot', runtime, batch_size=4)
    cfg['model'].update(
        type='PoisonedDBOT',
        poison_rank=1,
        poison_iters=[1, 3],
        nonfinite_guard=dict(max_consecutive=2))
    work_dir = tmp_path / 'dist'
    proc = train(run_tool, repo_root, write_config(tmp_path / 'cfg.py', cfg),
                 work_dir, 2, free_port)
    assert proc.returncode == 0, fail_message(proc)
    output = proc.stdout + proc.stderr
    for it in (2, 4):
        assert ("non-finite loss term 'loss' and gradient norm at "
                f'iteration {it}; the update was skipped (1 bad step(s) in '
                'a row') in output
    ranks = [load_run(work_dir, r) for r in (0, 1)]
    losses = [[step['loss'] for step in run['losses']] for run in ranks]
    assert all(math.isfinite(v) for v in losses[0])  # rank 0 was fine
    assert [math.isnan(v) for v in losses[1]] == [False, True, False, True]
    weights = load_weights(work_dir / 'epoch_2.pth')
    assert all(torch.isfinite(w).all() for w in weights.values()
               if w.is_floating_point())
