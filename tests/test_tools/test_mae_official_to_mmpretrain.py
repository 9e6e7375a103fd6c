# Copyright (c) mkd_mm contributors. All rights reserved.
import importlib.util
from pathlib import Path

import pytest
import torch
from mmpretrain.registry import MODELS

import mkd_mm  # noqa: F401
from mkd_mm.models import random_masking

TOOL = (
    Path(__file__).resolve().parents[2] / 'tools' / 'model_converters' /
    'mae_official_to_mmpretrain.py')
ARCH = dict(embed_dims=48, num_layers=3, num_heads=3, feedforward_channels=96)
DEC = 32  # decoder width of the tiny `_full` file


def _tool():
    spec = importlib.util.spec_from_file_location('mae_conv', TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _block(prefix, d, f, r):
    return {
        prefix + 'norm1.weight': r(d) + 1,
        prefix + 'norm1.bias': r(d),
        prefix + 'attn.qkv.weight': r(3 * d, d),
        prefix + 'attn.qkv.bias': r(3 * d),
        prefix + 'attn.proj.weight': r(d, d),
        prefix + 'attn.proj.bias': r(d),
        prefix + 'norm2.weight': r(d) + 1,
        prefix + 'norm2.bias': r(d),
        prefix + 'mlp.fc1.weight': r(f, d),
        prefix + 'mlp.fc1.bias': r(f),
        prefix + 'mlp.fc2.weight': r(d, f),
        prefix + 'mlp.fc2.bias': r(d)
    }


def official_state_dict(decoder, arch=ARCH, img=32, patch=8):
    g = torch.Generator().manual_seed(0)

    def r(*shape):
        return torch.randn(*shape, generator=g) * 0.2

    d, f, n = arch['embed_dims'], arch['feedforward_channels'], (img //
                                                                 patch)**2
    sd = {
        'cls_token': r(1, 1, d),
        'pos_embed': r(1, n + 1, d),
        'patch_embed.proj.weight': r(d, 3, patch, patch),
        'patch_embed.proj.bias': r(d),
        'norm.weight': r(d) + 1,
        'norm.bias': r(d)
    }
    for i in range(arch['num_layers']):
        sd.update(_block(f'blocks.{i}.', d, f, r))
    if decoder:
        sd.update({
            'mask_token': r(1, 1, DEC),
            'decoder_embed.weight': r(DEC, d),
            'decoder_embed.bias': r(DEC),
            'decoder_pos_embed': r(1, n + 1, DEC),
            'decoder_norm.weight': r(DEC) + 1,
            'decoder_norm.bias': r(DEC),
            'decoder_pred.weight': r(patch * patch * 3, DEC),
            'decoder_pred.bias': r(patch * patch * 3)
        })
        for i in range(2):
            sd.update(_block(f'decoder_blocks.{i}.', DEC, 4 * DEC, r))
    return sd


def _teacher(path):
    t = MODELS.build(
        dict(
            type='TeacherViT',
            arch=dict(ARCH),
            img_size=32,
            patch_size=8,
            final_norm=True,
            init_cfg=dict(type='Pretrained', checkpoint=str(path))))
    t.init_weights()
    t.eval()  # mmpretrain's ViT.train() returns None
    return t


@pytest.mark.parametrize('decoder', [False, True])
def test_convert_and_features_match(tmp_path, decoder):
    src = tmp_path / ('mae_visualize_vit_tiny.pth'
                      if decoder else 'mae_pretrain_vit_tiny.pth')
    dst = tmp_path / 'out' / 'converted.pth'
    torch.save({'model': official_state_dict(decoder)}, src)
    assert _tool().main([str(src), str(dst)]) == 0  # verifies strictly too
    ckpt = torch.load(dst, weights_only=True)
    keys = set(ckpt['state_dict'])
    assert 'backbone.layers.2.ffn.layers.1.weight' in keys
    assert 'backbone.ln1.weight' in keys
    assert any(k.startswith('neck.') for k in keys) == decoder
    assert all(k.startswith(('backbone.', 'neck.')) for k in keys)
    # mmpretrain's own MAE model takes the result strictly
    mae = MODELS.build(
        dict(
            type='MAE',
            backbone=dict(
                type='MAEViT', arch=dict(ARCH), img_size=32, patch_size=8),
            neck=dict(
                type='MAEPretrainDecoder',
                num_patches=16,
                patch_size=8,
                embed_dim=48,
                decoder_embed_dim=DEC,
                decoder_depth=2,
                decoder_num_heads=16),
            head=dict(
                type='MAEPretrainHead',
                patch_size=8,
                loss=dict(type='PixelReconstructionLoss', criterion='L2'))))
    result = mae.load_state_dict(ckpt['state_dict'], strict=False)
    assert not result.unexpected_keys
    missing = [
        k for k in result.missing_keys if not k.startswith('data_preprocessor')
    ]
    assert (not missing) if decoder else all(
        k.startswith('neck.') for k in missing)
    # the teacher from the converted file == the teacher from the original
    x = torch.randn(2, 3, 32, 32)
    ids = random_masking(2, 16, 0.75, x.device).ids_keep
    with torch.no_grad():
        a = _teacher(src)(x, ids_keep=ids)
        b = _teacher(dst)(x, ids_keep=ids)
    assert torch.equal(a, b)


def test_no_decoder_flag_and_arch_inference(tmp_path):
    src = tmp_path / 'full.pth'
    torch.save({'model': official_state_dict(True)}, src)
    dst = tmp_path / 'enc.pth'
    assert _tool().main([str(src), str(dst), '--no-decoder']) == 0
    keys = torch.load(dst, weights_only=True)['state_dict']
    assert not any(k.startswith('neck.') for k in keys)
    # ViT-L shapes are recognised as mmpretrain's 'l' (shape-only tensors)
    with torch.device('meta'):
        large = official_state_dict(
            False,
            dict(
                embed_dims=1024,
                num_layers=24,
                num_heads=16,
                feedforward_channels=4096),
            img=224,
            patch=16)
    arch = _tool().infer_arch(large)
    assert arch['name'] == 'l' and arch['num_heads'] == 16


def test_refuses_non_official_files(tmp_path, capsys):
    src = tmp_path / 'mm.pth'
    torch.save({'state_dict': {
        'backbone.layers.0.ln1.weight': torch.ones(4)
    }}, src)
    assert _tool().main([str(src), str(tmp_path / 'x.pth')]) == 1
    assert 'not an official MAE' in capsys.readouterr().err
