# Copyright (c) mkd_mm contributors. All rights reserved.
from mmpretrain.models.backbones import VisionTransformer
from mmpretrain.registry import MODELS

from ..common.vit_weight_loader import load_vit_weights


@MODELS.register_module()
class TransferVisionTransformer(VisionTransformer):
    """mmpretrain ``VisionTransformer`` loading pre-trained weights strictly.

    Identical to mmpretrain's ``VisionTransformer`` (same arguments, same
    parameter names, same ``get_layer_depth`` for
    ``LearningRateDecayOptimWrapperConstructor``), except for
    ``init_weights`` with ``init_cfg=dict(type='Pretrained', ...)``:
    mmengine's ``PretrainedInit`` loads non-strictly and only logs a warning,
    so a wrong file trains from random weights unnoticed. Here the file goes
    through :func:`~mkd_mm.downstream.common.load_vit_weights`, which accepts
    mkd_mm / mmpretrain checkpoints (``backbone.*``; teacher, decoder and
    projection heads dropped and reported), backbone-only files and official
    dBOT / DMAE / MAE releases (timm names), resizes ``pos_embed``
    bicubically and raises on anything unexpected.

    What may legitimately differ from a pre-training checkpoint:

    - the final norm ``ln1`` is unused when ``final_norm=False`` (global
      average pooling recipe: the pre-trained ``norm`` is deleted,
      ``dbot:models_vit.py``);
    - ``ln2`` (the fc_norm of ``out_type='avg_featmap'``) is new;
    - layer-scale gammas are new when ``layer_scale_init_value > 0``.

    ``init_cfg`` accepts ``allow_unsafe=True`` to read a trusted foreign file
    that holds non-tensor objects outside the safe-load allow-list.
    """

    def init_weights(self) -> None:
        """Initialise, then load the pre-trained encoder strictly."""
        cfg = self.init_cfg
        if not (isinstance(cfg, dict) and cfg.get('type') == 'Pretrained'):
            super().init_weights()
            return
        checkpoint = cfg.get('checkpoint')
        if not checkpoint:
            raise ValueError(
                'TransferVisionTransformer: init_cfg is Pretrained but no '
                'checkpoint is set; pass --cfg-options '
                'model.backbone.init_cfg.checkpoint=PATH.')
        allowed_missing = [r'\.gamma1\.weight$', r'\.gamma2\.weight$']
        if self.out_type == 'avg_featmap':
            allowed_missing.append(r'^ln2\.(weight|bias)$')
        unused = [] if self.final_norm else [r'^ln1\.(weight|bias)$']
        self.load_report = load_vit_weights(
            self,
            checkpoint,
            prefix=cfg.get('prefix', 'backbone.'),
            allowed_missing=allowed_missing,
            unused_keys=unused,
            patch_resolution=tuple(self.patch_resolution),
            num_extra_tokens=self.num_extra_tokens,
            allow_unsafe=cfg.get('allow_unsafe', False))
        self._is_init = True
