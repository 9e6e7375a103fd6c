# Copyright (c) mkd_mm contributors. All rights reserved.
from typing import Dict, Optional, Sequence, Union

import torch
from mmengine.model import MMDistributedDataParallel
from mmengine.optim import OptimWrapper
from mmpretrain.registry import MODEL_WRAPPERS


@MODEL_WRAPPERS.register_module()
class DistillerDistributedDataParallel(MMDistributedDataParallel):
    """DDP wrapper that lets the model run its own ``train_step``.

    mmengine's :class:`MMDistributedDataParallel` implements
    ``train_step`` itself and never calls the wrapped model's, so the
    non-finite guard of :meth:`BaseDistiller.train_step` would be bypassed
    in distributed runs. This wrapper calls ``module.train_step(data,
    optim_wrapper, ddp_model=self)`` when the module accepts it (the forward
    still runs through DDP) and behaves exactly like its parent otherwise.

    It also drops ``device_ids`` for a module on the CPU (gloo runs), where
    DDP refuses them; the Runner passes ``[LOCAL_RANK]`` by default.

    The frozen teacher is excluded from DDP by the model's
    ``_ddp_params_and_buffers_to_ignore``; use
    ``find_unused_parameters=False`` (every student parameter gets a
    gradient).

    Args:
        module (torch.nn.Module): The model.
        device_ids (Sequence[int], optional): CUDA device of this process.
        **kwargs: Other arguments of :class:`MMDistributedDataParallel`.
    """

    def __init__(self,
                 module: torch.nn.Module,
                 device_ids: Optional[Sequence[int]] = None,
                 **kwargs) -> None:
        on_cpu = all(p.device.type == 'cpu' for p in module.parameters())
        super().__init__(
            module=module, device_ids=None if on_cpu else device_ids, **kwargs)

    def train_step(self, data: Union[dict, tuple, list],
                   optim_wrapper: OptimWrapper) -> Dict[str, torch.Tensor]:
        """Delegate to ``module.train_step`` if it takes ``ddp_model``.

        Args:
            data (dict | tuple | list): A batch from the dataloader.
            optim_wrapper (OptimWrapper): The optimizer wrapper.

        Returns:
            Dict[str, torch.Tensor]: The log variables.
        """
        if getattr(self.module, 'train_step_takes_ddp_model', False):
            return self.module.train_step(data, optim_wrapper, ddp_model=self)
        return super().train_step(data, optim_wrapper)
