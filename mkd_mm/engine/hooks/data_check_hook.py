# Copyright (c) mkd_mm contributors. All rights reserved.
"""Start-up checks of the built training data, and the count of skipped samples.

The config on disk is checked earlier, before the Runner is built, by
:func:`mkd_mm.datasets.data_checks.check_train_data_cfg`.

Here :class:`DataCheckHook` (``before_run``, before weights are loaded or
any step is taken) checks the built dataset: it is not empty, and its first
samples go through the pipeline step by step: a fixed-size crop without
padding that gets a smaller image is an error naming the image, the pipeline
step and the sizes, and every sample must come out with the same (and, if
configured, the expected) input shape. During training it writes the number
of samples skipped by
:class:`~mkd_mm.datasets.transforms.StrictLoadImageFromFile` with
``skip_corrupt=True`` to the log.
"""
import logging
import random
from typing import Any, Iterator, List, Optional, Sequence, Tuple

import numpy as np
import torch
from mmengine.dist import all_reduce, is_distributed
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmpretrain.registry import HOOKS

from mkd_mm.datasets.data_checks import WRAPPER_KEYS, DataCheckError

def min_input_size(transform: Any) -> Optional[Tuple[int, int]]:
    """The smallest ``(h, w)`` image a fixed-size crop can take.

    ``RandomResizedCrop``, ``Resize`` and the like rescale any image, so any
    size is legal for them. A ``RandomCrop`` without ``padding`` and
    ``pad_if_needed`` and a ``CenterCrop`` without ``auto_pad`` silently
    return an image smaller than the crop (the batch then fails to stack,
    or the model on its size), so both need an image at least as large as
    the crop. (mmpretrain's
    ``RandomCrop`` and mmcv's ``CenterCrop``; the crops of mmdet and mmseg
    handle small images themselves.)

    Args:
        transform: A pipeline transform.

    Returns:
        tuple, optional: ``(h, w)``, or None if any size is legal.
    """
    name = type(transform).__name__
    package = type(transform).__module__.split('.')[0]
    crop_size = getattr(transform, 'crop_size', None)
    if crop_size is None:
        return None
    if isinstance(crop_size, int):
        crop_size = (crop_size, crop_size)
    if name == 'RandomCrop' and package == 'mmpretrain':  # (h, w)
        if getattr(transform, 'padding', None) is None and not getattr(
                transform, 'pad_if_needed', False):
            return tuple(crop_size)
    elif name == 'CenterCrop' and package == 'mmcv':  # (w, h)
        if not getattr(transform, 'auto_pad', False):
            return crop_size[1], crop_size[0]
    return None


#: Transforms that keep the image size (a crop after them sees the size
#: that was loaded).
SIZE_PRESERVING = ('RandomFlip', 'ColorJitter', 'RandomGrayscale',
                   'GaussianBlur', 'Solarize', 'ToPIL', 'ToNumpy')


def set_loader_min_size(transforms: Sequence[Any], key: str) -> None:
    """Make the image loader reject images smaller than a later crop.

    If a ``StrictLoadImageFromFile`` without ``min_size`` is followed, with
    only :data:`SIZE_PRESERVING` transforms in between, by a crop that needs
    a minimum size (:func:`min_input_size`), its ``min_size`` is set to that
    size, so that every image of the data set (not only those checked at
    start-up) that is too small is an error naming it, or a skipped sample.

    Args:
        transforms (Sequence): The pipeline's transforms.
        key (str): The pipeline's config key, for the messages.
    """
    for i, loader in enumerate(transforms):
        if not hasattr(loader, 'min_size') or loader.min_size is not None:
            continue
        for j in range(i + 1, len(transforms)):
            need = min_input_size(transforms[j])
            if need is not None:
                loader.min_size = need
                loader.min_size_reason = (
                    f'{key}.pipeline.{j} ({type(transforms[j]).__name__}, '
                    'no padding)')
            if need is not None or type(
                    transforms[j]).__name__ not in SIZE_PRESERVING:
                break


def _iter_transforms(dataset: Any) -> Iterator[Any]:
    """The transforms of a dataset's pipeline (through wrappers)."""
    for name in WRAPPER_KEYS:
        inner = getattr(dataset, name, None)
        if inner is not None and hasattr(inner, '__len__'):
            for sub in (inner if isinstance(inner,
                                            (list, tuple)) else [inner]):
                yield from _iter_transforms(sub)
            return
    yield from getattr(getattr(dataset, 'pipeline', None), 'transforms', [])


def _shape(packed: Any) -> Optional[Tuple[int, ...]]:
    inputs = packed.get('inputs') if isinstance(packed, dict) else None
    if isinstance(inputs, (list, tuple)):
        inputs = inputs[0] if inputs else None
    return tuple(inputs.shape) if hasattr(inputs, 'shape') else None


@HOOKS.register_module()
class DataCheckHook(Hook):
    """Check the training data at start-up and log skipped samples.

    In ``before_run`` (after the Runner built the dataset, before weights
    are initialised or loaded and before any step) it checks that the
    training dataset is not empty and runs its first ``num_samples``
    samples through the pipeline step by step; see
    :func:`min_input_size` for which crops need images at least as large
    as the crop. The random number generators are restored afterwards, so
    training draws the same numbers as without the check. Then it sets the
    loader's ``min_size`` for such a crop (:func:`set_loader_min_size`), so
    that a too small image later in the data set is an error naming it too
    (or, with ``skip_corrupt=True``, a skipped sample).

    During training, if the pipeline has a ``StrictLoadImageFromFile`` with
    ``skip_corrupt=True`` that skipped samples, the number is logged as
    ``skipped_samples`` with each training log line (this rank, all its
    DataLoader workers) and, summed over the ranks, at the end of each
    epoch.

    Args:
        num_samples (int): Samples run through the pipeline at start-up.
            Defaults to 2.
        input_size (Sequence[int], optional): Expected ``(h, w)`` of the
            packed inputs. Defaults to None (only the same shape for every
            checked sample is required).
    """

    priority = 'VERY_HIGH'

    def __init__(self,
                 num_samples: int = 2,
                 input_size: Optional[Sequence[int]] = None) -> None:
        if not isinstance(num_samples, int) or num_samples < 0:
            raise ValueError('DataCheckHook: num_samples must be an int >= '
                             f'0, got {num_samples!r}')
        if input_size is not None and len(input_size) != 2:
            raise ValueError('DataCheckHook: input_size must be (h, w), got '
                             f'{input_size!r}')
        self.num_samples = num_samples
        self.input_size = tuple(input_size) if input_size else None
        self._loaders: List[Any] = []
        self._last_reported = 0

    def before_run(self, runner) -> None:
        """Check the training dataset (only when the run trains)."""
        from mmengine.runner import BaseLoop
        if not isinstance(getattr(runner, '_train_loop', None), BaseLoop):
            return
        dataset = runner.train_dataloader.dataset
        self._loaders = [
            t for t in _iter_transforms(dataset) if hasattr(t, 'num_skipped')
        ]
        states = (random.getstate(), np.random.get_state(),
                  torch.get_rng_state())
        collate = runner.train_dataloader.collate_fn
        same_shape = getattr(collate, 'func',
                             collate).__name__ == 'default_collate'
        try:
            self.check_dataset(dataset, 'train_dataloader.dataset', same_shape)
        finally:
            random.setstate(states[0])
            np.random.set_state(states[1])
            torch.set_rng_state(states[2])
        transforms = getattr(
            getattr(dataset, 'pipeline', None), 'transforms', None)
        if transforms is not None:
            set_loader_min_size(transforms, 'train_dataloader.dataset')

    def check_dataset(self,
                      dataset: Any,
                      key: str,
                      same_shape: bool = True) -> None:
        """Check a built dataset (see the class docstring).

        Args:
            dataset: The dataset.
            key (str): Its config key, for the messages.
            same_shape (bool): Require the same input shape for every
                checked sample (``default_collate`` stacks them; mmdet and
                mmseg collate lists and pad later). Defaults to True.

        Raises:
            DataCheckError: Naming the key, the file and what was expected.
        """
        if len(dataset) == 0:
            where = ', '.join(f'{key}.{name}={getattr(dataset, name)!r}'
                              for name in ('data_root', 'ann_file')
                              if getattr(dataset, name, None))
            raise DataCheckError(f'{key} is empty: no samples were found' +
                                 (f' ({where})' if where else ''))
        transforms = getattr(
            getattr(dataset, 'pipeline', None), 'transforms', None)
        if transforms is None or not hasattr(dataset, 'get_data_info'):
            return  # a wrapper or custom dataset: leave it to training
        shapes = {}
        for idx in range(min(self.num_samples, len(dataset))):
            results = dataset.get_data_info(idx)
            path = results.get('img_path', f'sample {idx}')
            for step, transform in enumerate(transforms):
                need = min_input_size(transform)
                img = results.get('img')
                if need is not None and img is not None and (
                        img.shape[0] < need[0] or img.shape[1] < need[1]):
                    raise DataCheckError(
                        f'{key}.pipeline.{step} ({type(transform).__name__}'
                        f', crop {need[0]}x{need[1]} (h x w), no padding) '
                        f'needs images of at least that size, but image '
                        f'{path!r} is {img.shape[0]}x{img.shape[1]} when it '
                        'gets there. Resize before cropping, enable padding '
                        '(RandomCrop: padding / pad_if_needed; CenterCrop: '
                        'auto_pad=True), or use RandomResizedCrop.')
                results = transform(results)
                if results is None:  # a skipped sample
                    break
            if results is not None:
                shapes[path] = _shape(results)
        distinct = set(s for s in shapes.values() if s is not None)
        if same_shape and len(distinct) > 1:
            listing = '; '.join(f'{p!r}: {s}' for p, s in shapes.items())
            raise DataCheckError(
                f'{key}.pipeline gives inputs of different shapes, which '
                f'cannot be batched: {listing}')
        if self.input_size is not None:
            for path, shape in shapes.items():
                if shape is not None and tuple(shape[-2:]) != \
                        self.input_size:
                    raise DataCheckError(
                        f'{key}.pipeline gives inputs of shape {shape} for '
                        f'{path!r}, but DataCheckHook.input_size expects '
                        f'(h, w) = {self.input_size}')

    def _local_skipped(self) -> int:
        return sum(t.num_skipped for t in self._loaders)

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch: Any = None,
                         outputs: Any = None) -> None:
        """Put this rank's skipped-sample count into the training log."""
        if not self._loaders:
            return
        count = self._local_skipped()
        if count:
            runner.message_hub.update_scalar('train/skipped_samples', count)

    def after_train_epoch(self, runner) -> None:
        """Log the number of samples skipped so far, summed over ranks."""
        if not self._loaders:
            return
        total = torch.tensor(float(self._local_skipped()))
        if is_distributed():
            all_reduce(total)
        total = int(total.item())
        if total:
            print_log(
                f'DataCheckHook: {total} corrupt sample(s) skipped so far '
                f'(all ranks), {total - self._last_reported} in epoch '
                f'{runner.epoch + 1}; see the WARNING lines naming the files.',
                'current', logging.WARNING)
        self._last_reported = total
