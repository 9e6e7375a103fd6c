# Copyright (c) mkd_mm contributors. All rights reserved.
import contextlib
from typing import Any, Callable, Dict, List, Optional, Union

import torch
import torch.nn as nn
from mmengine.optim import OptimWrapper
from mmpretrain.models import BaseSelfSupervisor
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

from ..utils.masking import (MaskInfo, mask_info_from_mask,
                             num_visible_patches, random_masking)
from ..utils.nonfinite_guard import NonFiniteGuard


def bf16_supported(device_type: str) -> bool:
    """Whether bfloat16 matmuls run natively on this kind of device.

    Args:
        device_type (str): ``'cuda'`` or ``'cpu'``.

    Returns:
        bool: True for Ampere+ GPUs and CPUs with AVX512-BF16 / AMX.
    """
    if device_type == 'cuda':
        return torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    # torch.cpu._is_* (torch >= 2.3); torch._C._cpu._is_* before
    for probe in (torch.cpu, getattr(torch._C, '_cpu', None)):
        avx512_bf16 = getattr(probe, '_is_avx512_bf16_supported', None)
        amx = getattr(probe, '_is_amx_tile_supported', None)
        if avx512_bf16 is not None and amx is not None:
            return bool(avx512_bf16() or amx())
    return False


#: normalisation layers, kept in float32 by ``teacher_precision='bf16-full'``
_NORMS = (nn.LayerNorm, nn.GroupNorm, nn.modules.batchnorm._NormBase)


def _to_bf16(data: Any) -> Any:
    """``data`` with every floating tensor (in lists, tuples and dicts)
    cast to bfloat16."""
    if isinstance(data, torch.Tensor):
        return data.to(torch.bfloat16) if data.is_floating_point() else data
    if isinstance(data, (list, tuple)):
        return type(data)(_to_bf16(d) for d in data)
    if isinstance(data, dict):
        return {k: _to_bf16(v) for k, v in data.items()}
    return data


class BaseDistiller(BaseSelfSupervisor):
    """Shared machinery of a masked student and a frozen teacher.

    Used by :class:`DBOT` and :class:`DMAE`. The teacher:

    - is a submodule (``self.teacher``), so it is saved in checkpoints and
      restored on resume, and is dropped downstream by
      ``prefix='backbone.'``;
    - is frozen (``requires_grad=False``), always in eval mode, and runs under
      ``torch.no_grad()``;
    - is never wrapped in DDP: its parameters are listed in
      ``_ddp_params_and_buffers_to_ignore``, so DDP neither broadcasts nor
      reduces them and no ``find_unused_parameters`` is needed;
    - runs at its own precision (``teacher_precision``): ``'bf16'``,
      ``'fp16'``, ``'fp32'`` (autocast disabled, also inside the student's
      AMP region) or ``'auto'`` (bf16 where the hardware runs it natively,
      e.g. Ampere+ GPUs and CPUs with AMX/AVX512-BF16; elsewhere the
      surrounding precision, i.e. the student's AMP dtype if any). At
      ``'bf16'``/``'fp16'`` only the matmuls run in low precision (autocast
      with cached weight copies), the residual stream stays float32;
      ``'bf16-full'`` runs the whole teacher on a cached bfloat16 copy
      (norm layers' parameters excepted) with bfloat16 inputs and no
      autocast: ~1.5x faster than ``'bf16'`` on an AMX CPU, with about
      twice its error (~1% relative L2 vs fp32), hence opt-in (see
      docs/performance.md). Outputs are
      returned in float32; the float32 parameters stay the source of truth
      (the copies follow bootstrapping and momentum updates).

    Args:
        backbone (dict): Student encoder config.
        neck (dict): Student decoder config.
        head (dict): Head (with the loss) config.
        teacher (dict): Teacher config.
        teacher_precision (str): See above. Defaults to 'fp32'.
        nonfinite_guard (dict, optional): Non-finite loss/gradient guard of
            :meth:`train_step`, keys ``max_consecutive`` (default 10),
            ``check_grad_norm`` (default True) and ``enable`` (default
            True); see :class:`NonFiniteGuard`. None uses the defaults.
        data_preprocessor (dict, optional): Data preprocessor config.
        init_cfg (dict, optional): Unused; the parts initialise themselves.
    """

    PRECISIONS = ('fp32', 'bf16', 'fp16', 'auto', 'bf16-full')
    #: :class:`DistillerDistributedDataParallel` calls our ``train_step``
    train_step_takes_ddp_model = True

    def __init__(self,
                 backbone: dict,
                 neck: Optional[dict],
                 head: Optional[dict],
                 teacher: dict,
                 teacher_precision: str = 'fp32',
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None,
                 nonfinite_guard: Optional[dict] = None) -> None:
        super().__init__(
            backbone=backbone,
            neck=neck,
            head=head,
            data_preprocessor=data_preprocessor,
            init_cfg=init_cfg)
        if teacher_precision not in self.PRECISIONS:
            raise ValueError(f'`model.teacher_precision` must be one of '
                             f'{self.PRECISIONS}, but got '
                             f'{teacher_precision!r}.')
        self.teacher_precision = teacher_precision
        self.nonfinite_guard = NonFiniteGuard.from_cfg(nonfinite_guard)
        self.teacher_cfg = dict(teacher)
        self.set_teacher(MODELS.build(dict(teacher)))

    # ------------------------------------------------------------ teacher
    def set_teacher(self, teacher: nn.Module) -> None:
        """Install a (new) frozen teacher module.

        Args:
            teacher (nn.Module): The teacher.
        """
        teacher.requires_grad_(False)
        teacher.eval()
        self.teacher = teacher
        self._ddp_params_and_buffers_to_ignore = [
            f'teacher.{n}' for n, _ in teacher.named_parameters()
        ] + [f'teacher.{n}' for n, _ in teacher.named_buffers()]

    def train(self, mode: bool = True) -> 'BaseDistiller':
        """Set train mode; the teacher always stays in eval mode."""
        super().train(mode)
        self.teacher.eval()
        return self

    def teacher_dtype(self, device: torch.device) -> Optional[torch.dtype]:
        """The autocast dtype the teacher runs in on ``device``.

        Args:
            device (torch.device): The teacher's device.

        Returns:
            torch.dtype | None: ``float32`` (autocast disabled),
            ``bfloat16``, ``float16``, or None for ``'auto'`` without native
            bf16 (the surrounding precision).
        """
        precision = self.teacher_precision
        if precision == 'auto':
            if not bf16_supported(device.type):
                return None
            precision = 'bf16'
        return {'fp32': torch.float32, 'bf16': torch.bfloat16,
                'fp16': torch.float16,
                'bf16-full': torch.bfloat16}[precision]

    def _teacher_autocast(self, dtype: Optional[torch.dtype],
                          device: torch.device):
        if dtype is None:
            # the surrounding precision (the student's AMP, if any)
            return contextlib.nullcontext()
        if dtype == torch.float32:
            # also inside an AmpOptimWrapper's autocast region
            return torch.autocast(device_type=device.type, enabled=False)
        return torch.autocast(device_type=device.type, dtype=dtype)

    def _cast_teacher_linears(self,
                              dtype: torch.dtype) -> Dict[str, torch.Tensor]:
        """The teacher's ``nn.Linear`` weights and biases in ``dtype``.

        Autocast would cast every weight of a frozen module again at each
        forward (it caches casts only for parameters that require
        gradients), which costs as much as the bf16 matmuls of a small
        batch. The copies are kept and refreshed only when a parameter
        changes (in-place updates bump its version: bootstrapping, momentum
        updates, loading) or moves. Norms, embeddings and the patch
        projection keep their precision (autocast decides, as without the
        cache), so the residual stream stays float32.
        """
        return self._cached_teacher_casts(
            dtype, lambda module: isinstance(module, nn.Linear))

    def _cast_teacher_full(self) -> Dict[str, torch.Tensor]:
        """Every floating parameter and buffer of the teacher in bfloat16,
        except those of normalisation layers (``'bf16-full'``).

        Cached and refreshed as in :meth:`_cast_teacher_linears`; the
        float32 parameters stay the source of truth.
        """
        return self._cached_teacher_casts(
            torch.bfloat16, lambda module: not isinstance(module, _NORMS))

    def _cached_teacher_casts(
            self, dtype: torch.dtype,
            select: Callable[[nn.Module], bool]) -> Dict[str, torch.Tensor]:
        """Cached ``dtype`` copies of the floating parameters and buffers
        of the teacher's modules for which ``select`` is true.

        A copy is made again when its tensor changed in place (its version
        counter), was replaced or moved.
        """
        cache = self.__dict__.setdefault('_teacher_cast_cache', {})
        out = {}
        for name, module in self.teacher.named_modules():
            if not select(module):
                continue
            tensors = list(module.named_parameters(recurse=False)) + list(
                module.named_buffers(recurse=False))
            for tname, tensor in tensors:
                if tensor is None or not tensor.is_floating_point():
                    continue
                key = f'{name}.{tname}' if name else tname
                tag = (tensor.data_ptr(), tensor._version, dtype)
                hit = cache.get(key)
                if hit is None or hit[0] != tag:
                    hit = (tag, tensor.detach().to(dtype))
                    cache[key] = hit
                out[key] = hit[1]
        # drop copies of tensors that are gone (a rebuilt teacher)
        self.__dict__['_teacher_cast_cache'] = {k: cache[k] for k in out}
        return out

    def teacher_forward(self, *args, **kwargs) -> Any:
        """Run the frozen teacher without gradients.

        At bf16/fp16 the teacher's linear layers use cached low-precision
        copies of their weights (see :meth:`_cast_teacher_linears`); at
        ``'bf16-full'`` the whole teacher runs on a cached bfloat16 copy
        (norm layers excepted) with bfloat16 inputs, without autocast (see
        :meth:`_cast_teacher_full`).

        Returns:
            Any: The teacher's output with every tensor cast to float32.
        """
        device = next(self.teacher.parameters()).device
        dtype = self.teacher_dtype(device)
        if self.teacher_precision == 'bf16-full':
            args, kwargs = _to_bf16((args, kwargs))
            with torch.no_grad(), torch.autocast(
                    device_type=device.type, enabled=False):
                out = torch.func.functional_call(
                    self.teacher, self._cast_teacher_full(), args, kwargs)
        else:
            with torch.no_grad(), self._teacher_autocast(dtype, device):
                if dtype in (torch.bfloat16, torch.float16):
                    out = torch.func.functional_call(
                        self.teacher, self._cast_teacher_linears(dtype),
                        args, kwargs)
                else:
                    out = self.teacher(*args, **kwargs)
        if isinstance(out, (list, tuple)):
            return type(out)(o.float() for o in out)
        return out.float()

    # ----------------------------------------------------------- training
    def train_step(self,
                   data: Union[dict, tuple, list],
                   optim_wrapper: OptimWrapper,
                   ddp_model: Optional[nn.Module] = None
                   ) -> Dict[str, torch.Tensor]:
        """Forward, loss, backward and update, with the non-finite guard.

        As :meth:`mmengine.model.BaseModel.train_step`, but the update goes
        through :meth:`NonFiniteGuard.update_params` (unless the guard is
        disabled), which checks every loss term and the gradient norm and
        skips bad steps. In distributed runs
        :class:`DistillerDistributedDataParallel` calls this method with
        itself as ``ddp_model``, so the forward runs through DDP (gradient
        synchronisation, ``no_sync`` while accumulating).

        Args:
            data (dict | tuple | list): A batch from the dataloader.
            optim_wrapper (OptimWrapper): The optimizer wrapper.
            ddp_model (nn.Module, optional): The DDP wrapper of this model.

        Returns:
            Dict[str, torch.Tensor]: The log variables.
        """
        model = self if ddp_model is None else ddp_model
        with optim_wrapper.optim_context(model):
            data = self.data_preprocessor(data, True)
            losses = model._run_forward(data, mode='loss')
        parsed_losses, log_vars = self.parse_losses(losses)
        if self.nonfinite_guard is None:
            optim_wrapper.update_params(parsed_losses)
        else:
            self.nonfinite_guard.update_params(parsed_losses, losses,
                                               optim_wrapper)
        return log_vars

    # ------------------------------------------------------------ masking
    def get_mask_info(self,
                      inputs: torch.Tensor,
                      data_samples: Optional[List[DataSample]] = None,
                      mask: Optional[Union[torch.Tensor, MaskInfo]] = None
                      ) -> MaskInfo:
        """The mask of this batch.

        Priority: an explicit ``mask`` argument, then ``mask`` fields of the
        data samples (e.g. from a mask-generator transform), then a fresh
        per-sample random mask with ``backbone.mask_ratio``.

        Args:
            inputs (torch.Tensor): Images.
            data_samples (List[DataSample], optional): Data samples.
            mask (torch.Tensor | MaskInfo, optional): ``(B, N)`` binary mask
                (1 = masked) or a :class:`MaskInfo`.

        Returns:
            MaskInfo: The mask.
        """
        if isinstance(mask, MaskInfo):
            return mask
        if mask is None and data_samples and all(
                'mask' in ds for ds in data_samples):
            mask = torch.stack([ds.mask for ds in data_samples])
        if mask is not None:
            info = mask_info_from_mask(mask.to(inputs.device))
            if info.mask.shape[1] != self.backbone.num_patches:
                raise ValueError(
                    f'explicit mask has {info.mask.shape[1]} patches, the '
                    f'student has {self.backbone.num_patches}')
            return info
        n = self.backbone.num_patches
        assert num_visible_patches(n, self.backbone.mask_ratio) > 0
        return random_masking(inputs.shape[0], n, self.backbone.mask_ratio,
                              inputs.device)

    def extract_feat(self, inputs: torch.Tensor):
        """Student encoder features on unmasked images.

        Args:
            inputs (torch.Tensor): Images ``(B, 3, H, W)``.

        Returns:
            tuple: The student backbone's ``out_indices`` features.
        """
        return self.backbone(inputs, mask=None)
