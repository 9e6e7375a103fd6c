# Copyright (c) mkd_mm contributors. All rights reserved.
"""Safe loading of checkpoint files.

Checkpoints are pickles. Since torch 2.6, ``torch.load`` defaults to
``weights_only=True``, which refuses any non-tensor object that is not on an
allow-list. mmengine 0.10.7 calls ``torch.load`` without ``weights_only`` and
its own checkpoints hold numpy values and ``HistoryBuffer`` objects in
``meta`` and ``message_hub``, so out of the box ``--resume`` fails on
torch >= 2.6. Official research checkpoints often hold an
``argparse.Namespace`` (``args``).

Instead of turning the protection off process-wide
(``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1``), :func:`register_safe_globals` adds
the few plain-data types these files contain to torch's allow-list. A file that
needs anything else (for example a pickled class that could run code on load)
is refused by :func:`load_checkpoint_file` with a message that names the file
and the explicit opt-in (``allow_unsafe=True``).
"""
import argparse
import collections
import os
import os.path as osp
import pickle
from typing import Any, Callable, List, Union

import numpy as np
import torch

_REGISTERED = False

#: Set by ``tools/train.py --allow-unsafe-checkpoint``: full unpickling of
#: every checkpoint this process loads through mmengine (trusted files only).
ALLOW_UNSAFE_CHECKPOINTS = False


def _safe_globals() -> List[Any]:
    """Types that our checkpoints and the known official formats contain."""
    types: List[Any] = [
        argparse.Namespace,
        collections.OrderedDict,
        collections.defaultdict,
        np.ndarray,
        np.dtype,
        np.core.multiarray._reconstruct,
        np.core.multiarray.scalar,
        # the same functions as pickled by numpy >= 2 (``numpy._core``), so
        # files written under either numpy major version load under both
        (np.core.multiarray._reconstruct,
         'numpy._core.multiarray._reconstruct'),
        (np.core.multiarray.scalar, 'numpy._core.multiarray.scalar'),
    ]
    # numpy scalar / dtype classes, e.g. np.float64 and np.dtypes.Float64DType
    for name in ('bool_', 'int8', 'int16', 'int32', 'int64', 'uint8',
                 'uint16', 'uint32', 'uint64', 'float16', 'float32',
                 'float64', 'str_'):
        scalar = getattr(np, name)
        types.append(scalar)
        types.append(type(np.dtype(scalar)))
    try:
        from mmengine.logging import HistoryBuffer
        types.append(HistoryBuffer)
    except ImportError:  # pragma: no cover
        pass
    try:
        from mmengine.config.config import ConfigDict
        types.append(ConfigDict)
    except ImportError:  # pragma: no cover
        pass
    return types


def _history_buffer_getstate(self) -> dict:
    """Pickle a ``HistoryBuffer`` as plain data.

    mmengine's own ``__getstate__`` also pickles the class-level registry of
    statistics functions, which pickle as ``getattr(HistoryBuffer, 'min')``;
    allowing ``getattr`` would void the protection of ``weights_only``. The
    registry is rebuilt at import time anyway, so it is left out.
    """
    state = dict(self.__dict__)
    state.pop('statistics_methods', None)
    return state


def register_safe_globals() -> None:
    """Make our checkpoints loadable with ``weights_only=True``.

    Called once when :mod:`mkd_mm` is imported. It

    - adds the plain-data types of our checkpoints to torch's allow-list;
    - makes mmengine's ``HistoryBuffer`` (in ``message_hub``) pickle as plain
      data;
    - routes mmengine's loading of local files (resume, ``load_from``,
      ``init_cfg=dict(type='Pretrained')``) through
      :func:`load_checkpoint_file`, which refuses a file that needs full
      unpickling with a clear message.
    """
    global _REGISTERED
    if _REGISTERED or not hasattr(torch.serialization, 'add_safe_globals'):
        return
    torch.serialization.add_safe_globals(_safe_globals())
    from mmengine.logging import HistoryBuffer
    from mmengine.runner.checkpoint import CheckpointLoader
    HistoryBuffer.__getstate__ = _history_buffer_getstate
    CheckpointLoader.register_scheme(
        prefixes='', loader=_mmengine_local_loader, force=True)
    _REGISTERED = True


def _mmengine_local_loader(filename: str, map_location=None) -> Any:
    """mmengine ``CheckpointLoader`` scheme for local paths."""
    return load_checkpoint_file(
        osp.expanduser(filename),
        map_location=map_location,
        allow_unsafe=ALLOW_UNSAFE_CHECKPOINTS)


class UnsafeCheckpointError(RuntimeError):
    """Raised when a checkpoint needs full unpickling to be read."""


def load_checkpoint_file(path: str,
                         map_location: Union[str, Callable,
                                             torch.device] = 'cpu',
                         allow_unsafe: bool = False) -> Any:
    """Load a checkpoint file with ``weights_only=True`` and our allow-list.

    Args:
        path (str): Local path of the checkpoint.
        map_location (str | Callable | torch.device): Passed to
            ``torch.load``. Defaults to ``'cpu'``.
        allow_unsafe (bool): Explicit opt-in to full unpickling
            (``weights_only=False``) for a trusted foreign file that holds
            types outside the allow-list. Unpickling an untrusted file can
            execute code. Defaults to False.

    Returns:
        Any: The unpickled object, usually a dict.

    Raises:
        FileNotFoundError: If ``path`` does not exist.
        UnsafeCheckpointError: If the file needs full unpickling and
            ``allow_unsafe`` is False.
        RuntimeError: If the file is not a readable torch checkpoint.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'Checkpoint file not found: {path}')
    if not os.access(path, os.R_OK):
        raise PermissionError(f'Checkpoint file is not readable: {path}')
    register_safe_globals()
    if allow_unsafe:
        return torch.load(path, map_location=map_location, weights_only=False)
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as e:
        raise UnsafeCheckpointError(
            f'Refusing to load checkpoint {path}: it contains objects outside '
            'the allow-list of safe types, and unpickling them could execute '
            'code. If you trust this file, opt in explicitly with '
            '`allow_unsafe=True` (in a teacher config: '
            '`init_cfg=dict(type=\'Pretrained\', checkpoint=..., '
            'allow_unsafe=True)`; for every file of a run: '
            '`tools/train.py --allow-unsafe-checkpoint`). Original error: '
            f'{str(e)[:400]}') from e
    except (EOFError, OSError, RuntimeError, ValueError) as e:
        raise RuntimeError(
            f'Checkpoint file {path} is truncated or not a torch checkpoint: '
            f'{e}') from e
