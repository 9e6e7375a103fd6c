# Copyright (c) mkd_mm contributors. All rights reserved.
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmpretrain.registry import MODELS


@MODELS.register_module()
class FeatureAlignLoss(nn.Module):
    """DMAE's feature-alignment distance between projected student tokens
    and teacher tokens.

    Implementation of the distillation term of `Masked Autoencoders Enable
    Efficient Knowledge Distillers <https://arxiv.org/abs/2208.12256>`_
    (DMAE). For one aligned pair of blocks, with ``pred = sigma(z_S)`` of
    shape ``(B, T, C)`` and the teacher tokens ``target`` of the same shape:

    - ``normalize=True`` (official code): both are L2-normalised per token,
      ``F.normalize(x, dim=-1)`` (eps 1e-12), before the distance. This is
      not in the paper's Eq. 2;
    - ``normalize=False``: the raw features, as Eq. 2 of the paper;
    - ``criterion='L1'`` (default, official and paper) or ``'L2'`` (mean
      squared error, the paper's Tab. 3c ablation);
    - the reduction is the mean over all ``B * T * C`` elements (torch's
      ``L1Loss``/``MSELoss`` default), i.e. ``1 / Omega(z_T)`` in Eq. 2.

    The target is detached and everything is computed in float32, also
    under AMP.

    Args:
        criterion (str): ``'L1'`` or ``'L2'``. Defaults to 'L1'.
        normalize (bool): L2-normalise every token first. Defaults to True.
        eps (float): ``eps`` of ``F.normalize``. Defaults to 1e-12.
    """

    CRITERIA = ('L1', 'L2')

    def __init__(self,
                 criterion: str = 'L1',
                 normalize: bool = True,
                 eps: float = 1e-12) -> None:
        super().__init__()
        if criterion not in self.CRITERIA:
            raise ValueError(f'`criterion` of FeatureAlignLoss must be one of '
                             f'{self.CRITERIA}, but got {criterion!r}.')
        self.criterion = criterion
        self.normalize = normalize
        self.eps = eps

    def forward(self, pred: torch.Tensor,
                target: torch.Tensor) -> torch.Tensor:
        """Distance between projected student and teacher features.

        Args:
            pred (torch.Tensor): Projected student tokens ``(B, T, C)``.
            target (torch.Tensor): Teacher tokens ``(B, T, C)``.

        Returns:
            torch.Tensor: Scalar loss.
        """
        if pred.shape != target.shape:
            raise ValueError(
                f'FeatureAlignLoss: student features {tuple(pred.shape)} and '
                f'teacher features {tuple(target.shape)} differ in shape.')
        pred = pred.float()
        target = target.detach().float()
        if self.normalize:
            pred = F.normalize(pred, dim=-1, eps=self.eps)
            target = F.normalize(target, dim=-1, eps=self.eps)
        if self.criterion == 'L1':
            return F.l1_loss(pred, target)
        return F.mse_loss(pred, target)

    def extra_repr(self) -> str:
        """Summary shown by ``print(module)``."""
        return f'criterion={self.criterion}, normalize={self.normalize}'
