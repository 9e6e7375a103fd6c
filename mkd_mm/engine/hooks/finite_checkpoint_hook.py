# Copyright (c) mkd_mm contributors. All rights reserved.
from typing import Iterator, Mapping, Optional, Sequence, Tuple

import torch
from mmengine.hooks import Hook
from mmpretrain.registry import HOOKS

#: checkpoint entries checked by default (missing ones are skipped)
DEFAULT_KEYS = ('state_dict', 'ema_state_dict')


class NonFiniteCheckpointError(RuntimeError):
    """A checkpoint about to be written holds NaN/Inf values."""


def _tensors(tree, prefix: str = '') -> Iterator[Tuple[str, torch.Tensor]]:
    """``(dotted key, tensor)`` pairs of a nested dict/list of tensors."""
    if isinstance(tree, torch.Tensor):
        yield prefix, tree
    elif isinstance(tree, Mapping):
        for key, value in tree.items():
            yield from _tensors(value, f'{prefix}.{key}' if prefix else key)
    elif isinstance(tree, (list, tuple)):
        for i, value in enumerate(tree):
            yield from _tensors(value, f'{prefix}.{i}' if prefix else str(i))


def first_nonfinite(tree) -> Optional[Tuple[str, int, int]]:
    """The first floating-point tensor with a NaN or Inf.

    Args:
        tree: A tensor or nested dict/list of tensors (e.g. a state dict).

    Returns:
        tuple | None: ``(key, number of non-finite values, numel)``, or None
        if every value is finite.
    """
    for key, tensor in _tensors(tree):
        if not (tensor.is_floating_point() or tensor.is_complex()):
            continue
        finite = torch.isfinite(tensor)
        if not bool(finite.all()):
            return key, int((~finite).sum()), tensor.numel()
    return None


@HOOKS.register_module()
class FiniteCheckpointHook(Hook):
    """Refuse to write a checkpoint whose weights hold NaN or Inf.

    ``Runner.save_checkpoint`` calls ``before_save_checkpoint`` after the
    checkpoint dict is assembled and before anything is written; this hook
    raises there, so no file (and no ``last_checkpoint`` pointer) is
    written and the previous checkpoint stays the latest one to resume
    from.

    Args:
        keys (Sequence[str]): Checkpoint entries to check. Defaults to
            ``('state_dict', 'ema_state_dict')`` (missing ones are skipped).
    """

    priority = 'VERY_LOW'  # after hooks that swap weights in (e.g. EMA)

    def __init__(self, keys: Sequence[str] = DEFAULT_KEYS) -> None:
        if isinstance(keys, str) or not all(isinstance(k, str) for k in keys):
            raise TypeError('`FiniteCheckpointHook.keys` must be a tuple of '
                            f'checkpoint keys, but got {keys!r}.')
        self.keys = tuple(keys)

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        """Check the weights of ``checkpoint``.

        Args:
            runner (Runner): The runner.
            checkpoint (dict): The checkpoint about to be saved.

        Raises:
            NonFiniteCheckpointError: Naming the first non-finite entry.
        """
        for key in self.keys:
            if key not in checkpoint:
                continue
            bad = first_nonfinite(checkpoint[key])
            if bad is not None:
                name, count, numel = bad
                meta = checkpoint.get('meta', {})
                raise NonFiniteCheckpointError(
                    f'refusing to save a checkpoint at epoch '
                    f'{meta.get("epoch")} / iteration {meta.get("iter")}: '
                    f'{key}[{name!r}] has {count} non-finite value(s) of '
                    f'{numel}. Nothing was written; resume from the last '
                    'checkpoint (see `model.nonfinite_guard`).')
