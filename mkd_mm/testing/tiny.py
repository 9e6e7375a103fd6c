# Copyright (c) mkd_mm contributors. All rights reserved.
import copy
from typing import Optional, Sequence

import torch
from mmengine.dataset import BaseDataset
from mmpretrain.registry import DATASETS
from mmpretrain.structures import DataSample

#: a 2-block, 32-d ViT: small enough for exact CPU tests in milliseconds
TINY_ARCH = dict(
    embed_dims=32, num_layers=2, num_heads=2, feedforward_channels=64)


def tiny_dbot_cfg(img_size: int = 32,
                  patch_size: int = 8,
                  teacher_depth: int = 2,
                  mask_ratio: float = 0.75,
                  **kwargs) -> dict:
    """Config of a tiny :class:`DBOT` (16 patches at 32 px).

    Args:
        img_size (int): Image size. Defaults to 32.
        patch_size (int): Patch size. Defaults to 8.
        teacher_depth (int): Stage-1 teacher depth. Defaults to 2.
        mask_ratio (float): Mask ratio. Defaults to 0.75.
        **kwargs: Overrides of the top-level model keys.

    Returns:
        dict: The model config.
    """
    num_patches = (img_size // patch_size)**2
    cfg = dict(
        type='DBOT',
        backbone=dict(
            type='MKDViT',
            arch=copy.deepcopy(TINY_ARCH),
            img_size=img_size,
            patch_size=patch_size,
            mask_ratio=mask_ratio),
        neck=dict(
            type='DBOTDecoder',
            num_patches=num_patches,
            patch_size=patch_size,
            embed_dim=32,
            decoder_embed_dim=16,
            decoder_depth=1,
            decoder_num_heads=2,
            predict_feature_dim=32),
        head=dict(
            type='MIMHead',
            loss=dict(type='StandardizedSmoothL1Loss', beta=2.0)),
        teacher=dict(
            type='TeacherViT',
            arch=copy.deepcopy(TINY_ARCH),
            depth=teacher_depth,
            img_size=img_size,
            patch_size=patch_size),
        teacher_precision='fp32',
        data_preprocessor=dict(
            type='SelfSupDataPreprocessor',
            mean=[127.5, 127.5, 127.5],
            std=[127.5, 127.5, 127.5]))
    cfg.update(kwargs)
    return cfg


#: a 3-block, 48-d ViT: the tiny DMAE teacher (wider than the student)
TINY_TEACHER_ARCH = dict(
    embed_dims=48, num_layers=3, num_heads=3, feedforward_channels=96)


def tiny_dmae_cfg(img_size: int = 32,
                  patch_size: int = 8,
                  student_arch: Optional[dict] = None,
                  teacher_arch: Optional[dict] = None,
                  student_layers: Sequence[int] = (1, ),
                  teacher_layers: Sequence[int] = (1, ),
                  **kwargs) -> dict:
    """Config of a tiny :class:`DMAE` (16 patches at 32 px).

    Args:
        img_size (int): Image size. Defaults to 32.
        patch_size (int): Patch size. Defaults to 8.
        student_arch (dict, optional): Student arch; :data:`TINY_ARCH` if
            None.
        teacher_arch (dict, optional): Teacher arch;
            :data:`TINY_TEACHER_ARCH` if None.
        student_layers (Sequence[int]): Aligned student blocks.
            Defaults to (1, ).
        teacher_layers (Sequence[int]): Aligned teacher blocks.
            Defaults to (1, ).
        **kwargs: Overrides of the top-level model keys.

    Returns:
        dict: The model config.
    """
    student_arch = copy.deepcopy(student_arch or TINY_ARCH)
    cfg = dict(
        type='DMAE',
        backbone=dict(
            type='MKDViT',
            arch=student_arch,
            img_size=img_size,
            patch_size=patch_size,
            mask_ratio=0.75),
        neck=dict(
            type='DBOTDecoder',
            num_patches=(img_size // patch_size)**2,
            patch_size=patch_size,
            embed_dim=student_arch['embed_dims'],
            decoder_embed_dim=16,
            decoder_depth=1,
            decoder_num_heads=2,
            keep_cls=False),
        head=dict(
            type='MAEPretrainHead',
            norm_pix=False,
            patch_size=patch_size,
            loss=dict(type='PixelReconstructionLoss', criterion='L2')),
        teacher=dict(
            type='TeacherViT',
            arch=copy.deepcopy(teacher_arch or TINY_TEACHER_ARCH),
            img_size=img_size,
            patch_size=patch_size),
        projector=dict(type='FeatureProjector', mode='mlp'),
        student_layers=list(student_layers),
        teacher_layers=list(teacher_layers),
        data_preprocessor=dict(
            type='SelfSupDataPreprocessor',
            mean=[127.5, 127.5, 127.5],
            std=[127.5, 127.5, 127.5]))
    cfg.update(kwargs)
    return cfg


@DATASETS.register_module()
class TinyImageDataset(BaseDataset):
    """Deterministic random uint8 images, for runner tests without files.

    Args:
        num_samples (int): Dataset length. Defaults to 8.
        img_size (int): Square image size. Defaults to 32.
        seed (int): Seed of the images. Defaults to 0.
        pipeline (list): Unused; images are already tensors.
    """

    def __init__(self,
                 num_samples: int = 8,
                 img_size: int = 32,
                 seed: int = 0,
                 pipeline: Optional[list] = None,
                 **kwargs) -> None:
        self.num_samples = num_samples
        self.img_size = img_size
        self.seed = seed
        super().__init__(
            pipeline=[], lazy_init=False, serialize_data=False, **kwargs)

    def load_data_list(self) -> list:
        """Generate the images."""
        g = torch.Generator().manual_seed(self.seed)
        imgs = torch.randint(
            0,
            256, (self.num_samples, 3, self.img_size, self.img_size),
            generator=g,
            dtype=torch.uint8)
        return [dict(img=img) for img in imgs]

    def prepare_data(self, idx: int) -> dict:
        """Return ``inputs`` and an empty data sample."""
        return dict(
            inputs=self.data_list[idx]['img'].clone(),
            data_samples=DataSample())


def tiny_pretrain_runner_cfg(work_dir: str,
                             max_epochs: int = 4,
                             stage_ends: Optional[list] = None,
                             num_samples: int = 8,
                             batch_size: int = 4,
                             model: Optional[dict] = None,
                             warmup: float = 1,
                             **kwargs) -> dict:
    """A complete runner config for a tiny multi-stage dBOT run on CPU.

    Args:
        work_dir (str): Work directory.
        max_epochs (int): Epochs. Defaults to 4.
        stage_ends (list, optional): Stage ends in epochs. Defaults to
            ``[max_epochs // 2, max_epochs]``.
        num_samples (int): Dataset length. Defaults to 8.
        batch_size (int): Batch size. Defaults to 4.
        model (dict, optional): Model config. Defaults to
            :func:`tiny_dbot_cfg`.
        warmup (float): Warm-up epochs per stage. Defaults to 1.
        **kwargs: Extra runner config keys.

    Returns:
        dict: Keyword arguments of ``mmengine.runner.Runner``.
    """
    if stage_ends is None:
        stage_ends = [max_epochs // 2, max_epochs]
    cfg = dict(
        model=model or tiny_dbot_cfg(),
        work_dir=work_dir,
        train_dataloader=dict(
            dataset=dict(type='TinyImageDataset', num_samples=num_samples),
            sampler=dict(type='DefaultSampler', shuffle=True, seed=0),
            collate_fn=dict(type='default_collate'),
            batch_size=batch_size,
            num_workers=0),
        optim_wrapper=dict(
            type='OptimWrapper',
            optimizer=dict(
                type='AdamW', lr=1e-3, betas=(0.9, 0.95), weight_decay=0.05),
            paramwise_cfg=dict(norm_decay_mult=0.0, bias_decay_mult=0.0)),
        param_scheduler=[
            dict(
                type='StagedWarmupCosineLR',
                stage_ends=stage_ends,
                warmup=warmup,
                by_epoch=True,
                convert_to_iter_based=True)
        ],
        train_cfg=dict(type='EpochBasedTrainLoop', max_epochs=max_epochs),
        default_hooks=dict(
            logger=dict(type='LoggerHook', interval=1),
            checkpoint=dict(type='CheckpointHook', interval=1)),
        custom_hooks=[
            dict(type='BootstrapTeacherHook', stage_ends=stage_ends),
            dict(type='RNGStateHook')
        ],
        randomness=dict(seed=0, deterministic=False),
        default_scope='mmpretrain',
        log_level='WARNING')
    cfg.update(kwargs)
    return cfg
