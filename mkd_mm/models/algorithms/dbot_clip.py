# Copyright (c) mkd_mm contributors. All rights reserved.
from typing import Dict, List, Optional, Tuple

import numpy as np
import torch
import torch.nn as nn
from mmpretrain.registry import MODELS, TRANSFORMS
from mmpretrain.structures import DataSample

from .base_distiller import BaseDistiller


@MODELS.register_module()
class DBOTCLIP(BaseDistiller):
    """dBOT data-richer recipe (⌘): a BEiT-style student distils CLIP.

    Implementation of the CLIP-teacher recipe of `Exploring Target
    Representations for Masked Autoencoders
    <https://arxiv.org/abs/2209.03917>`_ (Sec. 6.2, Tab. 9, Tab. A1 col. 3),
    following the official ``beit`` branch of ``liuxingbin/dbot``
    (``modeling_pretrain.py``, ``engine_for_pretraining.py``,
    ``tokenizer/clip_encoder.py``):

    - **student** (``backbone``, e.g. :class:`MKDBEiTViT`): no asymmetric
      decoder; all ``N`` patches enter the encoder with the masked ones
      replaced by a learnable mask token; after the final LayerNorm,
      ``lm_head`` (``Linear(D, D_teacher)``, created here) is applied to the
      **masked patch tokens only**;
    - **teacher** (e.g. :class:`CLIPTeacher`): a frozen CLIP image tower on
      the **un-normalised** crop, normalised inside with CLIP's mean/std;
      all tokens through ``ln_post`` and ``@ proj``, class token discarded;
    - **loss** (``head``, ``MIMHead`` with :class:`NegativeCosineLoss`):
      ``1 - mean cos`` over all masked tokens of the batch;
    - **mask**: BEiT block-wise, 78 patches, produced in the data pipeline
      (``BEiTMaskGenerator`` + ``PackInputs(algorithm_keys=['mask'])``) and
      read from ``data_samples[i].mask``; or an explicit ``mask``; or, if
      ``mask_generator`` is set, drawn here (for pipelines without it).
    - one stage, no bootstrapping: the teacher never changes.

    **Teacher input.** The student's input is normalised by the data
    preprocessor with ImageNet mean/std. The raw crop is recovered exactly
    (up to float rounding) as ``inputs * std + mean`` with the preprocessor's
    own ``mean``/``std`` (on the 0-255 scale, after its BGR->RGB conversion),
    so the teacher sees the same colour-jittered, flipped crop as the
    student, as in the official code (where the two copies come from one
    crop). See :class:`CLIPTeacher` for the resize to ``teacher.img_size``.

    Args:
        backbone (dict): Student config (:class:`MKDBEiTViT`).
        head (dict): ``MIMHead`` with the loss.
        teacher (dict): Teacher config (:class:`CLIPTeacher`).
        mask_generator (dict, optional): A mask transform config (e.g.
            ``BEiTMaskGenerator``) used when the batch carries no mask.
            Defaults to None (a mask must come with the data).
        teacher_precision (str): Teacher autocast, see
            :class:`BaseDistiller`. Defaults to 'fp32'.
        data_preprocessor (dict, optional): Data preprocessor config.
        init_cfg (dict, optional): Unused; the parts initialise themselves.
        nonfinite_guard (dict, optional): Non-finite loss/gradient guard,
            see :class:`BaseDistiller`. Defaults to None (on, defaults).
    """

    def __init__(self,
                 backbone: dict,
                 head: dict,
                 teacher: dict,
                 mask_generator: Optional[dict] = None,
                 teacher_precision: str = 'fp32',
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None,
                 nonfinite_guard: Optional[dict] = None) -> None:
        super().__init__(
            backbone=backbone,
            neck=None,
            head=head,
            teacher=teacher,
            teacher_precision=teacher_precision,
            data_preprocessor=data_preprocessor,
            init_cfg=init_cfg,
            nonfinite_guard=nonfinite_guard)
        self.lm_head = nn.Linear(self.backbone.embed_dims,
                                 self.teacher.out_dims)
        self.mask_generator = (
            TRANSFORMS.build(mask_generator)
            if mask_generator is not None else None)
        self._check_shapes()

    def _check_shapes(self) -> None:
        s_grid = tuple(self.backbone.patch_resolution)
        t_grid = tuple(self.teacher.patch_resolution)
        if s_grid != t_grid:
            raise ValueError(
                f'The teacher sees a {t_grid} patch grid '
                f'(`model.teacher.img_size` {self.teacher.img_size} / patch '
                f'{self.teacher.patch_size}) but the student a {s_grid} grid;'
                ' they must match token by token (e.g. img_size=196 for a '
                'CLIP-L/14 teacher of a ViT-L/16 student at 224 px).')
        gen = self.mask_generator
        if gen is not None and (getattr(
                gen, 'height', None), getattr(gen, 'width', None)) != s_grid:
            raise ValueError(
                f'`model.mask_generator` draws masks on a '
                f'{(gen.height, gen.width)} grid, the student has {s_grid}.')

    # ----------------------------------------------------------- weights
    def init_weights(self) -> None:
        """Official student init, ``lm_head`` init, CLIP weights."""
        self.backbone.init_weights()
        std = getattr(self.backbone, 'init_std', 0.02)
        nn.init.trunc_normal_(
            self.lm_head.weight, mean=0., std=std, a=-std, b=std)
        nn.init.zeros_(self.lm_head.bias)
        self.teacher.init_weights()
        self._is_init = True

    # ------------------------------------------------------------ masking
    def get_bool_mask(self,
                      inputs: torch.Tensor,
                      data_samples: Optional[List[DataSample]] = None,
                      mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        """The ``(B, N)`` boolean mask of this batch (True = masked).

        Priority: the explicit ``mask``, then ``mask`` fields of the data
        samples, then ``mask_generator``.

        Args:
            inputs (torch.Tensor): Images ``(B, 3, H, W)``.
            data_samples (List[DataSample], optional): Data samples.
            mask (torch.Tensor, optional): ``(B, N)`` or ``(B, h, w)``.

        Returns:
            torch.Tensor: Boolean mask in raster order.
        """
        if mask is None and data_samples and all('mask' in ds
                                                 for ds in data_samples):
            mask = torch.stack(
                [torch.as_tensor(ds.mask) for ds in data_samples])
        if mask is None and self.mask_generator is not None:
            mask = torch.from_numpy(
                np.stack([
                    self.mask_generator.transform({})['mask']
                    for _ in range(inputs.shape[0])
                ]))
        if mask is None:
            raise ValueError(
                'DBOTCLIP needs a mask: add `BEiTMaskGenerator` and '
                "`PackInputs(algorithm_keys=['mask'])` to the pipeline, pass "
                '`mask=`, or set `model.mask_generator`.')
        mask = torch.as_tensor(mask).to(inputs.device).flatten(1).bool()
        if mask.shape != (inputs.shape[0], self.backbone.num_patches):
            raise ValueError(
                f'the mask has shape {tuple(mask.shape)} (flattened), '
                f'expected ({inputs.shape[0]}, {self.backbone.num_patches})')
        if not bool(mask.any()):
            raise ValueError('the mask masks no patch: the loss is empty')
        return mask

    # ------------------------------------------------------------- teacher
    def raw_images(self, inputs: torch.Tensor) -> torch.Tensor:
        """Undo the data preprocessor's normalisation.

        Args:
            inputs (torch.Tensor): Normalised images ``(B, 3, H, W)``.

        Returns:
            torch.Tensor: RGB images on the 0-255 scale.
        """
        dp = self.data_preprocessor
        if not isinstance(inputs, torch.Tensor):
            raise TypeError(
                'DBOTCLIP expects one image tensor per batch (use '
                f'`SelfSupDataPreprocessor`), got {type(inputs).__name__}')
        if getattr(dp, '_enable_normalize', False):
            return inputs * dp.std + dp.mean
        return inputs

    def targets_and_predictions(
            self, inputs: torch.Tensor,
            mask: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Teacher targets and student predictions of the masked tokens.

        Args:
            inputs (torch.Tensor): Normalised images ``(B, 3, H, W)``.
            mask (torch.Tensor): ``(B, N)`` boolean mask.

        Returns:
            Tuple[torch.Tensor, torch.Tensor]: ``(pred, target)``, both
            ``(K, D_teacher)`` with ``K`` the masked tokens of the batch in
            (sample, raster) order.
        """
        target = self.teacher_forward(self.raw_images(inputs))
        latent = self.backbone(inputs, mask)[-1]  # (B, 1 + N, D), final LN
        pred = self.lm_head(latent[:, 1:][mask])
        return pred, target[mask]

    # ------------------------------------------------------------- loss
    def loss(self,
             inputs: torch.Tensor,
             data_samples: Optional[List[DataSample]] = None,
             mask: Optional[torch.Tensor] = None,
             **kwargs) -> Dict[str, torch.Tensor]:
        """Negative-cosine distillation loss on the masked tokens.

        Args:
            inputs (torch.Tensor): Normalised images ``(B, 3, H, W)``.
            data_samples (List[DataSample], optional): May carry ``mask``.
            mask (torch.Tensor, optional): Explicit mask.

        Returns:
            Dict[str, torch.Tensor]: ``{'loss': ...}``.
        """
        bool_mask = self.get_bool_mask(inputs, data_samples, mask)
        pred, target = self.targets_and_predictions(inputs, bool_mask)
        return dict(loss=self.head.loss(pred, target))
