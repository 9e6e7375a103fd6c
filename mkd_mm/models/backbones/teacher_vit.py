# Copyright (c) mkd_mm contributors. All rights reserved.
import copy
from typing import Dict, List, Optional, Sequence, Union

import torch
import torch.nn.functional as F
from mmengine.logging import print_log
from mmpretrain.models import VisionTransformer
from mmpretrain.registry import MODELS

from ..utils.masking import gather_tokens
from ..utils.model_zoo_teacher import resolve_teacher_checkpoint
from ..utils.teacher_loading import load_teacher_weights
from ..utils.weight_init import init_mae_vit_


@MODELS.register_module()
class TeacherViT(VisionTransformer):
    """A frozen vanilla ViT that computes distillation targets.

    It is the teacher of both dBOT and DMAE:

    - **dBOT**: runs on the intact image, all of its ``depth`` blocks, and by
      default *without* its final LayerNorm (``final_norm=False``, the
      official ``--tlayernorm 0``). ``depth=0`` gives the patch embedding
      plus position embedding only (the "0th block" teacher of dBOT App.
      B.1, used to start the official ViT-L/H runs).
    - **DMAE**: sees only the visible patches (``ids_keep``, shared with the
      student) and is built only up to the deepest aligned block
      (``depth=18`` of a 24-block ViT-L): the later blocks, the final norm
      and the MAE decoder are never built nor run.

    ``arch`` gives the *checkpoint's* architecture (width, heads and number of
    blocks); ``depth`` how many of its blocks are built. A pre-trained
    teacher is loaded strictly by :func:`load_teacher_weights` from
    ``init_cfg=dict(type='Pretrained', checkpoint=...)``, converting
    official (timm-style), mmpretrain and mkd_mm checkpoints.

    Args:
        arch (str | dict): Architecture of the full ViT. Defaults to 'b'.
        depth (int, optional): Blocks to build and run, ``0 <= depth <=
            arch depth``. Defaults to None (all).
        img_size (int): Input size the teacher expects. If the images differ
            they are resized (bicubic) first, e.g. 196 px for a ViT-H/14
            teacher of a /16 student at 224 px. Defaults to 224.
        patch_size (int): Patch size. Defaults to 16.
        final_norm (bool): Apply the final LayerNorm to the output (the
            "target w/ [LN]" ablation). Defaults to False.
        init_cfg (dict, optional): ``dict(type='Pretrained',
            checkpoint=PATH)`` to load weights; ``PATH`` may also be
            ``'mmpretrain://<model-zoo name>'`` (see
            :func:`resolve_teacher_checkpoint`). Extra keys ``allow_unsafe``
            (trust a file that needs full unpickling), ``prefix`` (take
            keys under this prefix) and ``download`` (fetch a missing
            model-zoo file, default True). Defaults to None (random init with
            the MAE rules).
        zero_patch_bias (bool): Zero the patch projection bias of a random
            teacher. Defaults to False (official: PyTorch's default, see
            :func:`init_mae_vit_`).
        **kwargs: Other arguments of :class:`VisionTransformer`.
    """

    def __init__(self,
                 arch: Union[str, dict] = 'b',
                 depth: Optional[int] = None,
                 img_size: int = 224,
                 patch_size: int = 16,
                 final_norm: bool = False,
                 init_cfg: Optional[dict] = None,
                 zero_patch_bias: bool = False,
                 **kwargs) -> None:
        if isinstance(arch, str):
            arch_settings = copy.deepcopy(
                VisionTransformer.arch_zoo[arch.lower()])
        else:
            arch_settings = copy.deepcopy(dict(arch))
        self.arch_depth = arch_settings['num_layers']
        if depth is None:
            depth = self.arch_depth
        if not 0 <= depth <= self.arch_depth:
            raise ValueError(
                f'teacher `depth` must be in [0, {self.arch_depth}] for this '
                f'architecture, but got {depth}.')
        arch_settings['num_layers'] = depth
        kwargs.setdefault('norm_cfg', dict(type='LN', eps=1e-6))
        super().__init__(
            arch=arch_settings,
            img_size=img_size,
            patch_size=patch_size,
            out_indices=[depth - 1] if depth > 0 else [],
            final_norm=final_norm,
            out_type='raw',
            with_cls_token=True,
            init_cfg=init_cfg,
            **kwargs)
        self.pos_embed.requires_grad = False
        self.depth = depth
        self.zero_patch_bias = zero_patch_bias

    @property
    def num_patches(self) -> int:
        """Number of patches of the teacher's input grid."""
        return self.patch_resolution[0] * self.patch_resolution[1]

    def init_weights(self) -> None:
        """Random MAE initialisation or strict loading of a checkpoint."""
        cfg = self.init_cfg
        if isinstance(cfg, dict) and cfg.get('type') == 'Pretrained':
            checkpoint = resolve_teacher_checkpoint(
                cfg['checkpoint'], download=cfg.get('download', True))
            report = load_teacher_weights(
                self,
                checkpoint,
                prefix=cfg.get('prefix'),
                allow_unsafe=cfg.get('allow_unsafe', False))
            print_log(f'Teacher loaded: {report}', logger='current')
        else:
            self.reset_parameters()
        self._is_init = True

    def reset_parameters(self) -> None:
        """Initialise with the MAE rules (the random teacher)."""
        init_mae_vit_(self, zero_patch_bias=self.zero_patch_bias)

    def forward(self,
                x: torch.Tensor,
                ids_keep: Optional[torch.Tensor] = None,
                return_layers: Sequence[int] = ()
                ) -> Union[torch.Tensor, List[torch.Tensor]]:
        """Compute target tokens.

        Args:
            x (torch.Tensor): Images ``(B, 3, H, W)``.
            ids_keep (torch.Tensor, optional): ``(B, K)`` visible patches;
                if given, only these (plus the class token) are encoded.
            return_layers (Sequence[int]): If non-empty, return the raw
                outputs of these 0-based blocks (before any norm) instead of
                the final tokens; the forward stops after the deepest one.

        Returns:
            torch.Tensor | List[torch.Tensor]: ``(B, 1 + L, C)`` final tokens
            (after the final norm if ``final_norm``), or the requested block
            outputs.
        """
        if x.shape[-2:] != self.img_size:
            x = F.interpolate(
                x, size=self.img_size, mode='bicubic', align_corners=False)
        B = x.shape[0]
        x = self.patch_embed(x)[0] + self.pos_embed[:, 1:, :]
        if ids_keep is not None:
            x = gather_tokens(x, ids_keep)
        cls_token = (self.cls_token + self.pos_embed[:, :1, :]).expand(
            B, -1, -1)
        x = torch.cat((cls_token, x), dim=1)
        if return_layers:
            stop = max(return_layers)
            if stop >= self.depth:
                raise ValueError(f'Teacher block {stop} requested but the '
                                 f'teacher has only {self.depth} blocks.')
            feats: Dict[int, torch.Tensor] = {}
            for i in range(stop + 1):
                x = self.layers[i](x)
                if i in return_layers:
                    feats[i] = x
            return [feats[i] for i in return_layers]
        for layer in self.layers:
            x = layer(x)
        if self.final_norm:
            x = self.ln1(x)
        return x
