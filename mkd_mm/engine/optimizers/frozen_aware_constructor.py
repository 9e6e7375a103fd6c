# Copyright (c) mkd_mm contributors. All rights reserved.
from typing import List, Optional

import torch.nn as nn
from mmengine.logging import print_log
from mmengine.optim import DefaultOptimWrapperConstructor
from mmpretrain.registry import OPTIM_WRAPPER_CONSTRUCTORS


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class FrozenAwareOptimWrapperConstructor(DefaultOptimWrapperConstructor):
    """``DefaultOptimWrapperConstructor`` that leaves frozen modules out.

    mmengine's constructor (with a ``paramwise_cfg``) visits every parameter
    and prints one WARNING per parameter with ``requires_grad=False``: a
    frozen ViT-L teacher fills the log with hundreds of lines, although
    excluding it is the point. This constructor skips a whole submodule
    without trainable parameters, with one INFO line naming it; every other
    parameter gets exactly the groups (and order) of the parent class, so
    the optimizer is the same.
    """

    def add_params(self,
                   params: List[dict],
                   module: nn.Module,
                   prefix: str = '',
                   is_dcn_module: Optional[bool] = None) -> None:
        """Add the parameter groups of ``module`` (see the parent class).

        Args:
            params (List[dict]): The parameter groups, extended in place.
            module (nn.Module): The module.
            prefix (str): Its name in the model. Defaults to ''.
            is_dcn_module (bool, optional): See the parent class.
        """
        own = list(module.parameters())
        if prefix and own and not any(p.requires_grad for p in own):
            print_log(
                f'{prefix}: {len(own)} frozen parameters left out of the '
                'optimizer', logger='current')
            return
        super().add_params(params, module, prefix, is_dcn_module)
