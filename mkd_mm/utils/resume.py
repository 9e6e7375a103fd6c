# Copyright (c) mkd_mm contributors. All rights reserved.
"""Choose the checkpoint that ``tools/train.py --resume`` continues from.

mmengine's ``find_latest_checkpoint`` returns whatever path the
``last_checkpoint`` file names, readable or not, and a run whose latest
checkpoint is damaged then fails at every restart. Here a checkpoint is
used only if it is a complete training checkpoint:

1. the file ``last_checkpoint`` names (if it exists and is not empty);
2. the other ``*.pth`` files of the work directory (and of the folder
   ``last_checkpoint`` points into), newest first.

Each unreadable candidate is skipped with a WARNING naming the file and the
reason; files that are readable but hold no training state (no optimizer,
e.g. ``stage1_final.pth``) are skipped quietly. Stale temporary files of
killed saves (:mod:`mkd_mm.utils.atomic_io`) are removed first.
"""
import glob
import logging
import os.path as osp
import pickle
import zipfile
from typing import Any, List, Optional

import torch
from mmengine.logging import print_log

from .atomic_io import remove_stale_temp_files
from .checkpoint_io import load_checkpoint_file, register_safe_globals

#: keys of a checkpoint that ``Runner.resume`` can continue from
REQUIRED_KEYS = ('meta', 'state_dict', 'optimizer')


class CheckpointNotResumableError(RuntimeError):
    """A checkpoint that cannot be resumed from (damaged or incomplete)."""


class _NoTrainingState(CheckpointNotResumableError):
    """Readable, but not a training checkpoint (e.g. weights only)."""


def _load_lazily(path: str, allow_unsafe: bool) -> Any:
    """Unpickle a checkpoint without reading its tensors into memory.

    A ``torch.save`` zip file is memory-mapped (``mmap=True``), so checking
    a multi-GB checkpoint on every rank costs no RAM; other files are
    loaded by :func:`load_checkpoint_file`.
    """
    if not zipfile.is_zipfile(path):
        return load_checkpoint_file(
            path, map_location='cpu', allow_unsafe=allow_unsafe)
    register_safe_globals()
    return torch.load(
        path, map_location='cpu', weights_only=not allow_unsafe, mmap=True)


def check_resume_checkpoint(path: str, allow_unsafe: bool = False) -> None:
    """Check that a file is a complete, loadable training checkpoint.

    The zip container of ``torch.save`` is checked member by member (CRC),
    then the file is unpickled (``weights_only=True`` with our allow-list,
    tensors memory-mapped) and must hold ``meta`` (with ``epoch`` and
    ``iter``), ``state_dict`` and ``optimizer``.

    Args:
        path (str): The checkpoint file.
        allow_unsafe (bool): Load with full unpickling
            (``--allow-unsafe-checkpoint``). Defaults to False.

    Raises:
        CheckpointNotResumableError: With the reason, if it is not usable.
    """
    if not osp.isfile(path):
        raise CheckpointNotResumableError('the file does not exist')
    if osp.getsize(path) == 0:
        raise CheckpointNotResumableError('the file is empty')
    if zipfile.is_zipfile(path):
        try:
            with zipfile.ZipFile(path) as archive:
                bad = archive.testzip()
        except (zipfile.BadZipFile, OSError, EOFError) as e:
            raise CheckpointNotResumableError(
                f'damaged zip container ({e})') from e
        if bad is not None:
            raise CheckpointNotResumableError(
                f'damaged data (bad CRC in member {bad!r})')
    try:
        checkpoint = _load_lazily(path, allow_unsafe)
    except pickle.UnpicklingError as e:
        raise CheckpointNotResumableError(
            'it holds objects outside the allow-list of safe types; if you '
            'trust it, pass --allow-unsafe-checkpoint '
            f'({str(e)[:200]})') from e
    except Exception as e:  # every reason a load can fail is reported
        raise CheckpointNotResumableError(
            f'{type(e).__name__}: {str(e)[:300]}') from e
    if not isinstance(checkpoint, dict) or any(key not in checkpoint
                                               for key in REQUIRED_KEYS):
        keys = sorted(checkpoint) if isinstance(checkpoint, dict) else []
        raise _NoTrainingState(
            f'not a training checkpoint: needs keys {list(REQUIRED_KEYS)}, '
            f'has {keys}')
    meta = checkpoint['meta']
    if not isinstance(meta, dict) or 'epoch' not in meta or \
            'iter' not in meta:
        raise CheckpointNotResumableError(
            "its 'meta' has no 'epoch'/'iter' counters")


def _last_checkpoint_target(work_dir: str) -> Optional[str]:
    """The path named by ``<work_dir>/last_checkpoint``, if any."""
    record = osp.join(work_dir, 'last_checkpoint')
    if not osp.isfile(record):
        return None
    with open(record, encoding='utf-8', errors='replace') as f:
        target = f.read().strip()
    if not target:
        print_log(
            f'{record} is empty (killed while it was written?); looking for '
            'checkpoints in the work directory instead.',
            logger='current',
            level=logging.WARNING)
        return None
    if not osp.isabs(target) and not osp.exists(target):
        target = osp.join(work_dir, target)
    return target


def resume_candidates(work_dir: str) -> List[str]:
    """Checkpoints of a work directory in the order they are tried.

    Args:
        work_dir (str): The run's work directory.

    Returns:
        List[str]: The ``last_checkpoint`` target first, then the other
        ``*.pth`` files (of the work directory and of the target's folder),
        newest modification time first.
    """
    target = _last_checkpoint_target(work_dir)
    folders = [work_dir]
    if target is not None and osp.dirname(target) not in ('', work_dir):
        folders.append(osp.dirname(target))
    files = {
        osp.normpath(p)
        for folder in folders
        for p in glob.glob(osp.join(folder, '*.pth')) if osp.isfile(p)
    }
    ordered = sorted(files, key=lambda p: (osp.getmtime(p), p), reverse=True)
    if target is not None:
        target = osp.normpath(target)
        ordered = [target] + [p for p in ordered if p != target]
    return ordered


def find_resume_checkpoint(work_dir: str,
                           allow_unsafe: bool = False) -> Optional[str]:
    """The newest readable training checkpoint of a work directory.

    Args:
        work_dir (str): The run's work directory.
        allow_unsafe (bool): See :func:`check_resume_checkpoint`.

    Returns:
        str | None: The checkpoint to resume from, or None if there is none.
    """
    if not osp.isdir(work_dir):
        return None
    remove_stale_temp_files(work_dir)
    for path in resume_candidates(work_dir):
        try:
            check_resume_checkpoint(path, allow_unsafe=allow_unsafe)
        except _NoTrainingState as e:
            print_log(f'Not resuming from {path}: {e}.', logger='current')
            continue
        except CheckpointNotResumableError as e:
            print_log(
                f'Skipping unreadable checkpoint {path}: {e}. Trying the '
                'previous one.',
                logger='current',
                level=logging.WARNING)
            continue
        return path
    return None


def resolve_resume_checkpoint(resume: Optional[str],
                              work_dir: str,
                              allow_unsafe: bool = False) -> Optional[str]:
    """The checkpoint for ``tools/train.py --resume [auto|PATH]``.

    Args:
        resume (str, optional): None (no resume), ``'auto'`` or a path.
        work_dir (str): The run's work directory.
        allow_unsafe (bool): See :func:`check_resume_checkpoint`.

    Returns:
        str | None: The checkpoint, or None to start from scratch (no
        ``--resume``, or ``auto`` with no readable checkpoint, which is
        logged as a warning).

    Raises:
        CheckpointNotResumableError: If an explicit path cannot be resumed
            from; the message names the file and the reason.
    """
    if resume is None:
        return None
    if resume != 'auto':
        try:
            check_resume_checkpoint(resume, allow_unsafe=allow_unsafe)
        except CheckpointNotResumableError as e:
            raise CheckpointNotResumableError(
                f'--resume {resume}: cannot resume from this file: {e}. Use '
                '--resume (auto) to pick the newest readable checkpoint of '
                'the work directory.') from e
        return resume
    path = find_resume_checkpoint(work_dir, allow_unsafe=allow_unsafe)
    if path is None:
        print_log(
            f'--resume auto: no readable training checkpoint in {work_dir}; '
            'training starts from scratch.',
            logger='current',
            level=logging.WARNING)
    else:
        print_log(f'--resume auto: resuming from {path}', logger='current')
    return path
