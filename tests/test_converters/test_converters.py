# Copyright (c) mkd_mm contributors. All rights reserved.
"""Weights flow without silent loss: converters and strict loading.

- official (timm layout) -> mmpretrain layout -> every downstream backbone:
  the features equal those of a reference implementation of the official
  ViT (so nothing was lost or mis-mapped, and avg-pool + ``ln2`` equals the
  official ``fc_norm``);
- mmpretrain -> official -> mmpretrain round trip is exact;
- a pre-training checkpoint -> backbone-only file, with a key report;
- bad input gives errors that name the file or the key.
"""
import importlib.util
import os.path as osp
import sys

import pytest
import torch

sys.path.insert(
    0, osp.join(osp.dirname(osp.abspath(__file__)), '..', 'test_downstream'))
from downstream_helpers import (
    REPO,
    ReferenceOfficialViT,  # noqa: E402
    official_release,
    save_pretrain_checkpoint)

import mkd_mm  # noqa: E402,F401
from mkd_mm.downstream.common import (
    CheckpointMismatchError,  # noqa: E402
    TransferViT)
from mkd_mm.utils.checkpoint_io import UnsafeCheckpointError  # noqa: E402
from mkd_mm.utils.key_mapping import (
    extract_backbone,  # noqa: E402
    mmpretrain_to_official,
    official_to_mmpretrain,
    resize_pos_embed)

ARCH = dict(embed_dims=48, num_layers=3, num_heads=3, feedforward_channels=96)


def _tool(name: str):
    path = osp.join(REPO, 'tools', 'model_converters', f'{name}.py')
    spec = importlib.util.spec_from_file_location(f'_conv_{name}', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope='module')
def reference():
    torch.manual_seed(0)
    return ReferenceOfficialViT(ARCH, img_size=64, patch_size=16).eval()


@pytest.fixture(scope='module')
def official_file(tmp_path_factory, reference):
    path = str(tmp_path_factory.mktemp('official') / 'dbot_release.pth')
    torch.save(official_release(reference), path)
    return path


def _mmpretrain_vit(checkpoint: str, **kwargs):
    from mmengine.registry import DefaultScope
    from mmpretrain.registry import MODELS

    import mkd_mm.downstream.mmpretrain  # noqa: F401
    cfg = dict(
        type='TransferVisionTransformer',
        arch=ARCH,
        img_size=64,
        patch_size=16,
        init_cfg=dict(
            type='Pretrained', checkpoint=checkpoint, prefix='backbone.'))
    cfg.update(kwargs)
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        model = MODELS.build(cfg)
    model.init_weights()
    model.eval()  # mmpretrain backbones' train() returns None
    return model


def test_official_to_mmpretrain_features_equal(tmp_path, reference,
                                               official_file, capsys):
    out = str(tmp_path / 'converted.pth')
    assert _tool('official_to_mmpretrain').main([official_file, out]) == 0
    report = capsys.readouterr().out
    # every dropped key is reported, by category
    assert 'dropped (decoder): 6 key(s)' in report
    assert 'decoder_predp.weight' in report
    assert 'dropped (projection_heads): 1 key(s)' in report
    converted = torch.load(out, weights_only=True)
    keys = set(converted['state_dict'])
    assert all(k.startswith('backbone.') for k in keys)
    assert len(keys) == len(reference.state_dict())

    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        ref = reference(x)
        # mmpretrain ViT with the final norm, raw tokens
        vit = _mmpretrain_vit(out, out_type='raw', final_norm=True)
        ours = vit(x)[-1]
        # the same from the official file directly (converted on load)
        vit2 = _mmpretrain_vit(official_file, out_type='raw', final_norm=True)
        ours2 = vit2(x)[-1]
    torch.testing.assert_close(ours, ref, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(ours2, ref, rtol=1e-4, atol=1e-5)
    assert vit2.load_report['layout'] == 'official'


@pytest.mark.parametrize('rel_pos,layer_scale', [(False, 0.), (True, 0.),
                                                 (True, 1.0)])
def test_dense_backbones_reproduce_official_taps(official_file, reference,
                                                 rel_pos, layer_scale):
    """Det/seg backbones at init == the official ViT's block outputs.

    The new transfer parameters start neutral (zero relative-position bias,
    layer scale 1.0), so the taps must equal the reference exactly.
    """
    backbone = TransferViT(
        arch=ARCH,
        img_size=64,
        patch_size=16,
        out_indices=(0, 2),
        use_rel_pos_bias=rel_pos,
        layer_scale_init_value=layer_scale,
        init_cfg=dict(type='Pretrained', checkpoint=official_file))
    backbone.init_weights()
    report = backbone.load_report
    assert report['unused'] == ['ln1.weight', 'ln1.bias']  # final norm
    expected_new = 3 * rel_pos + 6 * (layer_scale > 0)
    assert len(report['missing_allowed']) == expected_new
    backbone.eval()
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        taps = backbone(x)
        _, ref_taps = reference.tokens(x, taps=(0, 2))
    for ours, ref in zip(taps, ref_taps):
        ref_map = ref[:, 1:].transpose(1, 2).reshape(2, 48, 4, 4)
        torch.testing.assert_close(ours, ref_map, rtol=1e-4, atol=1e-5)


def test_finetuned_release_avgpool_fc_norm(tmp_path):
    """Official fine-tuned release (fc_norm + head) -> classifier logits."""
    from mmengine.registry import DefaultScope
    from mmengine.runner import load_checkpoint
    from mmpretrain.registry import MODELS

    import mkd_mm.downstream.mmpretrain  # noqa: F401
    torch.manual_seed(1)
    ref = ReferenceOfficialViT(ARCH, 64, 16, num_classes=10).eval()
    path = str(tmp_path / 'dbot_finetune.pth')
    torch.save(official_release(ref, with_decoder=False), path)
    cfg = dict(
        type='OfficialCompatClassifier',
        backbone=dict(
            type='TransferVisionTransformer',
            arch=ARCH,
            img_size=64,
            patch_size=16,
            out_type='avg_featmap',
            final_norm=False),
        head=dict(type='LinearClsHead', num_classes=10, in_channels=48))
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        model = MODELS.build(cfg).eval()
    load_checkpoint(model, path, strict=True)
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        logits = model(x, mode='tensor')
        torch.testing.assert_close(logits, ref(x), rtol=1e-4, atol=1e-5)


def test_round_trip_mmpretrain_official(tmp_path):
    ckpt = save_pretrain_checkpoint(
        str(tmp_path / 'pre.pth'), ARCH, img_size=64, patch_size=16)
    sd = torch.load(ckpt, weights_only=False)['state_dict']
    official, dropped = mmpretrain_to_official(sd)
    assert 'teacher' in dropped and 'decoder' in dropped
    assert 'projection_heads' in dropped
    back, dropped_back = official_to_mmpretrain(official)
    assert not dropped_back
    backbone = {k: v for k, v in sd.items() if k.startswith('backbone.')}
    assert set(back) == set(backbone)
    for k in backbone:
        assert torch.equal(back[k], backbone[k]), k
    # and through the export tool
    out = str(tmp_path / 'timm.pth')
    assert _tool('mmpretrain_to_official').main([ckpt, out]) == 0
    exported = torch.load(out, weights_only=True)['model']
    assert set(exported) == set(official)


def test_extract_backbone_report_and_load(tmp_path, capsys):
    ckpt = save_pretrain_checkpoint(
        str(tmp_path / 'pre.pth'), ARCH, img_size=64, patch_size=16)
    out = str(tmp_path / 'backbone.pth')
    assert _tool('extract_backbone').main([ckpt, out]) == 0
    report = capsys.readouterr().out
    for category in ('teacher', 'decoder', 'projection_heads',
                     'data_preprocessor'):
        assert f'dropped ({category})' in report, report
    extracted = torch.load(out, weights_only=True)
    assert all(k.startswith('backbone.') for k in extracted['state_dict'])
    assert extracted['meta']['num_layers'] == 3
    # loading the extracted file == loading the full checkpoint
    a = TransferViT(
        arch=ARCH,
        img_size=64,
        out_indices=(2, ),
        init_cfg=dict(type='Pretrained', checkpoint=ckpt))
    b = TransferViT(
        arch=ARCH,
        img_size=64,
        out_indices=(2, ),
        init_cfg=dict(type='Pretrained', checkpoint=out))
    a.init_weights()
    b.init_weights()
    for (ka, va), (kb, vb) in zip(a.state_dict().items(),
                                  b.state_dict().items()):
        assert ka == kb and torch.equal(va, vb), ka
    assert set(a.load_report['dropped']) >= {'teacher', 'decoder'}


def test_pos_embed_resize_bicubic():
    pos = torch.randn(1, 1 + 14 * 14, 8)
    out = resize_pos_embed(pos, (32, 32))
    assert out.shape == (1, 1 + 32 * 32, 8)
    assert torch.equal(out[:, :1], pos[:, :1])  # cls slot kept
    assert torch.equal(resize_pos_embed(pos, (14, 14)), pos)
    with pytest.raises(ValueError, match='not a 5x5 grid'):
        resize_pos_embed(pos, (8, 8), src_hw=(5, 5))


# ------------------------------------------------------------------ bad input
def test_checkpoint_of_another_architecture(tmp_path):
    other = dict(ARCH, num_layers=5)
    ckpt = save_pretrain_checkpoint(
        str(tmp_path / 'vit5.pth'), other, img_size=64, patch_size=16)
    backbone = TransferViT(
        arch=ARCH,
        img_size=64,
        out_indices=(2, ),
        init_cfg=dict(type='Pretrained', checkpoint=ckpt))
    with pytest.raises(
            CheckpointMismatchError,
            match=r'vit5\.pth.*another architecture.*5 blocks'):
        backbone.init_weights()
    wide = dict(ARCH, embed_dims=64, num_heads=4)
    ckpt = save_pretrain_checkpoint(
        str(tmp_path / 'wide.pth'), wide, img_size=64, patch_size=16)
    backbone = TransferViT(
        arch=ARCH,
        img_size=64,
        out_indices=(2, ),
        init_cfg=dict(type='Pretrained', checkpoint=ckpt))
    with pytest.raises(CheckpointMismatchError, match=r'wide\.pth.*width 64'):
        backbone.init_weights()


def test_checkpoint_without_backbone_keys(tmp_path):
    path = str(tmp_path / 'no_backbone.pth')
    torch.save({'state_dict': {'encoder.weight': torch.zeros(2)}}, path)
    backbone = TransferViT(
        arch=ARCH,
        img_size=64,
        out_indices=(2, ),
        init_cfg=dict(type='Pretrained', checkpoint=path))
    with pytest.raises(
            CheckpointMismatchError, match=r"no_backbone\.pth.*'backbone\.'"):
        backbone.init_weights()
    with pytest.raises(KeyError, match="No key starts with 'backbone.'"):
        extract_backbone({'encoder.weight': torch.zeros(2)})
    assert _tool('extract_backbone').main([path, str(tmp_path / 'x')]) == 1
    assert _tool('official_to_mmpretrain').main([path,
                                                 str(tmp_path / 'y')]) == 1


def test_unexpected_and_shape_mismatch_keys(tmp_path):
    ckpt = save_pretrain_checkpoint(
        str(tmp_path / 'pre.pth'), ARCH, img_size=64, patch_size=16)
    sd = torch.load(ckpt, weights_only=False)
    sd['state_dict']['backbone.layers.0.attn.extra.weight'] = torch.ones(1)
    path = str(tmp_path / 'extra.pth')
    torch.save(sd, path)
    backbone = TransferViT(
        arch=ARCH,
        img_size=64,
        out_indices=(2, ),
        init_cfg=dict(type='Pretrained', checkpoint=path))
    with pytest.raises(
            CheckpointMismatchError,
            match=r'(?s)extra\.pth.*unexpected keys: 1.*'
            r'layers\.0\.attn\.extra\.weight'):
        backbone.init_weights()
    # a patch-size mismatch is a shape mismatch naming the key
    backbone = TransferViT(
        arch=ARCH,
        img_size=64,
        patch_size=8,
        out_indices=(2, ),
        init_cfg=dict(type='Pretrained', checkpoint=ckpt))
    with pytest.raises(
            CheckpointMismatchError,
            match=r'(?s)shape mismatches.*patch_embed'):
        backbone.init_weights()


def test_unsafe_checkpoint_is_refused(tmp_path):
    path = str(tmp_path / 'unsafe.pth')
    torch.save({'state_dict': {}, 'obj': _Opaque()}, path)
    backbone = TransferViT(
        arch=ARCH,
        img_size=64,
        out_indices=(2, ),
        init_cfg=dict(type='Pretrained', checkpoint=path))
    with pytest.raises(UnsafeCheckpointError, match='unsafe.pth'):
        backbone.init_weights()


class _Opaque:
    """A pickled class instance: not allowed by the safe loader."""
