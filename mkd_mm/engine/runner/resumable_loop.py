# Copyright (c) mkd_mm contributors. All rights reserved.
import torch
from mmengine.logging import print_log
from mmengine.runner import EpochBasedTrainLoop
from mmpretrain.registry import LOOPS
from torch.utils.data import BatchSampler


@LOOPS.register_module()
class ResumableEpochBasedTrainLoop(EpochBasedTrainLoop):
    """Epoch-based training loop that resumes mid-epoch exactly.

    mmengine's :class:`~mmengine.runner.EpochBasedTrainLoop` always starts
    an epoch at its first batch. Resumed from an iteration checkpoint
    (``CheckpointHook(by_epoch=False, interval=N)``, written in the middle
    of an epoch), it would train the batches of that epoch again. This loop
    derives the position in the epoch from the resumed counters,
    ``skip = iter - epoch * len(dataloader)`` batches, and makes the
    :class:`ResumableSampler` leave those samples out, without loading them.
    The hooks see the true batch indices (``skip, skip + 1, ...``).

    It also keeps the global torch RNG exactly where the checkpoint left
    it: creating a ``DataLoader`` iterator draws a base seed from it, which
    the uninterrupted run did once at the start of the epoch, before the
    checkpoint was written; the resumed run would draw it a second time.

    Uninterrupted runs, and runs resumed from an epoch checkpoint, behave
    exactly like ``EpochBasedTrainLoop`` (same batches, same hook calls).
    A checkpoint written at the last iteration of an epoch resumes with an
    empty rest of the epoch: ``before_train_epoch`` and
    ``after_train_epoch`` still run, as they would have after that save.

    Bit-identical continuation also needs the RNG states in the checkpoint
    (:class:`RNGStateHook`) and ``num_workers=0`` (worker processes have
    their own generators, which a checkpoint cannot capture). With
    gradient accumulation, save at multiples of ``accumulative_counts``.

    Args:
        runner (Runner): The runner.
        dataloader (DataLoader | dict): The training dataloader; its sampler
            must be a :class:`ResumableSampler` for a mid-epoch resume.
        max_epochs (int): Total training epochs.
        **kwargs: Other arguments of ``EpochBasedTrainLoop``.
    """

    def _resume_position(self) -> int:
        """Batches of the current epoch that were trained before resuming.

        Returns:
            int: ``iter - epoch * len(dataloader)``.

        Raises:
            ValueError: If the resumed counters do not fit the epoch length
                (e.g. the batch size or the number of GPUs changed).
        """
        length = len(self.dataloader)
        done = self._iter - self._epoch * length
        if not 0 <= done <= length:
            raise ValueError(
                f'Cannot resume at iteration {self._iter} of epoch '
                f'{self._epoch}: with {length} iterations per epoch that is '
                f'batch {done} of the epoch. The checkpoint was written with '
                'another epoch length (train_dataloader.batch_size, the '
                'data set or the number of GPUs changed).')
        return done

    def _skip_samples(self, num_batches: int) -> None:
        """Make the sampler leave out the first ``num_batches`` batches."""
        loader = self.dataloader
        sampler = loader.sampler
        batch_sampler = loader.batch_sampler
        if not hasattr(sampler, 'skip_next') or \
                type(batch_sampler) is not BatchSampler:
            raise TypeError(
                'Resuming in the middle of an epoch (iteration '
                f'{self._iter}, epoch {self._epoch}) needs '
                "train_dataloader.sampler=dict(type='ResumableSampler', ...) "
                'and no custom batch_sampler; got sampler '
                f'{type(sampler).__name__} and batch sampler '
                f'{type(batch_sampler).__name__}. Either change the sampler '
                'or resume from an epoch checkpoint.')
        sampler.skip_next(num_batches * batch_sampler.batch_size)

    def run_epoch(self) -> None:
        """Iterate the rest of one epoch (all of it unless resumed)."""
        self.runner.call_hook('before_train_epoch')
        self.runner.model.train()
        skip = self._resume_position()
        if skip == 0:
            iterator = iter(self.dataloader)
        elif skip == len(self.dataloader):
            iterator = iter(())  # saved at the last iteration of the epoch
        else:
            self._skip_samples(skip)
            print_log(
                f'Resuming epoch {self._epoch + 1} at batch {skip + 1} of '
                f'{len(self.dataloader)}; the {skip} batches before it are '
                'skipped without loading them.',
                logger='current')
            rng_state = torch.get_rng_state()
            iterator = iter(self.dataloader)
            torch.set_rng_state(rng_state)
        for idx, data_batch in enumerate(iterator, start=skip):
            self.run_iter(idx, data_batch)
        self.runner.call_hook('after_train_epoch')
        self._epoch += 1
