# Copyright (c) mkd_mm contributors. All rights reserved.
import copy

import pytest
import torch
import torch.nn.functional as F
from mmengine.optim import build_optim_wrapper
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

import mkd_mm  # noqa: F401
from mkd_mm.models import MaskInfo, gather_tokens, random_masking
from mkd_mm.testing import tiny_dmae_cfg

IMG, PATCH = 32, 8  # 16 patches
N = (IMG // PATCH)**2
S_ARCH = dict(
    embed_dims=32, num_layers=4, num_heads=2, feedforward_channels=64)
T_ARCH = dict(
    embed_dims=48, num_layers=6, num_heads=3, feedforward_channels=96)


def dmae_cfg(**kwargs):
    """A tiny DMAE: 4-block 32-d student, 6-block 48-d teacher."""
    cfg = tiny_dmae_cfg(
        img_size=IMG,
        patch_size=PATCH,
        student_arch=S_ARCH,
        teacher_arch=T_ARCH,
        student_layers=[2],
        teacher_layers=[3])
    for key, value in kwargs.items():
        if isinstance(value, dict) and isinstance(cfg.get(key), dict):
            cfg[key].update(value)
        else:
            cfg[key] = value
    return cfg


def build(**kwargs):
    torch.manual_seed(0)
    model = MODELS.build(dmae_cfg(**kwargs))
    model.init_weights()
    return model


# --------------------------------------------------------------- loss
def _patchify(imgs, p):
    B, C, H, W = imgs.shape
    x = imgs.reshape(B, C, H // p, p, W // p, p)
    x = x.permute(0, 2, 4, 3, 5, 1)  # (B, h, w, p, q, c)
    return x.reshape(B, (H // p) * (W // p), p * p * C)


def _hand_losses(model, x, info, norm_pix=False):
    """DMAE's loss written out from the paper and the official code,
    independently of the head."""
    latent, _ = model.backbone.forward_masked(x, info)
    # one student block per pair, in pair order (blocks may repeat)
    feats = [
        model.backbone.forward_masked(x, info, return_layers=[i])[1][0]
        for i in model.student_layers
    ]
    pred = model.neck(latent, info.ids_restore)
    target = _patchify(x, PATCH)
    if norm_pix:
        mean = target.mean(-1, keepdim=True)
        var = target.var(-1, keepdim=True)
        target = (target - mean) / (var + 1e-6)**.5
    per_patch = ((pred - target)**2).mean(-1)
    rec = (per_patch * info.mask).sum() / info.mask.sum()
    with torch.no_grad():
        t_feats = model.teacher(
            x, ids_keep=info.ids_keep, return_layers=model.teacher_layers)
    align = 0
    for proj, s, t in zip(model.projectors, feats, t_feats):
        s = proj(s)
        s = s / s.norm(dim=-1, keepdim=True).clamp_min(1e-12)
        t = t / t.norm(dim=-1, keepdim=True).clamp_min(1e-12)
        align = align + (s - t).abs().mean()
    return rec, align


@pytest.mark.parametrize('norm_pix', [False, True])
def test_loss_matches_hand_computation(norm_pix):
    model = build(
        head=dict(norm_pix=norm_pix),
        alpha=2.0,
        student_layers=[1, 3],
        teacher_layers=[5, 2])
    x = torch.randn(2, 3, IMG, IMG)
    info = random_masking(2, N, 0.75, x.device)
    losses = model.loss(x, mask=info)
    rec, align = _hand_losses(model, x, info, norm_pix)
    assert losses['loss_rec'].item() == pytest.approx(rec.item(), rel=1e-5)
    assert losses['loss_align'].item() == pytest.approx(
        2.0 * align.item(), rel=1e-5)
    # per-pair terms are logged but not named `loss_*` (not summed twice)
    assert set(losses) == {
        'loss_rec', 'loss_align', 'align_s1_t5', 'align_s3_t2'
    }
    assert (losses['align_s1_t5'] + losses['align_s3_t2']).item() == \
        pytest.approx(align.item(), rel=1e-5)


def test_same_student_layer_aligned_twice_and_single_pair_keys():
    model = build(student_layers=[2, 2], teacher_layers=[1, 4])
    x = torch.randn(2, 3, IMG, IMG)
    info = random_masking(2, N, 0.75, x.device)
    losses = model.loss(x, mask=info)
    rec, align = _hand_losses(model, x, info)
    assert losses['loss_align'].item() == pytest.approx(align.item(), rel=1e-5)
    assert set(build().loss(x, mask=info)) == {'loss_rec', 'loss_align'}


def test_train_step_sums_both_losses():
    model = build()
    data = dict(
        inputs=torch.randint(0, 256, (2, 3, IMG, IMG), dtype=torch.uint8),
        data_samples=[DataSample(), DataSample()])
    optim = build_optim_wrapper(model,
                                dict(optimizer=dict(type='SGD', lr=0.0)))
    log = model.train_step(data, optim)
    assert log['loss'].item() == pytest.approx(
        (log['loss_rec'] + log['loss_align']).item(), rel=1e-6)


# ------------------------------------------------------------ teacher
def test_teacher_is_built_and_run_only_up_to_the_aligned_block():
    model = build(teacher_layers=[3])
    assert model.teacher.depth == 4 and len(model.teacher.layers) == 4
    assert model.teacher.arch_depth == 6
    calls = []
    for i, layer in enumerate(model.teacher.layers):
        layer.register_forward_hook(lambda m, a, o, i=i: calls.append(i))
    model.loss(torch.randn(2, 3, IMG, IMG))
    assert calls == [0, 1, 2, 3]
    # the deepest of several aligned blocks decides
    model = build(student_layers=[0, 1], teacher_layers=[1, 2])
    assert len(model.teacher.layers) == 3


def test_partial_teacher_equals_full_teacher_block_output():
    model = build(teacher_layers=[3])
    torch.manual_seed(1)
    full = MODELS.build(
        dict(
            type='TeacherViT',
            arch=copy.deepcopy(T_ARCH),
            img_size=IMG,
            patch_size=PATCH))
    full.init_weights()
    full.eval()
    own = model.teacher.state_dict()
    model.teacher.load_state_dict(
        {
            k: v
            for k, v in full.state_dict().items() if k in own
        }, strict=True)
    grabbed = {}
    full.layers[3].register_forward_hook(
        lambda m, a, o: grabbed.__setitem__('out', o))
    x = torch.randn(2, 3, IMG, IMG)
    info = random_masking(2, N, 0.75, x.device)
    with torch.no_grad():
        full(x, ids_keep=info.ids_keep)  # runs all 6 blocks
    (partial, ) = model.teacher_forward(
        x, ids_keep=info.ids_keep, return_layers=[3])
    assert partial.shape == (2, 1 + 4, 48)
    assert torch.allclose(partial, grabbed['out'], atol=1e-6)


def test_student_and_teacher_see_the_same_visible_patches():
    model = build()
    seen = {}
    model.backbone.layers[0].register_forward_pre_hook(
        lambda m, a: seen.__setitem__('student', a[0].detach()))
    model.teacher.layers[0].register_forward_pre_hook(
        lambda m, a: seen.__setitem__('teacher', a[0].detach()))
    drawn = []
    get_mask_info = model.get_mask_info

    def spy(*args, **kwargs):
        drawn.append(get_mask_info(*args, **kwargs))
        return drawn[-1]

    model.get_mask_info = spy
    x = torch.randn(3, 3, IMG, IMG)
    model.loss(x)  # random mask drawn inside
    (info, ) = drawn

    def expected(vit, info):
        with torch.no_grad():
            tokens = vit.patch_embed(x)[0] + vit.pos_embed[:, 1:]
            cls = (vit.cls_token + vit.pos_embed[:, :1]).expand(3, -1, -1)
            return torch.cat([cls, gather_tokens(tokens, info.ids_keep)], 1)

    assert seen['student'].shape[1] == seen['teacher'].shape[1] == 1 + 4
    assert torch.allclose(seen['student'], expected(model.backbone, info))
    assert torch.allclose(seen['teacher'], expected(model.teacher, info))
    # an explicit mask from the data samples reaches both as well
    mask = torch.ones(3, N)
    mask[:, [0, 5, 10, 15]] = 0
    samples = [DataSample().set_mask(m) for m in mask]
    model.loss(x, samples)
    assert torch.equal(drawn[-1].mask, mask)
    assert torch.equal(drawn[-1].ids_keep, torch.tensor([[0, 5, 10, 15]] * 3))
    for who, vit in (('student', model.backbone), ('teacher', model.teacher)):
        assert torch.allclose(seen[who], expected(vit, drawn[-1]))


def test_teacher_frozen_no_grad_eval_and_unchanged_by_training():
    model = build()
    model.train()
    assert not model.teacher.training and model.backbone.training
    assert all(not p.requires_grad for p in model.teacher.parameters())
    # never wrapped/synchronised by DDP: every teacher tensor is ignored
    ignored = set(model._ddp_params_and_buffers_to_ignore)
    assert {f'teacher.{n}'
            for n, _ in model.teacher.named_parameters()} <= ignored
    assert all(n.startswith('teacher.') for n in ignored)
    before = copy.deepcopy(model.teacher.state_dict())
    student_before = copy.deepcopy(model.backbone.state_dict())
    proj_before = copy.deepcopy(model.projectors.state_dict())
    optim = build_optim_wrapper(
        model,
        dict(
            optimizer=dict(type='AdamW', lr=1e-2, weight_decay=0.05),
            paramwise_cfg=dict(norm_decay_mult=0.0, bias_decay_mult=0.0)))
    in_optim = {
        id(p)
        for g in optim.optimizer.param_groups
        for p in g['params']
    }
    assert not any(id(p) in in_optim for p in model.teacher.parameters())
    data = dict(
        inputs=torch.randint(0, 256, (2, 3, IMG, IMG), dtype=torch.uint8),
        data_samples=[DataSample(), DataSample()])
    for _ in range(3):
        model.train_step(data, optim)
        assert all(p.grad is None for p in model.teacher.parameters())
    after = model.teacher.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert not model.teacher.training
    # while the student and the projector did learn
    assert any(not torch.equal(v,
                               model.backbone.state_dict()[k])
               for k, v in student_before.items())
    assert any(not torch.equal(v,
                               model.projectors.state_dict()[k])
               for k, v in proj_before.items())


def test_teacher_precision_bf16_returns_fp32_close_to_fp32():
    model = build()
    x = torch.randn(2, 3, IMG, IMG)
    info = random_masking(2, N, 0.75, x.device)
    ref = model.teacher_forward(
        x, ids_keep=info.ids_keep, return_layers=[3])[0]
    model.teacher_precision = 'bf16'
    out = model.teacher_forward(
        x, ids_keep=info.ids_keep, return_layers=[3])[0]
    assert out.dtype == torch.float32
    assert torch.allclose(out, ref, atol=0.1 * ref.abs().max().item())


def test_projector_list_and_init_modes():
    model = build(
        student_layers=[1, 3],
        teacher_layers=[2, 5],
        projector=[
            dict(type='FeatureProjector', mode='linear', init='default'),
            dict(type='FeatureProjector', mode='mlp3')
        ])
    a, b = model.projectors
    assert a.mode == 'linear' and a.layers[0].weight.shape == (48, 32)
    assert torch.count_nonzero(a.layers[0].bias) > 0  # PyTorch default
    assert b.mode == 'mlp3' and torch.count_nonzero(b.layers[0].bias) == 0


def test_extract_feat_is_the_student_on_the_full_image():
    model = build()
    out = model.extract_feat(torch.randn(2, 3, IMG, IMG))
    assert out[0].shape == (2, 1 + N, 32)


# ----------------------------------------------------- bad configurations
@pytest.mark.parametrize('kwargs,match', [
    (dict(student_layers=[4]), r'model\.student_layers.*\[0, 3\].*4-block'),
    (dict(student_layers=[-1]), r'model\.student_layers.*\[0, 3\]'),
    (dict(teacher_layers=[6]), r'model\.teacher_layers.*\[0, 5\].*6-block'),
    (dict(student_layers=[1, 2]), r'same length'),
    (dict(student_layers=[], teacher_layers=[]), r'at least one'),
    (dict(projector=dict(type='FeatureProjector', out_channels=64)),
     r'model\.projector\.out_channels.*64.*teacher width is 48'),
    (dict(projector=dict(type='FeatureProjector', in_channels=48)),
     r'model\.projector\.in_channels.*student width is 32'),
    (dict(teacher=dict(depth=6)), r'model\.teacher\.depth.*4'),
    (dict(backbone=dict(mask_ratio=0.95)),
     r'mask_ratio.*0\.95.*no visible patch.*16'),
    (dict(backbone=dict(mask_ratio=1.0)), r'mask_ratio.*\[0, 1\)'),
    (dict(teacher=dict(arch='nope')), r'model\.teacher\.arch'),
    (dict(teacher=dict(img_size=64)), r'grids must match'),
    (dict(alpha=-1.0), r'model\.alpha'),
])
def test_build_errors_name_the_key_and_range(kwargs, match):
    with pytest.raises(ValueError, match=match):
        MODELS.build(dmae_cfg(**kwargs))


# ------------------------------------------------- teacher checkpoints
def official_mae_state_dict(arch=T_ARCH,
                            depth=None,
                            img=IMG,
                            patch=PATCH,
                            decoder=False,
                            seed=0):
    """A random state dict with the official MAE (timm) key names."""
    g = torch.Generator().manual_seed(seed)

    def r(*shape, scale=0.2, shift=0.0):
        return torch.randn(*shape, generator=g) * scale + shift

    D, Fh = arch['embed_dims'], arch['feedforward_channels']
    n = (img // patch)**2
    sd = {
        'cls_token': r(1, 1, D),
        'pos_embed': r(1, n + 1, D),
        'patch_embed.proj.weight': r(D, 3, patch, patch, scale=0.05),
        'patch_embed.proj.bias': r(D),
        'norm.weight': r(D, shift=1.0),
        'norm.bias': r(D),
    }
    for i in range(arch['num_layers'] if depth is None else depth):
        p = f'blocks.{i}.'
        sd.update({
            p + 'norm1.weight': r(D, shift=1.0),
            p + 'norm1.bias': r(D),
            p + 'attn.qkv.weight': r(3 * D, D),
            p + 'attn.qkv.bias': r(3 * D),
            p + 'attn.proj.weight': r(D, D),
            p + 'attn.proj.bias': r(D),
            p + 'norm2.weight': r(D, shift=1.0),
            p + 'norm2.bias': r(D),
            p + 'mlp.fc1.weight': r(Fh, D),
            p + 'mlp.fc1.bias': r(Fh),
            p + 'mlp.fc2.weight': r(D, Fh),
            p + 'mlp.fc2.bias': r(D),
        })
    if decoder:  # the `_full` / `mae_visualize_*` files
        Dd = 16
        sd.update({
            'mask_token': r(1, 1, Dd),
            'decoder_embed.weight': r(Dd, D),
            'decoder_embed.bias': r(Dd),
            'decoder_pos_embed': r(1, n + 1, Dd),
            'decoder_norm.weight': r(Dd, shift=1.0),
            'decoder_norm.bias': r(Dd),
            'decoder_pred.weight': r(patch * patch * 3, Dd),
            'decoder_pred.bias': r(patch * patch * 3),
        })
        for k in [k for k in list(sd) if k.startswith('blocks.0.')]:
            shape = [
                Dd if s == D else (4 * Dd if s == Fh else s)
                for s in sd[k].shape
            ]
            sd['decoder_' + k] = r(*shape)
    return sd


def official_forward(sd, x, ids_keep, num_heads, upto, patch=PATCH):
    """The timm/MAE ViT written out with the official key names."""
    x = F.conv2d(
        x,
        sd['patch_embed.proj.weight'],
        sd['patch_embed.proj.bias'],
        stride=patch).flatten(2).transpose(1, 2)
    x = gather_tokens(x + sd['pos_embed'][:, 1:], ids_keep)
    cls = (sd['cls_token'] + sd['pos_embed'][:, :1]).expand(x.shape[0], -1, -1)
    x = torch.cat([cls, x], 1)
    B, T, D = x.shape
    outs = []
    for i in range(upto + 1):
        p = f'blocks.{i}.'
        h = F.layer_norm(x, (D, ), sd[p + 'norm1.weight'],
                         sd[p + 'norm1.bias'], 1e-6)
        qkv = F.linear(h, sd[p + 'attn.qkv.weight'], sd[p + 'attn.qkv.bias'])
        q, k, v = qkv.reshape(B, T, 3, num_heads,
                              D // num_heads).permute(2, 0, 3, 1, 4)
        attn = ((q @ k.transpose(-2, -1)) * (D // num_heads)**-0.5).softmax(-1)
        h = (attn @ v).transpose(1, 2).reshape(B, T, D)
        x = x + F.linear(h, sd[p + 'attn.proj.weight'],
                         sd[p + 'attn.proj.bias'])
        h = F.layer_norm(x, (D, ), sd[p + 'norm2.weight'],
                         sd[p + 'norm2.bias'], 1e-6)
        h = F.linear(
            F.gelu(
                F.linear(h, sd[p + 'mlp.fc1.weight'], sd[p + 'mlp.fc1.bias'])),
            sd[p + 'mlp.fc2.weight'], sd[p + 'mlp.fc2.bias'])
        x = x + h
        outs.append(x)
    return outs


@pytest.mark.parametrize('decoder', [False, True])
def test_official_mae_checkpoint_loads_and_matches_official_forward(
        tmp_path, decoder):
    sd = official_mae_state_dict(decoder=decoder)
    path = str(tmp_path / 'mae_visualize_vit_tiny.pth')
    torch.save({'model': sd}, path)
    model = build(
        teacher_layers=[1, 3],
        student_layers=[1, 2],
        teacher=dict(init_cfg=dict(type='Pretrained', checkpoint=path)))
    x = torch.randn(2, 3, IMG, IMG)
    info = random_masking(2, N, 0.75, x.device)
    ours = model.teacher_forward(
        x, ids_keep=info.ids_keep, return_layers=[1, 3])
    with torch.no_grad():
        ref = official_forward(sd, x, info.ids_keep, 3, upto=3)
    assert torch.allclose(ours[0], ref[1], atol=1e-5)
    assert torch.allclose(ours[1], ref[3], atol=1e-5)


def test_checkpoint_with_a_missing_block_is_rejected(tmp_path):
    sd = official_mae_state_dict()
    for k in [k for k in sd if k.startswith('blocks.2.attn.')]:
        del sd[k]
    path = str(tmp_path / 'broken.pth')
    torch.save({'model': sd}, path)
    model = MODELS.build(
        dmae_cfg(
            teacher=dict(init_cfg=dict(type='Pretrained', checkpoint=path))))
    with pytest.raises(KeyError) as e:
        model.init_weights()
    msg = str(e.value)
    assert 'missing keys' in msg
    assert 'layers.2.attn.qkv.weight' in msg
    assert 'layers.2.attn.proj.bias' in msg


@pytest.mark.parametrize('arch,match', [
    (dict(T_ARCH, embed_dims=24, num_heads=2), 'wrong shape'),
    (dict(T_ARCH, num_layers=4), 'holds a ViT with 4 blocks'),
])
def test_checkpoint_of_the_wrong_size_is_refused(tmp_path, arch, match):
    path = str(tmp_path / 'other_size.pth')
    torch.save({'model': official_mae_state_dict(arch=arch)}, path)
    model = MODELS.build(
        dmae_cfg(
            teacher=dict(init_cfg=dict(type='Pretrained', checkpoint=path))))
    with pytest.raises(ValueError, match=match) as e:
        model.init_weights()
    notes = getattr(e.value, '__notes__', [])
    assert not notes or 'model.teacher.init_cfg.checkpoint' in notes[0]


def test_teacher_from_mmpretrain_model_zoo_name(tmp_path, monkeypatch):
    """``mmpretrain://<name>`` resolves to the torch-hub cache file."""
    from mkd_mm.models.utils import model_zoo_teacher as zoo
    monkeypatch.setenv('TORCH_HOME', str(tmp_path))
    name = 'mae_vit-large-p16_8xb512-amp-coslr-1600e_in1k'
    url = zoo.model_zoo_weights_url(name)
    cached = zoo.model_zoo_cache_path(url)
    assert cached.startswith(str(tmp_path))
    # mmpretrain-format content (a tiny stand-in under the real file name)
    sd = official_mae_state_dict()
    from mkd_mm.models.utils import timm_to_mmpretrain_key
    mm = {'backbone.' + timm_to_mmpretrain_key(k): v for k, v in sd.items()}
    cfg = dmae_cfg(
        teacher=dict(
            init_cfg=dict(
                type='Pretrained',
                checkpoint='mmpretrain://' + name,
                download=False)))
    with pytest.raises(FileNotFoundError) as e:
        MODELS.build(cfg).init_weights()
    assert url in str(e.value) and cached in str(e.value)
    import os
    os.makedirs(os.path.dirname(cached))
    torch.save({'state_dict': mm, 'meta': dict(epoch=1600)}, cached)
    model = MODELS.build(cfg)
    model.init_weights()
    x = torch.randn(1, 3, IMG, IMG)
    info = random_masking(1, N, 0.75, x.device)
    (out, ) = model.teacher_forward(
        x, ids_keep=info.ids_keep, return_layers=[3])
    with torch.no_grad():
        ref = official_forward(sd, x, info.ids_keep, 3, upto=3)[3]
    assert torch.allclose(out, ref, atol=1e-5)


def test_mask_info_is_a_named_tuple_shared_by_value():
    # guard against an accidental copy/re-draw inside the algorithm
    model = build()
    info = random_masking(2, N, 0.75, torch.device('cpu'))
    assert isinstance(info, MaskInfo)
    assert model.get_mask_info(torch.zeros(2, 3, IMG, IMG), None, info) is info
