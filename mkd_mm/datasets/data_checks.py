# Copyright (c) mkd_mm contributors. All rights reserved.
"""Checks of the training data config on disk, before the Runner is built.

:func:`check_train_data_cfg` (called by ``tools/train.py``, so nothing is
written on failure) checks the data root, the annotation file (present, not
empty, enough samples for one batch with ``drop_last``), the image folder
and, for folder-scanned data sets, that it holds at least one image. Every
error names the config key and the path. The built dataset and its pipeline
are checked later by :class:`~mkd_mm.engine.hooks.DataCheckHook`.
"""
import os
import os.path as osp
from typing import Any, List, Optional, Tuple

#: File extensions that count as images when a folder is scanned.
IMG_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.ppm', '.bmp', '.pgm', '.tif',
                  '.tiff', '.webp')

#: Dataset wrappers: the key that holds the wrapped dataset config(s).
WRAPPER_KEYS = ('dataset', 'datasets')


class DataCheckError(ValueError):
    """Training data that does not fit the config; the message names the
    config key and the path."""


def _is_remote(path: str) -> bool:
    return '://' in path or path.startswith('s3:')


def _join(root: str, path: str) -> str:
    """Resolve ``path`` against ``data_root`` as mmengine's datasets do."""
    if not root or osp.isabs(path) or _is_remote(path):
        return path
    return osp.join(root, path)


def _count_lines(path: str) -> int:
    """Number of non-blank lines of a text file."""
    with open(path, 'rb') as f:
        return sum(1 for line in f if line.strip())


def _has_image(folder: str) -> bool:
    """Whether ``folder`` (recursively) holds a file with an image suffix."""
    for _, _, files in os.walk(folder, followlinks=True):
        if any(name.lower().endswith(IMG_EXTENSIONS) for name in files):
            return True
    return False


def _prefixes(data_prefix: Any) -> List[Tuple[str, str]]:
    """``(subkey, folder)`` pairs of a ``data_prefix`` (str or dict)."""
    if isinstance(data_prefix, str):
        return [('', data_prefix)] if data_prefix else []
    if isinstance(data_prefix, dict):
        return [(f'.{k}', v) for k, v in data_prefix.items()
                if isinstance(v, str) and v]
    return []


def check_dataset_cfg(dataset_cfg: dict, key: str) -> Optional[int]:
    """Check one dataset config against the files on disk.

    Only what the config states is checked; remote paths (``s3://`` ...)
    and datasets with ``backend_args`` are left to the dataset. Wrappers
    (``RepeatDataset``, ``ConcatDataset``, ...) are checked through their
    ``dataset``/``datasets`` keys.

    Args:
        dataset_cfg (dict): The dataset config.
        key (str): Its config key, e.g. ``'train_dataloader.dataset'``.

    Returns:
        int, optional: The number of samples of a text annotation file (one
        per non-blank line), None when unknown.

    Raises:
        DataCheckError: Naming the key and the path, for a missing data
            root, a missing or empty annotation file, a missing image
            folder, or a folder-scanned data set without any image.
    """
    for wrapper_key in WRAPPER_KEYS:
        inner = dataset_cfg.get(wrapper_key)
        if isinstance(inner, dict):
            check_dataset_cfg(inner, f'{key}.{wrapper_key}')
            return None
        if isinstance(inner, (list, tuple)):
            for i, item in enumerate(inner):
                if isinstance(item, dict):
                    check_dataset_cfg(item, f'{key}.{wrapper_key}.{i}')
            return None
    if dataset_cfg.get('backend_args'):
        return None
    hint = (f'; set it with --cfg-options {key}.<key>=... or see '
            "docs/get_started.md, 'Data preparation'")
    data_root = dataset_cfg.get('data_root') or ''
    if data_root and not _is_remote(data_root) and not osp.isdir(data_root):
        raise DataCheckError(
            f'{key}.data_root={data_root!r}: the data root does not exist '
            f'or is not a directory (resolved to {osp.abspath(data_root)!r})' +
            hint.replace('<key>', 'data_root'))
    num_samples = None
    ann_file = dataset_cfg.get('ann_file') or ''
    if ann_file:
        path = _join(data_root, ann_file)
        if _is_remote(path):
            return None
        if not osp.isfile(path):
            raise DataCheckError(
                f'{key}.ann_file={ann_file!r}: annotation file {path!r} not '
                'found (expected a file listing the samples)' +
                hint.replace('<key>', 'ann_file'))
        if osp.getsize(path) == 0 or (path.endswith('.txt')
                                      and _count_lines(path) == 0):
            raise DataCheckError(
                f'{key}.ann_file={ann_file!r}: annotation file {path!r} is '
                'empty (expected one sample per line)')
        if path.endswith('.txt'):
            num_samples = _count_lines(path)
    for subkey, prefix in _prefixes(dataset_cfg.get('data_prefix')):
        folder = _join(data_root, prefix)
        if _is_remote(folder):
            continue
        if not osp.isdir(folder):
            raise DataCheckError(
                f'{key}.data_prefix{subkey}={prefix!r}: image folder '
                f'{folder!r} does not exist' +
                hint.replace('<key>', f'data_prefix{subkey}'))
        if not ann_file and not _has_image(folder):
            raise DataCheckError(
                f'{key}.data_prefix{subkey}={prefix!r}: no image files '
                f'({", ".join(IMG_EXTENSIONS)}) found under {folder!r} '
                f'(and {key}.ann_file is not set)')
    if (not ann_file and not _prefixes(dataset_cfg.get('data_prefix'))
            and data_root and not _is_remote(data_root)
            and not _has_image(data_root)):
        raise DataCheckError(
            f'{key}.data_root={data_root!r}: no image files found under '
            f'{data_root!r} (and {key}.ann_file is not set)')
    return num_samples


def check_train_data_cfg(cfg: Any) -> None:
    """Check ``cfg.train_dataloader`` against the files on disk.

    Called by ``tools/train.py`` before the Runner is built. Besides
    :func:`check_dataset_cfg`, a text annotation file with fewer samples
    than ``train_dataloader.batch_size`` under ``drop_last=True`` is an
    error (not one iteration could run).

    Args:
        cfg (Config | dict): The full config.

    Raises:
        DataCheckError: Naming the key and the path.
    """
    loader = cfg.get('train_dataloader')
    if not isinstance(loader, dict) or not isinstance(
            loader.get('dataset'), dict):
        return
    key = 'train_dataloader.dataset'
    num_samples = check_dataset_cfg(loader['dataset'], key)
    batch_size = loader.get('batch_size', 1)
    if num_samples is not None and loader.get('drop_last', False) and \
            num_samples < batch_size:
        raise DataCheckError(
            f'{key}.ann_file lists {num_samples} samples, fewer than '
            f'train_dataloader.batch_size={batch_size} with '
            'train_dataloader.drop_last=True: not one training iteration '
            'could run')
