# Copyright (c) mkd_mm contributors. All rights reserved.
import copy
from typing import Dict, List, Optional, Sequence, Union

import torch
import torch.nn as nn
from mmpretrain.models import VisionTransformer
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

from ..utils.masking import MaskInfo, check_mask_ratio
from .base_distiller import BaseDistiller


def _arch_depth(arch: Union[str, dict], key: str) -> int:
    """Number of blocks of a ViT ``arch`` (mmpretrain name or dict)."""
    if isinstance(arch, str):
        if arch.lower() not in VisionTransformer.arch_zoo:
            raise ValueError(
                f'`{key}` {arch!r} is not an mmpretrain ViT architecture; '
                f'use one of {sorted(VisionTransformer.arch_zoo)} or a dict.')
        return VisionTransformer.arch_zoo[arch.lower()]['num_layers']
    if 'num_layers' not in arch:
        raise ValueError(f'`{key}` dict needs a `num_layers` entry.')
    return int(arch['num_layers'])


def _check_indices(indices: Sequence[int], depth: int, key: str) -> None:
    bad = [
        i for i in indices
        if not isinstance(i, int) or isinstance(i, bool) or not 0 <= i < depth
    ]
    if bad:
        raise ValueError(
            f'`{key}` = {list(indices)}: block indices are 0-based and must '
            f'be in [0, {depth - 1}] for a {depth}-block ViT; got {bad}.')


@MODELS.register_module()
class DMAE(BaseDistiller):
    """DMAE: an MAE student distilled from intermediate teacher features.

    Implementation of `Masked Autoencoders Enable Efficient Knowledge
    Distillers <https://arxiv.org/abs/2208.12256>`_, written from the paper
    and the behaviour of the official code (``UCSC-VLAA/DMAE``).

    Loss ``L = L_MAE + alpha * L_dist``:

    - ``loss_rec`` (``L_MAE``): MAE pixel reconstruction by the ``head``
      (mmpretrain :class:`MAEPretrainHead` + ``PixelReconstructionLoss``:
      patchify in ``(p, q, c)`` order, optional ``norm_pix``, squared error
      averaged over channels, then over the masked patches);
    - ``loss_align`` (``alpha * L_dist``): for every aligned pair ``(i, j)``
      of ``student_layers`` / ``teacher_layers``, the raw output of student
      block ``i`` (``(B, 1 + len_keep, C_s)``, class token included, before
      any norm) goes through its projector (:class:`FeatureProjector`) and
      is compared with the raw output of teacher block ``j`` by
      ``align_loss`` (:class:`FeatureAlignLoss`: per-token L2 normalisation
      + L1 by default, as the official code); the pair losses are summed.
      With several pairs the individual terms are also logged as
      ``align_s{i}_t{j}`` (not optimised twice: mmengine only sums keys
      containing ``loss``).

    The teacher (:class:`TeacherViT`):

    - sees exactly the student's visible patches (plus its own class token):
      one :class:`MaskInfo` is drawn per batch and shared, as in the
      official code, where the teacher draws the mask and the student
      reuses ``ids_keep``;
    - is built with only ``max(teacher_layers) + 1`` blocks and stops there:
      no later blocks, no final norm, no decoder;
    - is frozen, in eval mode, run under ``torch.no_grad`` (optionally under
      bf16/fp16 autocast, ``teacher_precision``) and never wrapped in DDP
      (see :class:`BaseDistiller`).

    Teacher compute saved (multiply-accumulates of the matrix products,
    counted analytically by :func:`dmae_teacher_macs` and checked against
    ``torch.utils.flop_counter`` in the tests). For the paper's MAE ViT-L/16
    teacher at 224 px aligned at block index 17:

    =====  ===========  ===========  =========  ================
    mask   ours         official     saving     saving vs a
    ratio  (18 blocks)  (24 blocks   vs         full-image ViT-L
                        + decoder)   official   (61.55 GMACs)
    =====  ===========  ===========  =========  ================
    0.75   11.57 GMACs  20.76 GMACs  44.3%      81.2%
    0.90    4.70 GMACs  11.58 GMACs  59.4%      92.4%
    0.95    2.42 GMACs   8.54 GMACs  71.6%      96.1%
    0.98    1.06 GMACs   6.72 GMACs  84.2%      98.3%
    =====  ===========  ===========  =========  ================

    (per image. The official teacher's decoder runs on all 197 tokens,
    which is why it costs so much: 5.38 GMACs at mask 0.75.)

    Args:
        backbone (dict): Student encoder, :class:`MKDViT`.
        neck (dict): Student pixel decoder, e.g. :class:`DBOTDecoder` with
            ``keep_cls=False`` (MAE's decoder with the exact MAE init).
        head (dict): :class:`MAEPretrainHead` with an L2
            ``PixelReconstructionLoss``; ``norm_pix=False`` is the official
            default.
        teacher (dict): :class:`TeacherViT` config, ``arch`` = the
            checkpoint's architecture. Its ``depth`` is set to
            ``max(teacher_layers) + 1``; leave it unset (an explicit other
            value is an error).
        projector (dict | List[dict]): :class:`FeatureProjector` config, one
            shared config for every pair or a list with one per pair.
            ``in_channels`` / ``out_channels`` are filled in from the student
            and teacher widths; explicit values must match them.
        student_layers (Sequence[int]): 0-based student blocks to align.
            Defaults to (8,) (the 9th of ViT-B's 12).
        teacher_layers (Sequence[int]): 0-based teacher blocks, one per
            student block. Defaults to (17,) (the 18th of ViT-L's 24).
        align_loss (dict): Distance config. Defaults to
            ``dict(type='FeatureAlignLoss', criterion='L1', normalize=True)``.
        alpha (float): Weight of the distillation term. Defaults to 1.0.
        teacher_precision (str): Teacher autocast, see
            :class:`BaseDistiller`. Defaults to 'fp32'.
        data_preprocessor (dict, optional): Data preprocessor config.
        init_cfg (dict, optional): Unused; the parts initialise themselves.
        nonfinite_guard (dict, optional): Non-finite loss/gradient guard,
            see :class:`BaseDistiller`. Defaults to None (on, defaults).
    """

    def __init__(self,
                 backbone: dict,
                 neck: dict,
                 head: dict,
                 teacher: dict,
                 projector: Union[dict, List[dict]] = dict(
                     type='FeatureProjector', mode='mlp'),
                 student_layers: Sequence[int] = (8, ),
                 teacher_layers: Sequence[int] = (17, ),
                 align_loss: dict = dict(
                     type='FeatureAlignLoss', criterion='L1', normalize=True),
                 alpha: float = 1.0,
                 teacher_precision: str = 'fp32',
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None,
                 nonfinite_guard: Optional[dict] = None) -> None:
        student_layers = [int(i) for i in student_layers]
        teacher_layers = [int(i) for i in teacher_layers]
        if not student_layers:
            raise ValueError('`model.student_layers` must name at least one '
                             'student block.')
        if len(student_layers) != len(teacher_layers):
            raise ValueError(
                f'`model.student_layers` {student_layers} and '
                f'`model.teacher_layers` {teacher_layers} must have the same '
                'length (one teacher block per student block).')
        _check_indices(
            student_layers,
            _arch_depth(backbone.get('arch', 'b'), 'model.backbone.arch'),
            'model.student_layers')
        teacher = copy.deepcopy(dict(teacher))
        t_depth = _arch_depth(teacher.get('arch', 'b'), 'model.teacher.arch')
        _check_indices(teacher_layers, t_depth, 'model.teacher_layers')
        run_depth = max(teacher_layers) + 1
        if teacher.get('depth') not in (None, run_depth):
            raise ValueError(
                f'`model.teacher.depth` is {teacher["depth"]}, but DMAE '
                f'builds the teacher up to its deepest aligned block: '
                f'max(`model.teacher_layers`) + 1 = {run_depth}. Leave '
                '`model.teacher.depth` unset.')
        teacher['depth'] = run_depth
        if alpha < 0:
            raise ValueError(f'`model.alpha` must be >= 0, got {alpha}.')

        super().__init__(
            backbone=backbone,
            neck=neck,
            head=head,
            teacher=teacher,
            teacher_precision=teacher_precision,
            data_preprocessor=data_preprocessor,
            init_cfg=init_cfg,
            nonfinite_guard=nonfinite_guard)
        check_mask_ratio(self.backbone.mask_ratio, self.backbone.num_patches,
                         'model.backbone.mask_ratio')
        if self.teacher.num_patches != self.backbone.num_patches:
            raise ValueError(
                f'The teacher has {self.teacher.num_patches} patches '
                '(`model.teacher.img_size` / `patch_size`) but the student '
                f'{self.backbone.num_patches}; DMAE feeds both the same '
                'visible patches, so the grids must match.')
        self.student_layers = student_layers
        self.teacher_layers = teacher_layers
        self.alpha = float(alpha)
        self.projectors = nn.ModuleList(
            self._build_projectors(projector, len(student_layers)))
        self.align_loss = MODELS.build(align_loss)

    def _build_projectors(self, projector: Union[dict, List[dict]],
                          num_pairs: int) -> List[nn.Module]:
        if isinstance(projector, (list, tuple)):
            if len(projector) != num_pairs:
                raise ValueError(
                    f'`model.projector` lists {len(projector)} configs for '
                    f'{num_pairs} aligned pairs.')
            cfgs = [copy.deepcopy(dict(p)) for p in projector]
            keys = [f'model.projector[{i}]' for i in range(num_pairs)]
        else:
            cfgs = [copy.deepcopy(dict(projector)) for _ in range(num_pairs)]
            keys = ['model.projector'] * num_pairs
        widths = (('in_channels', self.backbone.embed_dims, 'student',
                   'model.backbone.arch'),
                  ('out_channels', self.teacher.embed_dims, 'teacher',
                   'model.teacher.arch'))
        modules = []
        for cfg, key in zip(cfgs, keys):
            for name, dim, who, arch_key in widths:
                given = cfg.get(name)
                if given is None:
                    cfg[name] = dim
                elif given != dim:
                    raise ValueError(
                        f'`{key}.{name}` is {given} but the {who} width is '
                        f'{dim} (from `{arch_key}`); leave it unset or make '
                        'them equal.')
            modules.append(MODELS.build(cfg))
        return modules

    # ----------------------------------------------------------- weights
    def init_weights(self) -> None:
        """Initialise the student parts and load (or init) the teacher."""
        self.backbone.init_weights()
        self.neck.init_weights()
        for proj in self.projectors:
            proj.init_weights()
        try:
            self.teacher.init_weights()
        except (KeyError, ValueError, FileNotFoundError, RuntimeError) as e:
            if hasattr(e, 'add_note'):  # Python >= 3.11
                e.add_note('DMAE: check `model.teacher.init_cfg.checkpoint` '
                           'and `model.teacher.arch` (the teacher '
                           'architecture must be that of the checkpoint; '
                           'see docs/dmae.md).')
            raise
        self._is_init = True

    # ------------------------------------------------------------- loss
    def loss(self,
             inputs: torch.Tensor,
             data_samples: Optional[List[DataSample]] = None,
             mask: Optional[Union[torch.Tensor, MaskInfo]] = None,
             **kwargs) -> Dict[str, torch.Tensor]:
        """Reconstruction loss plus feature-alignment loss.

        Args:
            inputs (torch.Tensor): Images ``(B, 3, H, W)``.
            data_samples (List[DataSample], optional): May carry ``mask``.
            mask (torch.Tensor | MaskInfo, optional): Explicit mask shared
                by student and teacher.

        Returns:
            Dict[str, torch.Tensor]: ``loss_rec``, ``loss_align`` and, with
            several pairs, the per-pair ``align_s{i}_t{j}`` (logged only).
        """
        info = self.get_mask_info(inputs, data_samples, mask)
        run = sorted(set(self.student_layers))
        latent, feats = self.backbone.forward_masked(
            inputs, info, return_layers=run)
        s_feats = dict(zip(run, feats))
        pred = self.neck(latent, info.ids_restore)
        loss_rec = self.head.loss(pred, inputs, info.mask)

        t_feats = self.teacher_forward(
            inputs, ids_keep=info.ids_keep, return_layers=self.teacher_layers)
        losses = {}
        terms = []
        for proj, i, j, t in zip(self.projectors, self.student_layers,
                                 self.teacher_layers, t_feats):
            term = self.align_loss(proj(s_feats[i]), t)
            terms.append(term)
            if len(self.projectors) > 1:
                losses[f'align_s{i}_t{j}'] = term.detach()
        losses['loss_rec'] = loss_rec
        losses['loss_align'] = self.alpha * sum(terms)
        return losses
