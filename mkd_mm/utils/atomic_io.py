# Copyright (c) mkd_mm contributors. All rights reserved.
"""Atomic writes of local files (checkpoints).

mmengine 0.10 saves a checkpoint with ``LocalBackend.put``, which opens the
final path with ``'wb'`` and writes into it: a job killed during the save
(preemption, out-of-memory killer, a node failure) leaves a truncated file
under the final name, which ``--resume`` then tries to load.

:func:`atomic_write` writes to ``<path>.tmp-<pid>`` in the same directory,
flushes and ``fsync``s it, and renames it over ``path`` with
:func:`os.replace` (atomic on POSIX file systems): the final name holds the
old file or the complete new one, never a part. :class:`AtomicLocalBackend`
is mmengine's ``LocalBackend`` with ``put``/``put_text`` done this way;
:func:`register_atomic_local_backend` (called when :mod:`mkd_mm` is
imported) makes it the backend of local paths, so every
``mmengine.runner.save_checkpoint`` to a local path is atomic.

A kill during the save leaves only the temporary file;
:func:`remove_stale_temp_files` deletes those whose writer is gone
(``tools/train.py --resume`` does it).
"""
import glob
import os
import os.path as osp
import re
from pathlib import Path
from typing import BinaryIO, List, Union

from mmengine.fileio.backends import LocalBackend, register_backend
from mmengine.logging import print_log

#: ``<final name>.tmp-<pid>``
_TEMP_RE = re.compile(r'^(?P<final>.+)\.tmp-(?P<pid>\d+)$')


def temp_path(path: Union[str, Path]) -> str:
    """The temporary name :func:`atomic_write` uses for ``path``.

    Args:
        path (str | Path): The final path.

    Returns:
        str: ``<path>.tmp-<pid of this process>``.
    """
    return f'{path}.tmp-{os.getpid()}'


def _write_and_sync(file: BinaryIO, data: bytes) -> None:
    """Write ``data``, flush it and ``fsync`` the file."""
    file.write(data)
    file.flush()
    os.fsync(file.fileno())


def _fsync_dir(directory: str) -> None:
    """``fsync`` a directory so that a rename in it is durable."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # pragma: no cover (e.g. not supported)
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


def atomic_write(path: Union[str, Path],
                 data: Union[bytes, str],
                 encoding: str = 'utf-8') -> None:
    """Write a file so that it is either complete or not replaced at all.

    Args:
        path (str | Path): Final path; its directory is created if needed.
        data (bytes | str): Content; ``str`` is encoded with ``encoding``.
        encoding (str): Encoding of a ``str`` content. Defaults to
            ``'utf-8'``.
    """
    path = str(path)
    directory = osp.dirname(osp.abspath(path))
    os.makedirs(directory, exist_ok=True)
    if isinstance(data, str):
        data = data.encode(encoding)
    tmp = temp_path(path)
    try:
        with open(tmp, 'wb') as f:
            _write_and_sync(f, data)
        os.replace(tmp, path)
    except BaseException:
        if osp.exists(tmp):
            os.remove(tmp)
        raise
    _fsync_dir(directory)


class AtomicLocalBackend(LocalBackend):
    """mmengine's ``LocalBackend`` with atomic ``put`` and ``put_text``.

    See :func:`atomic_write`. Reading, listing and removing are unchanged.
    """

    def put(self, obj: bytes, filepath: Union[str, Path]) -> None:
        """Write bytes to ``filepath`` atomically.

        Args:
            obj (bytes): Data to be written.
            filepath (str | Path): Path to write data.
        """
        atomic_write(filepath, obj)

    def put_text(self,
                 obj: str,
                 filepath: Union[str, Path],
                 encoding: str = 'utf-8') -> None:
        """Write text to ``filepath`` atomically.

        Args:
            obj (str): Text to be written.
            filepath (str | Path): Path to write data.
            encoding (str): Encoding. Defaults to ``'utf-8'``.
        """
        atomic_write(filepath, obj, encoding=encoding)


def register_atomic_local_backend() -> None:
    """Make :class:`AtomicLocalBackend` mmengine's backend of local paths.

    Backends that mmengine already created and cached (``get_file_backend(
    ..., enable_singleton=True)``) before this call keep their class; it is
    called when :mod:`mkd_mm` is imported, before any runner exists.
    """
    register_backend('local', AtomicLocalBackend, force=True, prefixes='')


def _pid_alive(pid: int) -> bool:
    """Whether a process with this id exists on this machine."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def remove_stale_temp_files(directory: Union[str, Path]) -> List[str]:
    """Delete temporary files of :func:`atomic_write` left by killed writers.

    A file ``<name>.tmp-<pid>`` is stale when no process ``pid`` runs on
    this machine. Each deletion is logged.

    Args:
        directory (str | Path): Folder to clean (not recursive).

    Returns:
        List[str]: The deleted paths.
    """
    removed = []
    for path in sorted(glob.glob(osp.join(str(directory), '*.tmp-*'))):
        match = _TEMP_RE.match(osp.basename(path))
        if match is None or _pid_alive(int(match['pid'])):
            continue
        try:
            os.remove(path)
        except FileNotFoundError:  # pragma: no cover (removed meanwhile)
            continue
        removed.append(path)
        print_log(
            f'Removed {path}: an incomplete write of {match["final"]} by '
            f'process {match["pid"]}, which no longer runs.',
            logger='current')
    return removed
