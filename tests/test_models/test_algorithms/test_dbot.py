# Copyright (c) mkd_mm contributors. All rights reserved.
import copy

import pytest
import torch
import torch.nn.functional as F
from mmengine.runner.checkpoint import _load_checkpoint_with_prefix
from mmpretrain.models import VisionTransformer
from mmpretrain.registry import MODELS

from mkd_mm.models import build_mae_sincos_pos_embed, random_masking
from mkd_mm.testing import TINY_ARCH, tiny_dbot_cfg


def _build(**kwargs):
    torch.manual_seed(0)
    model = MODELS.build(tiny_dbot_cfg(**kwargs))
    model.init_weights()
    return model


def _hand_loss(model, x, info):
    """dBOT's loss written out from the paper and the official code,
    independently of the head."""
    latent, _ = model.backbone.forward_masked(x, info)
    pred = model.neck(latent, info.ids_restore)
    with torch.no_grad():
        t = model.teacher(x)
    C = t.shape[-1]
    mean = t.sum(-1, keepdim=True) / C
    var = ((t - mean)**2).sum(-1, keepdim=True) / (C - 1)  # unbiased
    t = (t - mean) / torch.sqrt(var + 1e-6)
    d = (pred - t).abs()
    elem = torch.where(d < 2.0, 0.5 * d * d / 2.0, d - 1.0)
    per_token = elem.mean(-1)  # (B, 1 + N)
    m = torch.cat([torch.ones(x.shape[0], 1), info.mask], 1)
    return (per_token * m).sum() / m.sum()


def test_loss_matches_hand_computation_and_cls_is_a_target():
    model = _build()
    x = torch.randn(2, 3, 32, 32)
    info = random_masking(2, 16, 0.75, x.device)
    loss = model.loss(x, mask=info)['loss']
    assert loss.item() == pytest.approx(_hand_loss(model, x, info).item(),
                                        rel=1e-5)
    # 12 masked patches + cls per sample
    model_nocls = _build(cls_in_loss=False)
    assert model_nocls.loss(x, mask=info)['loss'].item() != pytest.approx(
        loss.item())


def test_explicit_mask_is_reproducible_and_from_data_samples():
    from mmpretrain.structures import DataSample
    model = _build()
    x = torch.randn(2, 3, 32, 32)
    mask = torch.zeros(2, 16)
    mask[:, 4:] = 1
    a = model.loss(x, mask=mask)['loss']
    b = model.loss(x, mask=mask)['loss']
    assert torch.equal(a, b)
    samples = [DataSample().set_mask(mask[i]) for i in range(2)]
    c = model.loss(x, samples)['loss']
    assert torch.equal(a, c)


def test_gradients_reach_the_student_only():
    model = _build()
    model.train()
    x = torch.randn(2, 3, 32, 32)
    model.loss(x)['loss'].backward()
    for name, p in model.named_parameters():
        if name.startswith('teacher.'):
            assert not p.requires_grad and p.grad is None, name
        elif p.requires_grad:
            assert p.grad is not None and p.grad.abs().sum() > 0, name
    assert not model.teacher.training
    assert all(n.startswith('teacher.') or n == 'stage'
               for n in model._ddp_params_and_buffers_to_ignore)


def test_stage1_random_teacher_is_a_copy_of_the_student_init():
    model = _build()
    s = model.backbone.state_dict()
    for k, v in model.teacher.state_dict().items():
        assert torch.equal(v, s[k]), k


def test_breakpoint_bootstraps_teacher_and_reinitialises_student():
    model = _build()
    # pretend training moved the student away from its init
    with torch.no_grad():
        for p in list(model.backbone.parameters()) + list(
                model.neck.parameters()):
            p.add_(torch.randn_like(p) * 0.1)
    before = copy.deepcopy(model.backbone.state_dict())
    neck_before = copy.deepcopy(model.neck.state_dict())
    assert model.start_next_stage() == 1 and int(model.stage) == 1
    for k, v in model.teacher.state_dict().items():
        assert torch.equal(v, before[k]), k
    after = model.backbone.state_dict()
    changed = [k for k in before if not torch.equal(before[k], after[k])]
    assert 'layers.0.attn.qkv.weight' in changed and 'cls_token' in changed
    assert torch.count_nonzero(model.backbone.layers[0].attn.qkv.bias) == 0
    assert torch.count_nonzero(model.neck.decoder_pred.bias) == 0
    assert not torch.equal(neck_before['decoder_pred.weight'],
                           model.neck.decoder_pred.weight)
    # fixed sin-cos position embeddings are restored, not perturbed
    assert torch.equal(after['pos_embed'], build_mae_sincos_pos_embed(4, 32))


def test_teacher_depth_changes_per_stage_and_depth0():
    model = _build(teacher_depth=0)
    assert model.teacher.depth == 0
    x = torch.randn(2, 3, 32, 32)
    assert model.loss(x)['loss'].isfinite()
    model.start_next_stage()
    assert model.teacher.depth == 2  # official: then the student's depth
    assert model.loss(x)['loss'].isfinite()
    # a checkpoint of stage 2 loads into a freshly built (depth-0) model
    fresh = _build(teacher_depth=0)
    fresh.load_state_dict(model.state_dict(), strict=True)
    assert fresh.teacher.depth == 2 and int(fresh.stage) == 1
    for k, v in model.state_dict().items():
        assert torch.equal(v, fresh.state_dict()[k]), k


def test_momentum_update():
    model = _build()
    with torch.no_grad():
        for p in model.backbone.parameters():
            p.add_(1.0)
    t0 = model.teacher.layers[0].attn.qkv.weight.clone()
    s = model.backbone.layers[0].attn.qkv.weight
    model.momentum_update(0.9)
    assert torch.allclose(model.teacher.layers[0].attn.qkv.weight,
                          0.9 * t0 + 0.1 * s)


def test_student_loads_into_mmpretrain_vit_with_backbone_prefix(tmp_path):
    model = _build()
    path = tmp_path / 'ckpt.pth'
    torch.save({'state_dict': model.state_dict()}, path)
    # exactly what init_cfg=dict(type='Pretrained', prefix='backbone.') does
    vit = VisionTransformer(
        arch=TINY_ARCH,
        img_size=32,
        patch_size=8,
        init_cfg=dict(
            type='Pretrained', checkpoint=str(path), prefix='backbone.'))
    sd = _load_checkpoint_with_prefix('backbone.', str(path), 'cpu')
    res = vit.load_state_dict(sd, strict=True)
    assert res.missing_keys == [] and res.unexpected_keys == []
    fresh = VisionTransformer(arch=TINY_ARCH, img_size=32, patch_size=8)
    vit.init_weights()  # through mmengine's PretrainedInit
    x = torch.randn(1, 3, 32, 32)
    vit.eval()
    model.eval()
    assert torch.allclose(
        vit(x)[0], model.extract_feat(x)[0][:, 0], atol=1e-5)
    assert not torch.allclose(fresh(x)[0], vit(x)[0])


def test_build_time_errors_name_the_config_key():
    with pytest.raises(ValueError, match='predict_feature_dim'):
        cfg = tiny_dbot_cfg()
        cfg['neck']['predict_feature_dim'] = 48
        MODELS.build(cfg)
    with pytest.raises(ValueError, match='mask_ratio'):
        MODELS.build(tiny_dbot_cfg(mask_ratio=0.99))
    with pytest.raises(ValueError, match='teacher_precision'):
        MODELS.build(tiny_dbot_cfg(teacher_precision='int8'))
    with pytest.raises(ValueError, match='img_size'):
        cfg = tiny_dbot_cfg()
        cfg['teacher']['img_size'] = 48
        MODELS.build(cfg)


def test_bigger_teacher_at_other_resolution():
    cfg = tiny_dbot_cfg()
    big = dict(embed_dims=48, num_layers=2, num_heads=2,
               feedforward_channels=96)
    # a /6 teacher at 24 px gives 4x4 patches like the /8 student at 32 px
    cfg['teacher'].update(arch=big, patch_size=6, img_size=24)
    cfg['neck']['predict_feature_dim'] = 48
    cfg['init_teacher_from_student'] = False
    model = MODELS.build(cfg)
    model.init_weights()
    x = torch.randn(2, 3, 32, 32)
    out = model.teacher_forward(x)
    assert out.shape == (2, 17, 48)
    ref = model.teacher(F.interpolate(x, size=(24, 24), mode='bicubic'))
    assert torch.allclose(out, ref, atol=1e-6)
    assert model.loss(x)['loss'].isfinite()
    with pytest.raises(ValueError, match='width'):
        model.copy_student_to_teacher()


def test_bf16_teacher_targets_close_to_fp32():
    model = _build()
    x = torch.randn(4, 3, 32, 32)
    ref = model.teacher_forward(x)
    model.teacher_precision = 'bf16'
    out = model.teacher_forward(x)
    assert out.dtype == torch.float32
    rel = (out - ref).norm() / ref.norm()
    assert rel < 2e-2, rel  # bf16 has an 8-bit mantissa


def test_fp32_teacher_stays_fp32_inside_student_autocast():
    model = _build()
    x = torch.randn(2, 3, 32, 32)
    ref = model.teacher_forward(x)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        out = model.teacher_forward(x)
    assert torch.equal(out, ref)
