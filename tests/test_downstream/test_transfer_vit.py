# Copyright (c) mkd_mm contributors. All rights reserved.
"""Unit tests of the dense-transfer ViT pieces."""
import pytest
import torch

import mkd_mm  # noqa: F401
from mkd_mm.downstream.common import (RelPosBiasAttention, TransferViT,
                                      get_vit_layer_depth,
                                      relative_position_index)

ARCH = dict(embed_dims=32, num_layers=3, num_heads=2, feedforward_channels=64)


def test_relative_position_index_shares_rows_by_offset():
    index = relative_position_index((2, 3), (4, 4), True, torch.device('cpu'))
    n = 2 * 3
    assert index.shape == (n + 1, n + 1)
    num_rel = 7 * 7 + 3
    assert index[0, 0] == num_rel - 1
    assert (index[0, 1:] == num_rel - 3).all()
    assert (index[1:, 0] == num_rel - 2).all()
    grid = index[1:, 1:]
    # token (0,0)->(1,2) and (0,1)->... offsets: equal offsets, equal rows
    pos = [(i, j) for i in range(2) for j in range(3)]
    rows = {}
    for a, pa in enumerate(pos):
        for b, pb in enumerate(pos):
            off = (pa[0] - pb[0], pa[1] - pb[1])
            rows.setdefault(off, set()).add(int(grid[a, b]))
    assert all(len(r) == 1 for r in rows.values())
    assert len({next(iter(r)) for r in rows.values()}) == len(rows)
    assert int(grid.max()) < 7 * 7


def test_rel_pos_bias_is_used_and_extends_to_larger_grids():
    torch.manual_seed(0)
    attn = RelPosBiasAttention(32, 2, rel_pos_grid=(2, 2)).eval()
    x = torch.randn(1, 1 + 4, 32)
    out0 = attn(x, (2, 2))
    with torch.no_grad():
        attn.relative_position_bias_table.normal_()
    assert not torch.allclose(attn(x, (2, 2)), out0)
    # a grid larger than the table interpolates the table
    y = attn(torch.randn(1, 1 + 12, 32), (3, 4))
    assert y.shape == (1, 13, 32)
    with pytest.raises(ValueError, match='patch grid'):
        attn(x)


def test_checkpointing_gives_same_outputs_and_grads():
    torch.manual_seed(0)
    a = TransferViT(
        arch=ARCH,
        img_size=32,
        out_indices=(1, 2),
        use_rel_pos_bias=True,
        layer_scale_init_value=1.0)
    a.init_weights()
    b = TransferViT(
        arch=ARCH,
        img_size=32,
        out_indices=(1, 2),
        use_rel_pos_bias=True,
        layer_scale_init_value=1.0,
        with_cp=True)
    b.load_state_dict(a.state_dict())
    x = torch.randn(2, 3, 48, 32)  # non-square, not the img_size grid
    outs_a, outs_b = a(x), b(x)
    for oa, ob in zip(outs_a, outs_b):
        assert oa.shape == (2, 32, 3, 2)
        torch.testing.assert_close(oa, ob)
    sum(o.sum() for o in outs_a).backward()
    sum(o.sum() for o in outs_b).backward()
    for (n, pa), pb in zip(a.named_parameters(), b.parameters()):
        torch.testing.assert_close(pa.grad, pb.grad, msg=n)


def test_frozen_stages_and_layer_depth():
    vit = TransferViT(
        arch=ARCH, img_size=32, out_indices=(2, ), frozen_stages=1)
    vit.train()
    assert not vit.cls_token.requires_grad
    assert not any(p.requires_grad for p in vit.layers[0].parameters())
    assert all(p.requires_grad for p in vit.layers[1].parameters())
    assert not vit.layers[0].training and vit.layers[1].training
    assert vit.get_layer_depth('backbone.layers.2.ln1.weight',
                               'backbone.') == (3, 5)
    assert vit.get_layer_depth('backbone.pos_embed', 'backbone.') == (0, 5)
    assert vit.get_layer_depth('neck.fpn.weight', 'backbone.') == (4, 5)
    with pytest.raises(ValueError, match='num_layers=3'):
        get_vit_layer_depth('backbone.layers.7.ln1.weight', 3)


def test_feature2pyramid_strides():
    from mkd_mm.downstream.mmdet import Feature2Pyramid
    neck = Feature2Pyramid(16, norm_cfg=dict(type='BN'))
    feats = [torch.randn(1, 16, 8, 8) for _ in range(4)]
    outs = neck(feats)
    assert [o.shape[-1] for o in outs] == [32, 16, 8, 4]
    with pytest.raises(ValueError, match='rescale 3'):
        Feature2Pyramid(16, rescales=(3, ))


def test_missing_checkpoint_path_is_a_clear_error():
    vit = TransferViT(
        arch=ARCH,
        img_size=32,
        out_indices=(2, ),
        init_cfg=dict(type='Pretrained', checkpoint=None))
    with pytest.raises(ValueError, match='init_cfg.checkpoint'):
        vit.init_weights()
    vit = TransferViT(
        arch=ARCH,
        img_size=32,
        out_indices=(2, ),
        init_cfg=dict(type='Pretrained', checkpoint='/nonexistent/x.pth'))
    with pytest.raises(FileNotFoundError, match='/nonexistent/x.pth'):
        vit.init_weights()
