# Copyright (c) mkd_mm contributors. All rights reserved.
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmpretrain.registry import MODELS


@MODELS.register_module()
class NegativeCosineLoss(nn.Module):
    """``1 - mean cosine similarity`` between predicted and target tokens.

    The loss of the dBOT data-richer (CLIP) recipe, the official
    ``--loss_type negcosine`` (``NegCosine`` of the ``beit`` branch of
    ``liuxingbin/dbot``): ``1 - mean_k cos(pred_k, target_k)`` with
    ``torch.nn.functional.cosine_similarity(..., eps=1e-6)``, i.e.
    ``x.y / (max(|x|, eps) * max(|y|, eps))`` per token.

    mmpretrain's ``CosineSimilarityLoss(shift_factor=1, scale_factor=1)``
    computes the same quantity but normalises each vector with
    ``F.normalize`` (eps 1e-12), so it differs from the official loss for
    tokens whose norm is below 1e-6; this class reproduces the official eps.

    The mean runs over all given tokens (the official code feeds the masked
    tokens of the whole batch, ``x[bool_masked_pos]``, shape ``(K, C)``), or
    over the tokens where ``mask == 1``. Computed in float32, also under AMP.

    Args:
        eps (float): Lower bound of each vector norm. Defaults to 1e-6.
        loss_weight (float): Scale of the loss. Defaults to 1.0.
    """

    def __init__(self, eps: float = 1e-6, loss_weight: float = 1.0) -> None:
        super().__init__()
        self.eps = eps
        self.loss_weight = loss_weight

    def forward(self,
                pred: torch.Tensor,
                target: torch.Tensor,
                mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Compute the loss.

        Args:
            pred (torch.Tensor): Predictions ``(..., C)``.
            target (torch.Tensor): Targets of the same shape; detached.
            mask (torch.Tensor, optional): Weights of shape ``pred.shape[:-1]``
                (1 = the token counts). Defaults to None (all tokens).

        Returns:
            torch.Tensor: The scalar loss.
        """
        if pred.shape != target.shape:
            raise ValueError(f'pred {tuple(pred.shape)} and target '
                             f'{tuple(target.shape)} must have the same shape')
        cos = F.cosine_similarity(
            pred.float(), target.detach().float(), dim=-1, eps=self.eps)
        if mask is None:
            mean_cos = cos.mean()
        else:
            mask = mask.to(cos.dtype)
            mean_cos = (cos * mask).sum() / mask.sum()
        return self.loss_weight * (1.0 - mean_cos)
