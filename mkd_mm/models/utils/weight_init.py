# Copyright (c) mkd_mm contributors. All rights reserved.
import torch.nn as nn


def init_linear_and_norm_(module: nn.Module) -> None:
    """MAE's generic initialisation, applied to every submodule.

    Every ``nn.Linear`` gets ``xavier_uniform`` weights and zero bias; every
    ``nn.LayerNorm`` weight 1 and bias 0 (MAE ``models_mae.py``
    ``_init_weights``; the dBOT and DMAE code reuse it). Unlike mmpretrain's
    ``TransformerEncoderLayer.init_weights``, FFN biases are exactly zero.

    Args:
        module (nn.Module): Module to initialise in place.
    """
    for m in module.modules():
        if isinstance(m, nn.Linear):
            nn.init.xavier_uniform_(m.weight)
            if m.bias is not None:
                nn.init.constant_(m.bias, 0)
        elif isinstance(m, nn.LayerNorm):
            if m.weight is not None:
                nn.init.constant_(m.weight, 1.0)
            if m.bias is not None:
                nn.init.constant_(m.bias, 0)
