# Copyright (c) mkd_mm contributors. All rights reserved.
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmpretrain.registry import MODELS


@MODELS.register_module()
class StandardizedSmoothL1Loss(nn.Module):
    """dBOT's feature-distillation loss.

    Each target token is standardised over its channels without affine
    parameters, ``t_hat = (t - mean_c t) / sqrt(var_c t + eps)`` with the
    **unbiased** variance (the official ``--norm_feature_loss``, set in every
    official command). Then ``SmoothL1(pred, t_hat)`` with ``beta = 2``
    elementwise, the mean over channels and the mean over the tokens where
    ``mask == 1``. dBOT's mask includes the class token (it is always a
    target), see :class:`DBOT`.

    Everything is computed in float32, also under AMP.

    Args:
        beta (float): SmoothL1 transition point. Defaults to 2.0.
        eps (float): Added to the variance. Defaults to 1e-6.
        standardize (bool): Standardise targets per token. Defaults to True.
        unbiased (bool): Bessel-corrected variance, as torch's default
            ``var`` used by the official code. Defaults to True.
        loss_weight (float): Scale of the loss. Defaults to 1.0.
    """

    def __init__(self,
                 beta: float = 2.0,
                 eps: float = 1e-6,
                 standardize: bool = True,
                 unbiased: bool = True,
                 loss_weight: float = 1.0) -> None:
        super().__init__()
        self.beta = beta
        self.eps = eps
        self.standardize = standardize
        self.unbiased = unbiased
        self.loss_weight = loss_weight

    def forward(self,
                pred: torch.Tensor,
                target: torch.Tensor,
                mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Compute the loss.

        Args:
            pred (torch.Tensor): ``(B, L, C)`` predictions.
            target (torch.Tensor): ``(B, L, C)`` teacher tokens.
            mask (torch.Tensor, optional): ``(B, L)``, 1 where the loss is
                taken. Defaults to all tokens.

        Returns:
            torch.Tensor: Scalar loss.
        """
        if pred.shape != target.shape:
            raise ValueError(f'prediction {tuple(pred.shape)} and target '
                             f'{tuple(target.shape)} shapes differ')
        with torch.autocast(device_type=pred.device.type, enabled=False):
            pred = pred.float()
            target = target.float()
            if self.standardize:
                mean = target.mean(dim=-1, keepdim=True)
                var = target.var(dim=-1, keepdim=True, unbiased=self.unbiased)
                target = (target - mean) / (var + self.eps)**.5
            loss = F.smooth_l1_loss(
                pred, target, reduction='none', beta=self.beta).mean(dim=-1)
            if mask is None:
                loss = loss.mean()
            else:
                mask = mask.float()
                loss = (loss * mask).sum() / mask.sum()
        return loss * self.loss_weight
