# Copyright (c) mkd_mm contributors. All rights reserved.
from typing import NamedTuple, Optional

import torch


class MaskInfo(NamedTuple):
    """Which patches a masked encoder sees.

    Attributes:
        ids_keep (torch.Tensor): ``(B, len_keep)`` indices of the visible
            patches, in the order the encoder sees them.
        ids_restore (torch.Tensor): ``(B, N)`` permutation that puts
            ``[visible, masked]`` tokens back into raster order.
        mask (torch.Tensor): ``(B, N)`` float mask, 1 for a masked (removed)
            patch and 0 for a visible one, in raster order.
    """
    ids_keep: torch.Tensor
    ids_restore: torch.Tensor
    mask: torch.Tensor


def num_visible_patches(num_patches: int, mask_ratio: float) -> int:
    """Number of visible patches the official code keeps:
    ``int(N * (1 - r))`` (float truncation, so 95% of 196 keeps 9, not 10).

    Args:
        num_patches (int): Patches per image ``N``.
        mask_ratio (float): Masked fraction ``r``.

    Returns:
        int: ``len_keep``.
    """
    return int(num_patches * (1 - mask_ratio))


def check_mask_ratio(mask_ratio: float, num_patches: int,
                     key: str = 'mask_ratio') -> None:
    """Raise a clear error if a mask ratio leaves no visible patch.

    Args:
        mask_ratio (float): Masked fraction.
        num_patches (int): Patches per image.
        key (str): Config key named in the error.
    """
    if not 0 <= mask_ratio < 1:
        raise ValueError(f'`{key}` must be in [0, 1), but got {mask_ratio}.')
    if num_visible_patches(num_patches, mask_ratio) < 1:
        raise ValueError(
            f'`{key}`={mask_ratio} leaves no visible patch out of '
            f'{num_patches} (int({num_patches} * (1 - {mask_ratio})) = 0); '
            f'use a ratio below {1 - 1 / num_patches:.4f}.')


def random_masking(batch_size: int,
                   num_patches: int,
                   mask_ratio: float,
                   device: torch.device,
                   generator: Optional[torch.Generator] = None) -> MaskInfo:
    """Per-sample random masking as in MAE.

    ``noise ~ U[0, 1)^(B x N)``; the ``len_keep`` patches with the smallest
    noise stay visible.

    Args:
        batch_size (int): ``B``.
        num_patches (int): ``N``.
        mask_ratio (float): Masked fraction.
        device (torch.device): Device of the returned tensors.
        generator (torch.Generator, optional): RNG for reproducible masks.

    Returns:
        MaskInfo: ids_keep, ids_restore and the binary mask.
    """
    len_keep = num_visible_patches(num_patches, mask_ratio)
    noise = torch.rand(
        batch_size, num_patches, device=device, generator=generator)
    ids_shuffle = torch.argsort(noise, dim=1)
    return mask_info_from_shuffle(ids_shuffle, len_keep)


def mask_info_from_shuffle(ids_shuffle: torch.Tensor,
                           len_keep: int) -> MaskInfo:
    """Build a :class:`MaskInfo` from a per-sample patch permutation.

    Args:
        ids_shuffle (torch.Tensor): ``(B, N)``; the first ``len_keep`` entries
            of each row are the visible patches.
        len_keep (int): Visible patches per sample.

    Returns:
        MaskInfo: The mask description.
    """
    ids_restore = torch.argsort(ids_shuffle, dim=1)
    mask = torch.ones_like(ids_shuffle, dtype=torch.float32)
    mask[:, :len_keep] = 0
    mask = torch.gather(mask, 1, ids_restore)
    return MaskInfo(ids_shuffle[:, :len_keep], ids_restore, mask)


def mask_info_from_mask(mask: torch.Tensor) -> MaskInfo:
    """Build a :class:`MaskInfo` from an explicit binary mask.

    Every sample must mask the same number of patches (the encoder runs on a
    dense batch). Visible patches keep raster order.

    Args:
        mask (torch.Tensor): ``(B, N)`` or ``(B, h, w)``, nonzero/True =
            masked.

    Returns:
        MaskInfo: The mask description.
    """
    mask = mask.flatten(1).bool()
    num_masked = mask.sum(1)
    if not bool((num_masked == num_masked[0]).all()):
        raise ValueError('An explicit mask must mask the same number of '
                         f'patches in every sample, got {num_masked.tolist()}')
    len_keep = mask.shape[1] - int(num_masked[0])
    if len_keep < 1:
        raise ValueError('An explicit mask must leave at least one patch '
                         'visible.')
    # stable sort: visible (0) first, each group in raster order
    ids_shuffle = torch.sort(mask.long(), dim=1, stable=True)[1]
    return mask_info_from_shuffle(ids_shuffle, len_keep)


def gather_tokens(x: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
    """Select tokens ``x[b, ids[b]]`` from ``(B, N, C)`` tokens.

    Args:
        x (torch.Tensor): ``(B, N, C)``.
        ids (torch.Tensor): ``(B, K)`` indices.

    Returns:
        torch.Tensor: ``(B, K, C)``.
    """
    return torch.gather(x, 1, ids.unsqueeze(-1).expand(-1, -1, x.shape[-1]))
