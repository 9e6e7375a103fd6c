# Copyright (c) mkd_mm contributors. All rights reserved.
"""The analytic MAC counts against torch's FlopCounterMode.

``FlopCounterMode`` counts 2 FLOPs per multiply-accumulate of the matrix
products (conv, linear, attention). CPU's fused attention kernel is not in its
registry, so attention is forced onto the decomposed (math) path.
"""
import pytest
import torch
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode

import mkd_mm  # noqa: F401
from mkd_mm.models import (MaskInfo, dmae_teacher_macs, mae_decoder_macs,
                           random_masking, vit_encoder_macs)
from mkd_mm.models.utils.vit_flops import (patch_embed_macs,
                                           pretrain_step_macs)
from mkd_mm.testing import tiny_dbot_cfg


def _measured_macs(fn, *args, **kwargs):
    with sdpa_kernel(SDPBackend.MATH), FlopCounterMode(
            display=False) as counter, torch.no_grad():
        fn(*args, **kwargs)
    return counter.get_total_flops() // 2


def test_partial_teacher_tiny_real_tensors():
    arch = dict(
        embed_dims=48, num_layers=6, num_heads=3, feedforward_channels=96)
    teacher = MODELS.build(
        dict(type='TeacherViT', arch=arch, depth=4, img_size=32, patch_size=8))
    x = torch.randn(2, 3, 32, 32)
    info = random_masking(2, 16, 0.75, x.device)
    measured = _measured_macs(
        teacher, x, ids_keep=info.ids_keep, return_layers=[3])
    assert measured == 2 * vit_encoder_macs(16, 5, 48, 4, 8, 96)


def test_dmae_training_step_runs_the_counted_teacher():
    """Count the teacher inside DMAE.loss (the real call path)."""
    arch_s = dict(
        embed_dims=32, num_layers=4, num_heads=2, feedforward_channels=64)
    arch_t = dict(
        embed_dims=48, num_layers=6, num_heads=3, feedforward_channels=96)
    model = MODELS.build(
        dict(
            type='DMAE',
            backbone=dict(
                type='MKDViT', arch=arch_s, img_size=32, patch_size=8),
            neck=dict(
                type='DBOTDecoder',
                num_patches=16,
                patch_size=8,
                embed_dim=32,
                decoder_embed_dim=16,
                decoder_depth=1,
                decoder_num_heads=2,
                keep_cls=False),
            head=dict(
                type='MAEPretrainHead',
                patch_size=8,
                loss=dict(type='PixelReconstructionLoss', criterion='L2')),
            teacher=dict(
                type='TeacherViT', arch=arch_t, img_size=32, patch_size=8),
            student_layers=[2],
            teacher_layers=[3]))
    model.init_weights()
    counter = FlopCounterMode(display=False)
    forward = model.teacher.forward

    def counted(*args, **kwargs):
        with counter:
            return forward(*args, **kwargs)

    model.teacher.forward = counted
    with sdpa_kernel(SDPBackend.MATH):
        model.loss(torch.randn(3, 3, 32, 32))
    # 4 of the 6 teacher blocks on 1 + 4 tokens, per image
    expected = 3 * vit_encoder_macs(16, 5, 48, 4, 8, 96)
    assert counter.get_total_flops() // 2 == expected


@pytest.mark.parametrize('mask_ratio', [0.75, 0.9, 0.95, 0.98])
def test_vit_large_teacher_cost_measured_on_meta_device(mask_ratio):
    """ViT-L/16 at 224 px, measured on shape-only (meta) tensors."""
    with torch.device('meta'):
        partial = MODELS.build(dict(type='TeacherViT', arch='l', depth=18))
        # the official teacher: MAE encoder (24 blocks + final norm) and the
        # 8-block 512-d pixel decoder, on the same visible patches
        encoder = MODELS.build(dict(type='MKDViT', arch='l'))
        decoder = MODELS.build(
            dict(
                type='DBOTDecoder',
                num_patches=196,
                patch_size=16,
                embed_dim=1024,
                decoder_embed_dim=512,
                decoder_depth=8,
                decoder_num_heads=16,
                keep_cls=False))
        full = MODELS.build(dict(type='TeacherViT', arch='l'))
    info = random_masking(1, 196, mask_ratio, torch.device('cpu'))
    info = MaskInfo(*(t.to('meta') for t in info))
    x = torch.empty(1, 3, 224, 224, device='meta')

    def official():
        latent, _ = encoder.forward_masked(x, info)
        decoder(latent, info.ids_restore)

    counted = dmae_teacher_macs(mask_ratio=mask_ratio)
    assert _measured_macs(
        partial, x, ids_keep=info.ids_keep,
        return_layers=[17]) == counted['partial']
    assert _measured_macs(official) == counted['official']
    assert _measured_macs(full, x) == counted['full_image']


def test_documented_vit_large_numbers():
    c = dmae_teacher_macs()
    assert c['partial'] / 1e9 == pytest.approx(11.571, abs=1e-3)
    assert c['official'] / 1e9 == pytest.approx(20.756, abs=1e-3)
    assert c['full_image'] / 1e9 == pytest.approx(61.554, abs=1e-3)
    assert c['saving_vs_official'] == pytest.approx(0.4425, abs=1e-4)
    # the 8-block decoder on 197 tokens is a quarter of the official cost
    dec = mae_decoder_macs(196, 49, 1024, 512, 8, 768)
    assert dec / c['official'] == pytest.approx(0.259, abs=1e-3)


def _tiny_model(config: str):
    from mmengine.config import Config

    from mkd_mm.testing import shrink_pretrain_model
    from mkd_mm.utils.benchmark import _drop_pretrained
    cfg = Config.fromfile(config).model.to_dict()
    _drop_pretrained(cfg)
    # 3 blocks so that DMAE's teacher (aligned at tiny block 1) stops early
    cfg = shrink_pretrain_model(cfg, num_layers=3)
    if cfg['type'] == 'DMAE':
        cfg.update(student_layers=[1], teacher_layers=[1])
    model = MODELS.build(cfg)
    model.init_weights()
    return model.train()


@pytest.mark.parametrize('config', [
    'configs/mae/vitb_100e.py', 'configs/dbot/vitb_stage2.py',
    'configs/dmae/vitb_from_vitl.py'
])
def test_pretrain_step_macs_match_counted_training_step(config, repo_root):
    """Forward + backward of the real loss, counted by FlopCounterMode."""
    torch.manual_seed(0)
    model = _tiny_model(str(repo_root / config))
    if hasattr(model, 'teacher_precision'):
        model.teacher_precision = 'fp32'
    counted = pretrain_step_macs(model)
    x = torch.randn(2, 3, 32, 32)
    with sdpa_kernel(SDPBackend.MATH), FlopCounterMode(
            display=False) as counter:
        losses = model.loss(x, [DataSample() for _ in range(2)])
        sum(v for k, v in losses.items() if 'loss' in k).backward()
    assert counter.get_total_flops() == 2 * 2 * counted['step']
    teacher_cls = type(getattr(model, 'teacher', None)).__name__
    if model.__class__.__name__ == 'MAE':
        assert counted['teacher'] == 0
    else:
        assert teacher_cls == 'TeacherViT' and counted['teacher'] > 0
    assert counted['step'] == (3 * counted['student_forward'] -
                               patch_embed_macs(16, 32, 8) +
                               counted['teacher'])


def test_dmae_teacher_macs_stop_at_the_aligned_block(repo_root):
    model = _tiny_model(str(repo_root / 'configs/dmae/vitb_from_vitl.py'))
    # tiny ViT-L teacher: 48 wide, 2 of its 3 blocks on 1 + 4 visible tokens
    assert model.teacher.depth == 2
    assert pretrain_step_macs(model)['teacher'] == vit_encoder_macs(
        16, 5, 48, 2, 8, 96)


def test_pretrain_step_macs_refuses_a_non_vit_teacher():
    model = MODELS.build(tiny_dbot_cfg())
    model.teacher = torch.nn.Linear(2, 2)
    with pytest.raises(ValueError, match='TeacherViT'):
        pretrain_step_macs(model)


def test_documented_vit_base_step_gmacs():
    """The per-image figures of docs/performance.md (ViT-B/16, 224 px)."""
    enc = vit_encoder_macs(196, 50, 768, 12, 16)
    dec = mae_decoder_macs(196, 49, 768, 512, 8, 768)
    mae = 3 * (enc + dec) - patch_embed_macs(196, 768, 16)
    dbot_teacher = vit_encoder_macs(196, 197, 768, 12, 16)
    dmae_teacher = dmae_teacher_macs()['partial']
    proj = 50 * (768 * 1024 + 1024 * 1024)
    assert enc / 1e9 == pytest.approx(4.408, abs=1e-3)
    assert dec / 1e9 == pytest.approx(5.373, abs=1e-3)
    assert mae / 1e9 == pytest.approx(29.228, abs=1e-3)
    assert dbot_teacher / 1e9 == pytest.approx(17.563, abs=1e-3)
    assert dmae_teacher / 1e9 == pytest.approx(11.571, abs=1e-3)
    assert (mae + 3 * proj) / 1e9 == pytest.approx(29.503, abs=1e-3)
