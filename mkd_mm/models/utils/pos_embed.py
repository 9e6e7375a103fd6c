# Copyright (c) mkd_mm contributors. All rights reserved.
from typing import Sequence, Union

import torch


def build_mae_sincos_pos_embed(grid_size: Union[int, Sequence[int]],
                               embed_dims: int,
                               cls_token: bool = True,
                               temperature: float = 10000.) -> torch.Tensor:
    """Fixed 2-D sin-cos position embedding in the layout of the MAE code.

    The first ``embed_dims / 2`` channels encode the column (x) coordinate
    and the last ``embed_dims / 2`` the row (y) coordinate, each as
    ``[sin | cos]`` with ``omega_i = 1 / temperature**(i / (embed_dims / 4))``
    (MAE ``util/pos_embed.py``, also used by dBOT and DMAE). mmpretrain's
    ``build_2d_sincos_position_embedding`` puts the row coordinate first,
    i.e. it is the transposed grid; the two only coincide on the diagonal.
    The class-token slot is all zeros.

    Args:
        grid_size (int | Sequence[int]): Patch grid ``(h, w)`` or a side.
        embed_dims (int): Channels, a multiple of 4.
        cls_token (bool): Prepend a zero row for the class token.
            Defaults to True.
        temperature (float): Frequency base. Defaults to 10000.

    Returns:
        torch.Tensor: ``(1, [1 +] h * w, embed_dims)`` float32 tensor.
    """
    if isinstance(grid_size, int):
        grid_size = (grid_size, grid_size)
    h, w = grid_size
    if embed_dims % 4 != 0:
        raise ValueError(
            f'embed_dims must be a multiple of 4, but got {embed_dims}')
    quarter = embed_dims // 4
    omega = 1. / temperature**(
        torch.arange(quarter, dtype=torch.float64) / quarter)
    rows, cols = torch.meshgrid(
        torch.arange(h, dtype=torch.float64),
        torch.arange(w, dtype=torch.float64),
        indexing='ij')
    out_x = cols.flatten()[:, None] * omega[None]
    out_y = rows.flatten()[:, None] * omega[None]
    emb = torch.cat(
        [out_x.sin(), out_x.cos(),
         out_y.sin(), out_y.cos()], dim=1).float()
    if cls_token:
        emb = torch.cat([emb.new_zeros(1, embed_dims), emb], dim=0)
    return emb[None]
