# Copyright (c) mkd_mm contributors. All rights reserved.
from typing import Iterator

from mmengine.dataset import DefaultSampler
from mmpretrain.registry import DATA_SAMPLERS


@DATA_SAMPLERS.register_module()
class ResumableSampler(DefaultSampler):
    """``DefaultSampler`` that can start an epoch part-way through.

    Uninterrupted, it yields exactly the indices of mmengine's
    :class:`~mmengine.dataset.DefaultSampler` (same seed, same epoch, same
    rank). When a run is resumed from a checkpoint written in the middle of
    an epoch, :class:`ResumableEpochBasedTrainLoop` calls
    :meth:`skip_next` with the number of this rank's samples already trained
    in that epoch; the next iteration then starts at the following sample.
    The skipped samples are never loaded or transformed, so the random
    augmentations of the remaining ones are the same as in the uninterrupted
    run. The skip applies to one epoch only, and :meth:`__len__` stays the
    full epoch length (the loop, the schedulers and the logger count
    iterations of the full epoch).

    Args:
        dataset (Sized): The dataset.
        shuffle (bool): Whether to shuffle the indices. Defaults to True.
        seed (int, optional): Random seed of the shuffle. Defaults to None
            (a seed shared by all ranks).
        round_up (bool): Pad the indices so that every rank gets the same
            number of samples. Defaults to True.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._skip = 0

    @property
    def pending_skip(self) -> int:
        """int: Samples the next :meth:`__iter__` will leave out."""
        return self._skip

    def skip_next(self, num_samples: int) -> None:
        """Leave out the first ``num_samples`` indices of the next epoch.

        Args:
            num_samples (int): Samples of this rank already trained in the
                epoch being resumed, ``0 <= num_samples <= len(self)``.

        Raises:
            ValueError: If ``num_samples`` is out of range.
        """
        if not 0 <= int(num_samples) <= self.num_samples:
            raise ValueError(
                f'ResumableSampler.skip_next: cannot skip {num_samples} '
                f'samples of an epoch of {self.num_samples} samples per rank.')
        self._skip = int(num_samples)

    def __iter__(self) -> Iterator[int]:
        """Iterate the indices of this epoch, after the pending skip."""
        skip, self._skip = self._skip, 0
        indices = super().__iter__()
        if skip == 0:
            return indices
        return iter(list(indices)[skip:])
