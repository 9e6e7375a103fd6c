# Copyright (c) mkd_mm contributors. All rights reserved.
"""Test helper: ``tools/train.py`` that kills itself with SIGKILL.

Usage: ``python kill_train.py CONFIG [tools/train.py arguments]``, with one
of the environment variables (the tests call the two ``install_*``
functions in a forked child instead, see ``resume_helpers.train``)

* ``MKD_KILL_AFTER_ITER=K``: SIGKILL right after iteration ``K`` (1-based)
  has finished, i.e. after every ``after_train_iter`` hook (the iteration
  checkpoint is written);
* ``MKD_KILL_DURING_SAVE=NAME``: when the file ``NAME`` (e.g.
  ``iter_11.pth``) is saved, write half of its bytes and SIGKILL before the
  write completes.

Nothing else differs from ``tools/train.py`` (the kill hook draws no random
numbers). Not a test module: pytest does not collect it.
"""
import os
import os.path as osp
import signal
import sys

REPO_ROOT = osp.dirname(
    osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
sys.path.insert(0, osp.join(REPO_ROOT, 'tools'))

import train as train_tool  # noqa: E402


def _die() -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    os.kill(os.getpid(), signal.SIGKILL)


def install_kill_after_iter(kill_iter: int) -> None:
    """Make ``build_runner`` add a hook that SIGKILLs after ``kill_iter``."""
    from mmengine.hooks import Hook

    class KillAfterIter(Hook):
        priority = 'LOWEST'

        def after_train_iter(self,
                             runner,
                             batch_idx,
                             data_batch=None,
                             outputs=None):
            if runner.iter + 1 == kill_iter:
                print(f'kill_train: SIGKILL after iteration {kill_iter}')
                _die()

    build_runner = train_tool.build_runner

    def build_and_arm(cfg):
        runner = build_runner(cfg)
        runner.register_hook(KillAfterIter(), priority='LOWEST')
        return runner

    train_tool.build_runner = build_and_arm


def install_kill_during_save(name: str) -> None:
    """SIGKILL half-way through the atomic write of the file ``name``."""
    from mkd_mm.utils import atomic_io
    write = atomic_io._write_and_sync

    def write_half_and_die(file, data):
        if osp.basename(file.name).startswith(name + '.tmp-'):
            file.write(data[:len(data) // 2])
            file.flush()
            print(f'kill_train: SIGKILL while writing {name} '
                  f'({len(data) // 2} of {len(data)} bytes written)')
            _die()
        write(file, data)

    atomic_io._write_and_sync = write_half_and_die


if __name__ == '__main__':
    if os.environ.get('MKD_KILL_AFTER_ITER'):
        install_kill_after_iter(int(os.environ['MKD_KILL_AFTER_ITER']))
    if os.environ.get('MKD_KILL_DURING_SAVE'):
        install_kill_during_save(os.environ['MKD_KILL_DURING_SAVE'])
    train_tool.main(sys.argv[1:])
