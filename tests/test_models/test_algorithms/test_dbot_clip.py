# Copyright (c) mkd_mm contributors. All rights reserved.
import math
import warnings

import pytest
import torch
import torch.nn.functional as F
from mmpretrain.models.utils import resize_pos_embed
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

from mkd_mm.models import (CLIPTeacher, load_clip_visual_weights,
                           random_masking)
from mkd_mm.models.backbones.beit_student_vit import _HUGE
from mkd_mm.models.backbones.clip_teacher import CLIP_MEAN, CLIP_STD
from mkd_mm.testing import (TINY_ARCH, TINY_CLIP_ARCH, tiny_clip_state_dict,
                            tiny_dbot_clip_cfg)

IN_MEAN = torch.tensor([123.675, 116.28, 103.53]).view(1, 3, 1, 1)
IN_STD = torch.tensor([58.395, 57.12, 57.375]).view(1, 3, 1, 1)


@pytest.fixture
def clip_file(tmp_path):
    path = str(tmp_path / 'clip_tiny_openai.pth')
    torch.save(tiny_clip_state_dict(), path)
    return path


def _build(clip_file, **kwargs):
    torch.manual_seed(0)
    model = MODELS.build(tiny_dbot_clip_cfg(clip_file, **kwargs))
    model.init_weights()
    return model


def _fixed_mask():
    """Unequal numbers of masked patches per sample (4 and 5 of 16)."""
    mask = torch.zeros(2, 16, dtype=torch.bool)
    mask[0, [0, 1, 2, 5]] = True
    mask[1, [3, 7, 8, 9, 15]] = True
    return mask


def _hand_clip_tower(sd, img, pos=None, post_norm=True):
    """OpenAI's CLIP image tower written out from the state dict.

    Args:
        sd (dict): OpenAI-format state dict (``visual.*`` keys).
        img (Tensor): CLIP-normalised images.
        pos (Tensor, optional): Position embedding to use.
    """
    v = {
        k[len('visual.'):]: t.float()
        for k, t in sd.items() if k.startswith('visual.')
    }
    width = v['conv1.weight'].shape[0]
    heads = TINY_CLIP_ARCH['heads']
    x = F.conv2d(img, v['conv1.weight'], stride=v['conv1.weight'].shape[-1])
    x = x.flatten(2).transpose(1, 2)
    cls = v['class_embedding'].expand(x.shape[0], 1, width)
    x = torch.cat([cls, x], 1)
    x = x + (v['positional_embedding'] if pos is None else pos)

    def ln(t, name):
        return F.layer_norm(
            t, (width, ), v[name + '.weight'], v[name + '.bias'], eps=1e-5)

    x = ln(x, 'ln_pre')
    n_layers = len({k.split('.')[2] for k in v if k.startswith('transformer')})
    for i in range(n_layers):
        p = f'transformer.resblocks.{i}.'
        h = ln(x, p + 'ln_1')
        qkv = h @ v[p + 'attn.in_proj_weight'].T + v[p + 'attn.in_proj_bias']
        q, k, val = qkv.chunk(3, dim=-1)
        B, L, _ = q.shape
        d = width // heads

        def split(t):
            return t.reshape(B, L, heads, d).transpose(1, 2)

        att = (split(q) @ split(k).transpose(-2, -1)) / math.sqrt(d)
        o = (att.softmax(-1) @ split(val)).transpose(1, 2).reshape(B, L, -1)
        x = x + o @ v[p + 'attn.out_proj.weight'].T + v[p +
                                                        'attn.out_proj.bias']
        h = ln(x, p + 'ln_2')
        h = h @ v[p + 'mlp.c_fc.weight'].T + v[p + 'mlp.c_fc.bias']
        h = h * torch.sigmoid(1.702 * h)  # QuickGELU
        x = x + h @ v[p + 'mlp.c_proj.weight'].T + v[p + 'mlp.c_proj.bias']
    if post_norm:
        x = ln(x, 'ln_post')
    else:
        x = torch.cat([ln(x[:, :1], 'ln_post'), x[:, 1:]], 1)
    return (x @ v['proj'])[:, 1:]


def _clip_normalise(raw):
    mean = torch.tensor([0.48145466, 0.4578275, 0.40821073]).view(1, 3, 1, 1)
    std = torch.tensor([0.26862954, 0.26130258, 0.27577711]).view(1, 3, 1, 1)
    return (raw / 255. - mean) / std


# --------------------------------------------------------------- teacher
def test_teacher_equals_hand_run_of_the_clip_tower(clip_file):
    model = _build(clip_file)
    sd = tiny_clip_state_dict()
    raw = torch.rand(2, 3, 32, 32) * 255
    out = model.teacher(raw)
    assert out.shape == (2, 16, TINY_CLIP_ARCH['output_dim'])  # cls dropped
    ref = _hand_clip_tower(sd, _clip_normalise(raw))
    torch.testing.assert_close(out, ref, rtol=1e-4, atol=1e-5)
    # targets "w/o [LN]" on the patch tokens (official post_patch_norm=False)
    teacher = CLIPTeacher(arch=TINY_CLIP_ARCH, img_size=32, post_norm=False)
    load_clip_visual_weights(teacher.visual, clip_file)
    torch.testing.assert_close(
        teacher(raw),
        _hand_clip_tower(sd, _clip_normalise(raw), post_norm=False),
        rtol=1e-4,
        atol=1e-5)


def test_teacher_mean_std_are_clip_on_0_255():
    assert CLIP_MEAN == pytest.approx(
        (0.48145466 * 255, 0.4578275 * 255, 0.40821073 * 255))
    assert CLIP_STD == pytest.approx(
        (0.26862954 * 255, 0.26130258 * 255, 0.27577711 * 255))
    teacher = CLIPTeacher(arch=TINY_CLIP_ARCH, img_size=32)
    raw = torch.rand(1, 3, 32, 32) * 255
    torch.testing.assert_close(teacher.preprocess(raw), _clip_normalise(raw))


def test_teacher_resizes_input_and_interpolates_pos_embed(tmp_path):
    """CLIP-L/14 at 196 px in miniature: checkpoint grid 5x5 (35 px, patch
    7), teacher input 28 px (4x4 grid) from a 32 px student crop."""
    arch = dict(TINY_CLIP_ARCH, patch_size=7, pretrain_img_size=35)
    sd = tiny_clip_state_dict(arch)
    path = str(tmp_path / 'clip.pth')
    torch.save(sd, path)
    teacher = CLIPTeacher(
        arch=arch,
        img_size=28,
        init_cfg=dict(type='Pretrained', checkpoint=path))
    teacher.init_weights()
    raw = torch.rand(2, 3, 32, 32) * 255
    out = teacher(raw)
    assert out.shape == (2, 16, arch['output_dim'])

    # hand: PIL-like bicubic resize, clamp, CLIP normalisation; official
    # DINO-style pos-embed interpolation with scale (4 + 0.1) / 5
    img = F.interpolate(
        raw,
        size=(28, 28),
        mode='bicubic',
        align_corners=False,
        antialias=True).clamp(0, 255)
    pos = sd['visual.positional_embedding']
    grid = pos[1:].reshape(1, 5, 5, -1).permute(0, 3, 1, 2)
    grid = F.interpolate(
        grid,
        scale_factor=(4.1 / 5, 4.1 / 5),
        mode='bicubic',
        align_corners=False)
    assert grid.shape[-2:] == (4, 4)
    pos = torch.cat([pos[:1], grid.permute(0, 2, 3, 1).reshape(16, -1)])
    ref = _hand_clip_tower(sd, _clip_normalise(img), pos=pos)
    torch.testing.assert_close(out, ref, rtol=1e-4, atol=1e-5)

    # offset 0 is a plain resize to the target size (mmpretrain's helper)
    teacher.interpolate_offset = 0.
    exact = resize_pos_embed(sd['visual.positional_embedding'][None], (5, 5),
                             (4, 4), 'bicubic', 1)[0]
    torch.testing.assert_close(teacher.positional_embedding((4, 4)), exact)
    assert not torch.allclose(exact, pos)  # the official offset matters


# --------------------------------------------------------------- loading
def test_strict_load_of_an_openai_state_dict(clip_file, tmp_path):
    sd = tiny_clip_state_dict()
    teacher = CLIPTeacher(arch=TINY_CLIP_ARCH, img_size=32)
    report = load_clip_visual_weights(teacher.visual, clip_file)
    for k, v in teacher.visual.state_dict().items():
        assert torch.equal(v, sd['visual.' + k]), k
    # the text tower is reported as ignored, not as unexpected
    assert 'token_embedding' in report and 'text_projection' in report

    # an image-tower-only file (no `visual.` prefix), in a container
    only = {
        k[len('visual.'):]: v
        for k, v in sd.items() if k.startswith('visual.')
    }
    path = str(tmp_path / 'visual_only.pth')
    torch.save({'state_dict': only}, path)
    other = CLIPTeacher(arch=TINY_CLIP_ARCH, img_size=32)
    load_clip_visual_weights(other.visual, path)
    assert torch.equal(other.visual.proj, teacher.visual.proj)


def test_missing_unexpected_and_wrong_shape_keys_are_rejected(tmp_path):
    sd = tiny_clip_state_dict()
    teacher = CLIPTeacher(arch=TINY_CLIP_ARCH, img_size=32)

    bad = dict(sd)
    del bad['visual.ln_post.weight']
    path = str(tmp_path / 'missing.pth')
    torch.save(bad, path)
    with pytest.raises(KeyError, match=r'missing keys: ln_post\.weight'):
        load_clip_visual_weights(teacher.visual, path)

    bad = dict(sd)
    bad['visual.transformer.resblocks.2.ln_1.weight'] = torch.ones(32)
    path = str(tmp_path / 'unexpected.pth')
    torch.save(bad, path)
    with pytest.raises(KeyError, match=r'resblocks\.2\.ln_1\.weight'):
        load_clip_visual_weights(teacher.visual, path)

    path = str(tmp_path / 'wider.pth')
    torch.save(tiny_clip_state_dict(dict(TINY_CLIP_ARCH, width=48)), path)
    with pytest.raises(ValueError, match='wrong shape'):
        load_clip_visual_weights(teacher.visual, path)

    with pytest.raises(FileNotFoundError, match='torch.jit.load'):
        load_clip_visual_weights(teacher.visual, str(tmp_path / 'none.pth'))


def test_torchscript_archive_is_refused_with_the_conversion_command(tmp_path):
    path = str(tmp_path / 'ViT-tiny.pt')
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')  # torch.jit.script is deprecated
        torch.jit.script(torch.nn.Linear(2, 2)).save(path)
    teacher = CLIPTeacher(arch=TINY_CLIP_ARCH, img_size=32)
    with pytest.raises(ValueError, match=r'(?s)TorchScript.*torch\.jit\.load'):
        load_clip_visual_weights(teacher.visual, path)


def test_teacher_checkpoint_of_another_arch_is_named(tmp_path):
    path = str(tmp_path / 'clip.pth')
    torch.save(tiny_clip_state_dict(), path)
    cfg = tiny_dbot_clip_cfg(path)
    cfg['teacher']['arch'] = dict(TINY_CLIP_ARCH, layers=3)
    model = MODELS.build(cfg)
    with pytest.raises(KeyError, match=r'resblocks\.2\.'):
        model.init_weights()


# ---------------------------------------------------------------- loss
def test_loss_matches_hand_computation(clip_file):
    model = _build(clip_file)
    x = torch.randn(2, 3, 32, 32)
    mask = _fixed_mask()
    loss = model.loss(x, mask=mask)['loss']

    raw = x * IN_STD + IN_MEAN  # what the teacher must see
    target = _hand_clip_tower(tiny_clip_state_dict(), _clip_normalise(raw))
    with torch.no_grad():
        latent = model.backbone(x, mask)[0][:, 1:]  # after the final LN
    preds, targets = [], []
    for b in range(2):
        for n in range(16):
            if mask[b, n]:  # only masked patches, batch-wide mean
                preds.append(latent[b, n] @ model.lm_head.weight.detach().T +
                             model.lm_head.bias.detach())
                targets.append(target[b, n])
    cos = [
        float((p * t).sum() / (max(p.norm(), 1e-6) * max(t.norm(), 1e-6)))
        for p, t in zip(preds, targets)
    ]
    assert len(cos) == 9
    assert loss.item() == pytest.approx(1 - sum(cos) / 9, rel=1e-5)

    # the student's input is the mask-token-filled image: visible patches
    # of a sample change the prediction, masked pixels do not
    x2 = x.clone()
    x2[0, :, 0:8, 0:8] += 5  # patch 0 of sample 0 is masked
    assert model.loss(
        x2, mask=mask)['loss'].item() != pytest.approx(
            loss.item())  # ... but the teacher sees it
    with torch.no_grad():
        a = model.backbone(x, mask)[0]
        b = model.backbone(x2, mask)[0]
    torch.testing.assert_close(a, b)


def test_mask_from_data_samples_and_generator(clip_file):
    model = _build(clip_file)
    x = torch.randn(2, 3, 32, 32)
    mask = _fixed_mask()
    a = model.loss(x, mask=mask)['loss']
    samples = [
        DataSample().set_mask(mask[i].view(4, 4).long()) for i in range(2)
    ]
    assert torch.equal(model.loss(x, samples)['loss'], a)
    with pytest.raises(ValueError, match='BEiTMaskGenerator'):
        model.loss(x, [DataSample(), DataSample()])
    gen_model = _build(
        clip_file,
        mask_generator=dict(
            type='BEiTMaskGenerator',
            input_size=4,
            num_masking_patches=6,
            min_num_patches=1))
    m = gen_model.get_bool_mask(x)
    assert m.shape == (2, 16) and m.sum(1).tolist() == [6, 6]
    assert gen_model.loss(x)['loss'].isfinite()
    with pytest.raises(ValueError, match='grid'):
        _build(
            clip_file,
            mask_generator=dict(
                type='BEiTMaskGenerator',
                input_size=14,
                num_masking_patches=78))


def test_raw_image_recovered_from_the_preprocessor(clip_file):
    model = _build(clip_file)
    bgr = torch.randint(0, 256, (2, 3, 32, 32), dtype=torch.uint8)
    data = model.data_preprocessor(
        dict(inputs=bgr, data_samples=[DataSample()] * 2))  # collated
    raw = model.raw_images(data['inputs'])
    torch.testing.assert_close(
        raw, bgr[:, [2, 1, 0]].float(), atol=1e-3, rtol=0)


def test_gradients_reach_the_student_only(clip_file):
    model = _build(clip_file)
    model.train()
    x = torch.randn(2, 3, 32, 32)
    model.loss(x, mask=_fixed_mask())['loss'].backward()
    for name, p in model.named_parameters():
        if name.startswith('teacher.'):
            assert not p.requires_grad and p.grad is None, name
        else:
            assert p.requires_grad, name
            assert p.grad is not None and p.grad.abs().sum() > 0, name
    assert not model.teacher.training
    assert all(
        n.startswith('teacher.')
        for n in model._ddp_params_and_buffers_to_ignore)
    # the loss holds no graph into the teacher
    assert model.teacher_forward(x).grad_fn is None


def test_patch_grids_must_match(clip_file):
    with pytest.raises(ValueError, match='img_size=196'):
        _build(
            clip_file,
            teacher=dict(type='CLIPTeacher', arch=TINY_CLIP_ARCH, img_size=24))


# ---------------------------------------------------------------- init
def test_student_init_is_truncated_at_one_sigma_and_rescaled(clip_file):
    model = _build(clip_file)
    bb = model.backbone
    std = 0.02
    for name, p in bb.named_parameters():
        if p.dim() > 1 and 'relative_position' not in name:
            limit = std + 1e-7
            if name.endswith('attn.proj.weight') or name.endswith(
                    'ffn.layers.1.weight'):
                i = int(name.split('.')[1]) + 1
                limit = std / math.sqrt(2 * i) + 1e-7
            assert p.abs().max() <= limit, name
            assert p.abs().max() > 0.5 * limit, name  # not collapsed
    # unit-std truncated at +-1: std = 0.5396 sigma
    w = bb.layers[0].attn.qkv.weight
    assert w.std().item() == pytest.approx(0.5396 * std, rel=0.05)
    for layer in bb.layers:
        assert torch.all(layer.gamma_1 == 0.1)
        assert torch.all(layer.attn.q_bias == 0)
    assert torch.all(bb.rel_pos_bias.relative_position_bias_table == 0)
    assert bb.pos_embed is None
    assert model.lm_head.weight.abs().max() <= std + 1e-7
    assert torch.all(model.lm_head.bias == 0)
    assert model.lm_head.out_features == TINY_CLIP_ARCH['output_dim']
    assert bb.cls_token.abs().max() <= std and bb.mask_token.abs().max() > 0


def test_huge_arch_and_extract_feat(clip_file):
    assert _HUGE == dict(
        embed_dims=1280,
        num_layers=32,
        num_heads=16,
        feedforward_channels=5120)
    model = _build(clip_file)
    feats = model.extract_feat(torch.randn(1, 3, 32, 32))
    assert feats[0].shape == (1, 17, TINY_ARCH['embed_dims'])


def test_loss_is_the_mean_over_all_masked_tokens(clip_file):
    model = _build(clip_file)
    x = torch.randn(2, 3, 32, 32)
    info = random_masking(2, 16, 0.5, x.device,
                          torch.Generator().manual_seed(0))
    m = info.mask.bool()
    loss = model.loss(x, mask=m)['loss']
    pred, target = model.targets_and_predictions(x, m)
    assert pred.shape == target.shape == (16, TINY_CLIP_ARCH['output_dim'])
    ref = 1 - F.cosine_similarity(pred, target, dim=-1, eps=1e-6).mean()
    assert loss.item() == pytest.approx(ref.item(), rel=1e-6)
