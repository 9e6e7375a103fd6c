# Copyright (c) mkd_mm contributors. All rights reserved.
import random

import numpy as np
import torch
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmpretrain.registry import HOOKS


@HOOKS.register_module()
class RNGStateHook(Hook):
    """Save and restore the random number generators with checkpoints.

    mmengine 0.10 stores only the seed, so a resumed run draws different
    masks and augmentations than an uninterrupted one. This hook writes the
    states of Python's ``random``, numpy and torch (CPU and, if present,
    CUDA) into every checkpoint and restores them when the run is
    *resumed* (not for ``load_from``), so that with the same seed and
    deterministic settings a resumed run continues bit-identically (with
    ``num_workers=0`` or non-persistent workers; mid-epoch, see
    :class:`ResumableEpochBasedTrainLoop`, only with ``num_workers=0``).

    It is on by default for every config that inherits
    ``configs/_base_/default_runtime.py`` (``default_hooks.rng_state``).
    """

    priority = 'VERY_LOW'

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        """Add the RNG states to the checkpoint."""
        state = dict(
            python=random.getstate(),
            numpy=np.random.get_state(),
            torch=torch.get_rng_state())
        if torch.cuda.is_available():
            state['cuda'] = torch.cuda.get_rng_state_all()
        checkpoint['rng_state'] = state

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        """Restore the RNG states when resuming."""
        state = checkpoint.get('rng_state')
        if state is None or not getattr(runner, '_resume', False):
            return
        random.setstate(state['python'])
        np.random.set_state(state['numpy'])
        torch.set_rng_state(state['torch'])
        if 'cuda' in state and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state['cuda'])
        print_log('Restored the random number generator states.',
                  logger='current')
