# Copyright (c) mkd_mm contributors. All rights reserved.
"""Multi-head self-attention with a per-block relative position bias."""
from collections import OrderedDict
from typing import Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmpretrain.models.utils import MultiheadAttention

#: LRU cache of index tensors shared by all blocks (one entry per input grid;
#: a 84x50 grid needs a 4201x4201 index, so the cache is kept small).
_INDEX_CACHE: 'OrderedDict[tuple, torch.Tensor]' = OrderedDict()
_INDEX_CACHE_SIZE = 4


def relative_position_index(hw: Tuple[int, int], table_hw: Tuple[int, int],
                            with_cls: bool,
                            device: torch.device) -> torch.Tensor:
    """Rows of a relative-position table for every pair of tokens.

    Args:
        hw (tuple[int, int]): Patch grid of the input.
        table_hw (tuple[int, int]): Grid ``(Wh, Ww)`` the table is laid out
            for; ``hw`` must not exceed it.
        with_cls (bool): Whether a cls token leads the sequence; its pairs use
            the three rows after the grid offsets.
        device (torch.device): Device of the result.

    Returns:
        torch.Tensor: Long tensor ``(N, N)`` with ``N = h*w (+1)``.
    """
    key = (tuple(hw), tuple(table_hw), with_cls, str(device))
    if key in _INDEX_CACHE:
        _INDEX_CACHE.move_to_end(key)
        return _INDEX_CACHE[key]
    h, w = hw
    th, tw = table_hw
    coords = torch.stack(
        torch.meshgrid(torch.arange(h), torch.arange(w), indexing='ij'))
    coords = coords.flatten(1)  # 2, N
    rel = coords[:, :, None] - coords[:, None, :]  # 2, N, N
    index = (rel[0] + th - 1) * (2 * tw - 1) + (rel[1] + tw - 1)
    if with_cls:
        num_rel = (2 * th - 1) * (2 * tw - 1) + 3
        n = h * w + 1
        full = torch.empty(n, n, dtype=torch.long)
        full[1:, 1:] = index
        full[0, :] = num_rel - 3  # cls -> token
        full[:, 0] = num_rel - 2  # token -> cls
        full[0, 0] = num_rel - 1  # cls -> cls
        index = full
    index = index.to(device)
    _INDEX_CACHE[key] = index
    while len(_INDEX_CACHE) > _INDEX_CACHE_SIZE:
        _INDEX_CACHE.popitem(last=False)
    return index


class RelPosBiasAttention(MultiheadAttention):
    """Self-attention with an optional BEiT-style relative position bias.

    The parameter names are those of mmpretrain's ``MultiheadAttention``
    (``qkv``, ``proj``, ``gamma1``), so pre-trained mmpretrain / MAE weights
    load directly. When ``rel_pos_grid`` is given, a table
    ``relative_position_bias_table`` of shape
    ``((2*Wh-1)*(2*Ww-1) + 3, num_heads)`` is added, **zero-initialised** and
    trained from scratch at transfer. The three extra rows hold the
    cls->token, token->cls and cls->cls biases. Grids up to ``rel_pos_grid``
    index the table exactly (an offset always maps to the same row); larger
    grids interpolate the 2-D part of the table bicubically.

    Args:
        embed_dims (int): Embedding dimension.
        num_heads (int): Number of attention heads.
        rel_pos_grid (Sequence[int], optional): Largest patch grid
            ``(Wh, Ww)`` covered by the table; None disables the bias.
            Defaults to None.
        num_extra_tokens (int): Leading non-grid tokens (0 or 1).
            Defaults to 1.
        **kwargs: Other arguments of mmpretrain ``MultiheadAttention``
            (``attn_drop``, ``proj_drop``, ``dropout_layer``, ``qkv_bias``,
            ``layer_scale_init_value``...).
    """

    def __init__(self,
                 embed_dims: int,
                 num_heads: int,
                 rel_pos_grid: Optional[Sequence[int]] = None,
                 num_extra_tokens: int = 1,
                 **kwargs) -> None:
        super().__init__(embed_dims, num_heads, **kwargs)
        if num_extra_tokens not in (0, 1):
            raise ValueError('num_extra_tokens must be 0 or 1, got '
                             f'{num_extra_tokens}.')
        self.num_extra_tokens = num_extra_tokens
        self.rel_pos_grid = tuple(rel_pos_grid) if rel_pos_grid else None
        if self.rel_pos_grid is not None:
            wh, ww = self.rel_pos_grid
            num_rel = (2 * wh - 1) * (2 * ww - 1) + 3
            self.relative_position_bias_table = nn.Parameter(
                torch.zeros(num_rel, num_heads))

    def relative_position_bias(self, hw: Tuple[int, int]) -> torch.Tensor:
        """Bias of shape ``(num_heads, N, N)`` for a patch grid ``hw``.

        Args:
            hw (tuple[int, int]): Patch grid of the current input.

        Returns:
            torch.Tensor: The additive attention bias.
        """
        table = self.relative_position_bias_table
        th, tw = self.rel_pos_grid
        if hw[0] > th or hw[1] > tw:
            nh, nw = max(hw[0], th), max(hw[1], tw)
            grid = table[:-3].reshape(2 * th - 1, 2 * tw - 1, -1)
            grid = F.interpolate(
                grid.permute(2, 0, 1).unsqueeze(0).float(),
                size=(2 * nh - 1, 2 * nw - 1),
                mode='bicubic',
                align_corners=False)[0].permute(1, 2, 0)
            table = torch.cat([
                grid.reshape(-1, table.shape[-1]).to(table.dtype), table[-3:]
            ])
            th, tw = nh, nw
        index = relative_position_index(hw, (th, tw),
                                        bool(self.num_extra_tokens),
                                        table.device)
        n = index.shape[0]
        bias = table[index.reshape(-1)].reshape(n, n, -1)
        return bias.permute(2, 0, 1).contiguous()

    def forward(self,
                x: torch.Tensor,
                hw: Optional[Tuple[int, int]] = None) -> torch.Tensor:
        """Attend over all tokens.

        Args:
            x (torch.Tensor): Tokens ``(B, N, C)``.
            hw (tuple[int, int], optional): Patch grid of the tokens; needed
                when the relative position bias is enabled.

        Returns:
            torch.Tensor: ``(B, N, C)``, after projection, layer scale and
            drop path (the residual is added by the caller).
        """
        B, N, _ = x.shape
        qkv = self.qkv(x).reshape(B, N, 3, self.num_heads,
                                  self.head_dims).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        attn_mask = None
        if self.rel_pos_grid is not None:
            if hw is None:
                raise ValueError('The relative position bias needs the '
                                 'patch grid `hw`.')
            attn_mask = self.relative_position_bias(hw).unsqueeze(0).to(
                q.dtype)
        attn_drop = self.attn_drop if self.training else 0.
        x = F.scaled_dot_product_attention(
            q, k, v, attn_mask=attn_mask, dropout_p=attn_drop)
        x = x.transpose(1, 2).reshape(B, N, self.embed_dims)
        x = self.proj(x)
        return self.out_drop(self.gamma1(self.proj_drop(x)))
