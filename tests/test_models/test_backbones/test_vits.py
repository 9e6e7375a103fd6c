# Copyright (c) mkd_mm contributors. All rights reserved.
import numpy as np
import pytest
import torch
from mmpretrain.models import VisionTransformer

from mkd_mm.models import (MKDViT, TeacherViT, build_mae_sincos_pos_embed,
                           mask_info_from_mask, random_masking)
from mkd_mm.testing import TINY_ARCH


def _numpy_mae_pos_embed(grid, dim):
    """The official MAE numpy construction, written out independently."""
    gh = np.arange(grid, dtype=np.float32)
    gw = np.arange(grid, dtype=np.float32)
    g = np.meshgrid(gw, gh)  # w first: g[0] is the column coordinate
    g = np.stack(g, 0).reshape(2, 1, grid, grid)

    def one(d, pos):
        omega = np.arange(d // 2, dtype=np.float64) / (d / 2.)
        omega = 1. / 10000**omega
        out = np.einsum('m,d->md', pos.reshape(-1), omega)
        return np.concatenate([np.sin(out), np.cos(out)], axis=1)

    emb = np.concatenate([one(dim // 2, g[0]), one(dim // 2, g[1])], axis=1)
    return np.concatenate([np.zeros([1, dim]), emb], axis=0)


def test_pos_embed_matches_mae_layout():
    ours = build_mae_sincos_pos_embed(4, 16)[0].numpy()
    np.testing.assert_allclose(ours, _numpy_mae_pos_embed(4, 16), atol=1e-6)


def test_student_init_follows_mae_rules():
    torch.manual_seed(0)
    vit = MKDViT(arch=TINY_ARCH, img_size=32, patch_size=8)
    vit.init_weights()
    assert torch.equal(vit.pos_embed, build_mae_sincos_pos_embed(4, 32))
    assert not vit.pos_embed.requires_grad
    for name, m in vit.named_modules():
        if isinstance(m, torch.nn.Linear):
            assert torch.count_nonzero(m.bias) == 0, name
            bound = (6 / (m.in_features + m.out_features))**.5
            assert m.weight.abs().max() <= bound
        if isinstance(m, torch.nn.LayerNorm):
            assert torch.all(m.weight == 1) and torch.all(m.bias == 0)
    assert 0.005 < vit.cls_token.std() < 0.05


def test_masked_forward_shapes_and_explicit_mask():
    vit = MKDViT(arch=TINY_ARCH, img_size=32, patch_size=8, mask_ratio=0.75)
    vit.init_weights()
    x = torch.randn(2, 3, 32, 32)
    info = random_masking(2, 16, 0.75, x.device)
    assert info.ids_keep.shape == (2, 4)
    assert info.mask.sum(1).tolist() == [12., 12.]
    latent, feats = vit.forward_masked(x, info, return_layers=(0, 1))
    assert latent.shape == (2, 5, 32) and len(feats) == 2
    # an explicit mask reproduces the same encoding
    info2 = mask_info_from_mask(info.mask)
    latent2, _ = vit.forward_masked(x, info2)
    assert torch.equal(info2.mask, info.mask)
    # visible tokens are the same set; the cls token is order-independent
    assert torch.allclose(latent[:, 0], latent2[:, 0], atol=1e-5)
    # MAE-compatible API
    out, mask, ids_restore = vit(x)
    assert out.shape == (2, 5, 32) and mask.shape == (2, 16)
    assert vit(x, mask=None)[0].shape == (2, 17, 32)


def test_mask_ratio_leaving_no_patch():
    with pytest.raises(ValueError, match='backbone.mask_ratio.*no visible'):
        MKDViT(arch=TINY_ARCH, img_size=32, patch_size=8, mask_ratio=0.97)


def test_depth0_teacher_is_patch_embedding_plus_position():
    t = TeacherViT(arch=TINY_ARCH, depth=0, img_size=32, patch_size=8)
    t.init_weights()
    x = torch.randn(2, 3, 32, 32)
    out = t(x)
    patches = t.patch_embed(x)[0] + t.pos_embed[:, 1:]
    cls = (t.cls_token + t.pos_embed[:, :1]).expand(2, -1, -1)
    assert torch.equal(out, torch.cat([cls, patches], 1))
    assert len(t.layers) == 0


def test_teacher_depth_out_of_range():
    with pytest.raises(ValueError, match=r'depth.*\[0, 2\]'):
        TeacherViT(arch=TINY_ARCH, depth=3, img_size=32, patch_size=8)


def test_teacher_partial_forward_matches_full():
    t = TeacherViT(arch=TINY_ARCH, img_size=32, patch_size=8)
    t.init_weights()
    x = torch.randn(2, 3, 32, 32)
    calls = []
    hooks = [
        layer.register_forward_hook(lambda m, i, o: calls.append(m))
        for layer in t.layers
    ]
    (feat0, ) = t(x, return_layers=(0, ))
    assert len(calls) == 1  # stopped after block 0
    full = VisionTransformer(
        arch=TINY_ARCH, img_size=32, patch_size=8, out_indices=[0],
        final_norm=False, out_type='raw')
    full.load_state_dict(t.state_dict(), strict=False)
    assert torch.allclose(full(x)[0], feat0, atol=1e-6)
    for h in hooks:
        h.remove()


@pytest.mark.parametrize('cls', [MKDViT, TeacherViT])
def test_patch_bias_keeps_pytorch_default_init(cls):
    """Official ``initialize_weights`` never touches the Conv2d bias: it
    keeps PyTorch's default, uniform in +-1/sqrt(3 p^2), at build time; the
    old zero rule is ``zero_patch_bias=True`` and changes nothing else."""
    torch.manual_seed(0)
    official = cls(arch=TINY_ARCH, img_size=32, patch_size=8)
    official.init_weights()
    torch.manual_seed(0)
    zeroed = cls(
        arch=TINY_ARCH, img_size=32, patch_size=8, zero_patch_bias=True)
    zeroed.init_weights()
    bias = official.patch_embed.projection.bias
    bound = 1 / (3 * 8 * 8)**.5
    assert torch.count_nonzero(bias) == bias.numel()
    assert bias.abs().max() <= bound and bias.std() > bound / 4
    assert torch.count_nonzero(zeroed.patch_embed.projection.bias) == 0
    # the same random numbers for everything else: old and new paths agree
    a, b = official.state_dict(), zeroed.state_dict()
    differ = [k for k in a if not torch.equal(a[k], b[k])]
    assert differ == ['patch_embed.projection.bias']


def test_patch_bias_survives_reinitialisation():
    """At a dBOT breakpoint the official re-init leaves the (trained) patch
    bias as it is; every other student weight is drawn again."""
    torch.manual_seed(0)
    vit = MKDViT(arch=TINY_ARCH, img_size=32, patch_size=8)
    vit.init_weights()
    with torch.no_grad():
        vit.patch_embed.projection.bias.fill_(0.25)  # "trained"
    weight = vit.patch_embed.projection.weight.clone()
    vit.reset_parameters()
    assert torch.all(vit.patch_embed.projection.bias == 0.25)
    assert not torch.equal(weight, vit.patch_embed.projection.weight)
    vit.zero_patch_bias = True
    vit.reset_parameters()
    assert torch.count_nonzero(vit.patch_embed.projection.bias) == 0
