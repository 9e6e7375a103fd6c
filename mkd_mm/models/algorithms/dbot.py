# Copyright (c) mkd_mm contributors. All rights reserved.
import copy
from typing import Dict, List, Optional, Sequence, Union

import torch
from mmengine.logging import print_log
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

from ..utils.masking import MaskInfo
from .base_distiller import BaseDistiller


@MODELS.register_module()
class DBOT(BaseDistiller):
    """dBOT: masked knowledge distillation with bootstrapped teachers.

    Implementation of `Exploring Target Representations for Masked
    Autoencoders <https://arxiv.org/abs/2209.03917>`_, following the
    official code (``liuxingbin/dbot``) by default.

    A masked student (MAE encoder on the visible patches + a decoder whose
    output has the teacher's width and keeps the class position) predicts
    the tokens that a frozen teacher computes on the intact image. Training
    runs in stages; at each stage breakpoint (driven by
    :class:`BootstrapTeacherHook`, see :meth:`start_next_stage`) the teacher
    takes the student's encoder weights and the student (encoder and
    decoder) is re-initialised.

    Official behaviour vs. paper, as options:

    - the loss covers the masked patches **and the class token**
      (``cls_in_loss=True``, official); ``False`` takes masked patches only;
    - the stage-1 "random teacher" is an exact copy of the student's initial
      weights (``init_teacher_from_student=True``, official); ``False`` keeps
      the teacher's own independent random initialisation;
    - the teacher has no final LayerNorm (``teacher.final_norm=False``,
      official and the paper's best, Tab. 6d).

    Args:
        backbone (dict): Student encoder, e.g. ``MKDViT``.
        neck (dict): Student decoder, e.g. ``DBOTDecoder`` with
            ``predict_feature_dim`` = teacher width.
        head (dict): ``MIMHead`` with a ``StandardizedSmoothL1Loss``.
        teacher (dict): ``TeacherViT`` config of stage 1 (its ``depth`` is
            the initial teacher depth; 0 for the official ViT-L/H runs).
        teacher_depths (Sequence[int], optional): Teacher depth in each stage
            (index = stage). Defaults to None: stage 1 uses ``teacher.depth``
            and later stages the student's depth (official
            ``[init_teacher_encoder_depth] + depth[:-1]``).
        init_teacher_from_student (bool): See above. Defaults to True.
        cls_in_loss (bool): See above. Defaults to True.
        teacher_precision (str): Teacher autocast, see
            :class:`BaseDistiller`. Defaults to 'fp32'.
        data_preprocessor (dict, optional): Data preprocessor config.
        init_cfg (dict, optional): Unused.
        nonfinite_guard (dict, optional): Non-finite loss/gradient guard,
            see :class:`BaseDistiller`. Defaults to None (on, defaults).
    """

    def __init__(self,
                 backbone: dict,
                 neck: dict,
                 head: dict,
                 teacher: dict,
                 teacher_depths: Optional[Sequence[int]] = None,
                 init_teacher_from_student: bool = True,
                 cls_in_loss: bool = True,
                 teacher_precision: str = 'fp32',
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None,
                 nonfinite_guard: Optional[dict] = None) -> None:
        super().__init__(
            backbone=backbone,
            neck=neck,
            head=head,
            teacher=teacher,
            teacher_precision=teacher_precision,
            data_preprocessor=data_preprocessor,
            init_cfg=init_cfg,
            nonfinite_guard=nonfinite_guard)
        self.teacher_depths = (list(teacher_depths)
                               if teacher_depths is not None else None)
        self.init_teacher_from_student = init_teacher_from_student
        self.cls_in_loss = cls_in_loss
        # persistent, so the stage travels with every checkpoint
        self.register_buffer('stage', torch.zeros((), dtype=torch.long))
        self._ddp_params_and_buffers_to_ignore.append('stage')
        self._register_load_state_dict_pre_hook(self._match_teacher_depth)
        self._check_shapes()

    def _check_shapes(self) -> None:
        t_dim = self.teacher.embed_dims
        out_dim = self.neck.out_dims
        if out_dim != t_dim:
            raise ValueError(
                f'`model.neck.predict_feature_dim` ({out_dim}) must equal the '
                f'teacher width ({t_dim}, from `model.teacher.arch`).')
        if self.teacher.num_patches != self.backbone.num_patches:
            raise ValueError(
                f'The teacher sees {self.teacher.num_patches} patches '
                f'(`model.teacher.img_size`/`patch_size`) but the student '
                f'{self.backbone.num_patches}; they must match token by '
                'token (e.g. 196 px for a ViT-H/14 teacher of a /16 student '
                'at 224 px).')
        if self.teacher_depths is not None:
            if self.teacher_depths[0] != self.teacher.depth:
                raise ValueError(
                    f'`model.teacher_depths[0]` ({self.teacher_depths[0]}) '
                    f'must equal `model.teacher.depth` '
                    f'({self.teacher.depth}).')
            bad = [d for d in self.teacher_depths[1:]
                   if not 0 <= d <= self.backbone.num_layers]
            if bad:
                raise ValueError(
                    f'`model.teacher_depths` {self.teacher_depths}: a '
                    'bootstrapped teacher cannot be deeper than the student '
                    f'({self.backbone.num_layers} blocks).')

    # ----------------------------------------------------------- weights
    def init_weights(self) -> None:
        """Initialise student and teacher (official stage-1 behaviour)."""
        self.backbone.init_weights()
        self.neck.init_weights()
        self.teacher.init_weights()
        teacher_pretrained = (
            isinstance(self.teacher_cfg.get('init_cfg'), dict)
            and self.teacher_cfg['init_cfg'].get('type') == 'Pretrained')
        if self.init_teacher_from_student and not teacher_pretrained:
            self.copy_student_to_teacher(self.teacher.depth)
        self._is_init = True

    def teacher_depth_of_stage(self, stage: int) -> int:
        """Teacher depth used in ``stage`` (0-based).

        Args:
            stage (int): Stage index.

        Returns:
            int: Number of teacher blocks.
        """
        if self.teacher_depths is not None:
            if stage >= len(self.teacher_depths):
                raise ValueError(
                    f'stage {stage} has no entry in `model.teacher_depths` '
                    f'{self.teacher_depths}')
            return self.teacher_depths[stage]
        return self.teacher.depth if stage == 0 else self.backbone.num_layers

    def _build_teacher(self, depth: int) -> None:
        cfg = copy.deepcopy(self.teacher_cfg)
        cfg['depth'] = depth
        cfg.pop('init_cfg', None)
        device = self.stage.device
        self.set_teacher(MODELS.build(cfg).to(device))

    def copy_student_to_teacher(self, depth: Optional[int] = None) -> None:
        """The teacher takes the student encoder's current weights.

        Args:
            depth (int, optional): Teacher depth; the teacher is rebuilt if it
                differs. Defaults to the current depth.
        """
        if depth is not None and depth != self.teacher.depth:
            self._build_teacher(depth)
        if self.teacher.embed_dims != self.backbone.embed_dims:
            raise ValueError(
                'A bootstrapped teacher must have the student\'s width: '
                f'teacher {self.teacher.embed_dims} vs student '
                f'{self.backbone.embed_dims}. Bigger teachers are only '
                'supported as a fixed (single-stage) teacher.')
        student = self.backbone.state_dict()
        teacher = self.teacher.state_dict()
        missing = [k for k in teacher if k not in student]
        if missing:
            raise KeyError(f'student has no weights for teacher keys '
                           f'{missing[:10]}')
        self.teacher.load_state_dict({k: student[k] for k in teacher},
                                     strict=True)

    def reinit_student(self) -> None:
        """Re-initialise the student encoder and decoder (MAE rules)."""
        self.backbone.reset_parameters()
        self.neck.reset_parameters()

    @torch.no_grad()
    def start_next_stage(self) -> int:
        """Stage breakpoint: bootstrap the teacher, re-initialise the student.

        Returns:
            int: The new (0-based) stage index.
        """
        stage = int(self.stage) + 1
        self.copy_student_to_teacher(self.teacher_depth_of_stage(stage))
        self.reinit_student()
        self.stage.fill_(stage)
        return stage

    @torch.no_grad()
    def momentum_update(self, momentum: float) -> None:
        """EMA teacher update ``t <- m * t + (1 - m) * s`` (Tab. 6c).

        Args:
            momentum (float): ``m``; 1 keeps the teacher, 0 copies.
        """
        student = self.backbone.state_dict()
        for name, param in self.teacher.named_parameters():
            param.mul_(momentum).add_(student[name], alpha=1 - momentum)

    def _match_teacher_depth(self, state_dict: dict, prefix: str, *args,
                             **kwargs) -> None:
        """Rebuild the teacher to the depth stored in a checkpoint.

        A resumed run may be in a stage whose teacher depth differs from the
        one built from the config (e.g. the depth-0 teacher of ViT-L).
        """
        key = prefix + 'teacher.'
        if not any(k.startswith(key) for k in state_dict):
            return
        layer_ids = {
            int(k[len(key):].split('.')[1])
            for k in state_dict if k.startswith(key + 'layers.')
        }
        depth = max(layer_ids) + 1 if layer_ids else 0
        if depth != self.teacher.depth:
            print_log(f'Rebuilding the teacher with depth {depth} to match '
                      'the checkpoint.', logger='current')
            self._build_teacher(depth)

    # ------------------------------------------------------------- loss
    def loss(self,
             inputs: torch.Tensor,
             data_samples: Optional[List[DataSample]] = None,
             mask: Optional[Union[torch.Tensor, MaskInfo]] = None,
             **kwargs) -> Dict[str, torch.Tensor]:
        """Masked feature distillation loss.

        Args:
            inputs (torch.Tensor): Images ``(B, 3, H, W)``; the teacher and
                the student see the same augmented tensor.
            data_samples (List[DataSample], optional): May carry ``mask``.
            mask (torch.Tensor | MaskInfo, optional): Explicit mask.

        Returns:
            Dict[str, torch.Tensor]: ``{'loss': ...}``.
        """
        info = self.get_mask_info(inputs, data_samples, mask)
        latent, _ = self.backbone.forward_masked(inputs, info)
        pred = self.neck(latent, info.ids_restore)
        target = self.teacher_forward(inputs)
        cls_weight = 1.0 if self.cls_in_loss else 0.0
        loss_mask = torch.cat(
            [info.mask.new_full((info.mask.shape[0], 1), cls_weight),
             info.mask], dim=1)
        loss = self.head.loss(pred, target, loss_mask)
        return dict(loss=loss)
