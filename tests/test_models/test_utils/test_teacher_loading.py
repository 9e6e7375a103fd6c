# Copyright (c) mkd_mm contributors. All rights reserved.
import argparse
import pickle

import numpy as np
import pytest
import torch

from mkd_mm.models import MKDViT, TeacherViT
from mkd_mm.testing import TINY_ARCH
from mkd_mm.utils import UnsafeCheckpointError, load_checkpoint_file


def _teacher(path=None, depth=2, **kwargs):
    init = dict(type='Pretrained', checkpoint=str(path)) if path else None
    t = TeacherViT(arch=TINY_ARCH, depth=depth, img_size=32, patch_size=8,
                   init_cfg=init, **kwargs)
    return t


def _student_sd():
    torch.manual_seed(3)
    s = MKDViT(arch=TINY_ARCH, img_size=32, patch_size=8)
    s.init_weights()
    return s.state_dict()


def _official(sd):
    out = {}
    for k, v in sd.items():
        k = (k.replace('patch_embed.projection', 'patch_embed.proj')
             .replace('ffn.layers.0.0', 'mlp.fc1')
             .replace('ffn.layers.1', 'mlp.fc2').replace('.ln1.', '.norm1.')
             .replace('.ln2.', '.norm2.'))
        if k.startswith('layers.'):
            k = 'blocks.' + k[len('layers.'):]
        out['norm.' + k[4:] if k.startswith('ln1.') else k] = v
    return out


def test_official_mmpretrain_and_mkd_mm_formats_load_identically(tmp_path):
    sd = _student_sd()
    files = {
        'official': {'model': _official(sd), 'args': argparse.Namespace(a=1),
                     'epoch': np.int64(3)},
        'official_full': {'model': {**_official(sd),
                                    'mask_token': torch.zeros(1, 1, 16),
                                    'decoder_embed.weight': torch.zeros(16, 32)
                                    }},
        'mmpretrain': {'state_dict': {'backbone.' + k: v
                                      for k, v in sd.items()},
                       'meta': {'epoch': 1}},
        'mkd_mm': {'state_dict': {
            **{'backbone.' + k: v for k, v in sd.items()},
            **{'teacher.' + k: torch.zeros_like(v) for k, v in sd.items()},
            'neck.mask_token': torch.zeros(1, 1, 16),
            'stage': torch.tensor(1)}},
    }
    x = torch.randn(2, 3, 32, 32)
    outs = []
    for name, obj in files.items():
        path = tmp_path / f'{name}.pth'
        torch.save(obj, path)
        t = _teacher(path)
        t.init_weights()
        for k, v in t.state_dict().items():
            assert torch.equal(v, sd[k]), (name, k)
        outs.append(t(x))
    assert all(torch.equal(o, outs[0]) for o in outs)


def test_final_norm_teacher_and_depth0(tmp_path):
    sd = _student_sd()
    path = tmp_path / 'c.pth'
    torch.save({'model': _official(sd)}, path)
    t = _teacher(path, final_norm=True)
    t.init_weights()
    assert torch.equal(t.ln1.weight, sd['ln1.weight'])
    t0 = _teacher(path, depth=0)
    t0.init_weights()
    assert torch.equal(t0.patch_embed.projection.weight,
                       sd['patch_embed.projection.weight'])


def test_missing_file_and_truncated_file(tmp_path):
    with pytest.raises(FileNotFoundError, match='nope.pth'):
        _teacher(tmp_path / 'nope.pth').init_weights()
    sd = _student_sd()
    path = tmp_path / 'trunc.pth'
    torch.save({'model': _official(sd)}, path)
    data = path.read_bytes()
    path.write_bytes(data[:len(data) // 2])
    with pytest.raises(RuntimeError, match='trunc.pth'):
        _teacher(path).init_weights()


def test_missing_block_is_rejected_with_keys(tmp_path):
    sd = _official(_student_sd())
    sd = {k: v for k, v in sd.items() if not k.startswith('blocks.1.mlp')}
    path = tmp_path / 'partial.pth'
    torch.save({'model': sd}, path)
    with pytest.raises(KeyError) as e:
        _teacher(path).init_weights()
    msg = str(e.value)
    assert 'partial.pth' in msg and 'layers.1.ffn.layers.0.0.weight' in msg


def test_wrong_architecture_is_rejected(tmp_path):
    wide = dict(embed_dims=48, num_layers=2, num_heads=2,
                feedforward_channels=96)
    s = MKDViT(arch=wide, img_size=32, patch_size=8)
    path = tmp_path / 'wide.pth'
    torch.save({'state_dict': {'backbone.' + k: v
                               for k, v in s.state_dict().items()}}, path)
    with pytest.raises(ValueError, match='wrong shape'):
        _teacher(path).init_weights()
    deep = dict(TINY_ARCH, num_layers=3)
    s = MKDViT(arch=deep, img_size=32, patch_size=8)
    torch.save({'model': _official(s.state_dict())}, path)
    with pytest.raises(ValueError, match='3 blocks.*architecture has 2'):
        _teacher(path).init_weights()
    torch.save({'model': {'head.weight': torch.zeros(2, 2)}}, path)
    with pytest.raises(KeyError, match='no ViT encoder weights'):
        _teacher(path).init_weights()


class _Evil:

    def __reduce__(self):
        import os
        return (os.system, ('echo pwned > /dev/null', ))


def test_code_executing_pickle_is_refused(tmp_path):
    path = tmp_path / 'evil.pth'
    with open(path, 'wb') as f:
        torch.save({'model': {}, 'x': _Evil()}, f)
    with pytest.raises(UnsafeCheckpointError,
                       match='evil.pth.*allow_unsafe=True'):
        load_checkpoint_file(str(path))
    # the error also surfaces through a teacher config
    with pytest.raises(UnsafeCheckpointError):
        _teacher(path).init_weights()


def test_mmengine_checkpoints_load_with_weights_only(tmp_path):
    """mmengine's own loader (resume, load_from) goes through our safe one."""
    from mmengine.logging import HistoryBuffer
    from mmengine.runner.checkpoint import _load_checkpoint
    buf = HistoryBuffer()
    buf.update(1.0)
    path = tmp_path / 'run.pth'
    torch.save({'meta': {'seed': np.int64(0)}, 'message_hub':
                {'log_scalars': {'train/loss': buf}}}, path)
    ckpt = _load_checkpoint(str(path))
    assert ckpt['message_hub']['log_scalars']['train/loss'].current() == 1.0
    with open(tmp_path / 'evil2.pth', 'wb') as f:
        pickle.dump(_Evil(), f)
    with pytest.raises(UnsafeCheckpointError):
        _load_checkpoint(str(tmp_path / 'evil2.pth'))


def test_train_tool_flag_enables_the_explicit_opt_in(tmp_path):
    import importlib.util
    import os.path as osp
    from mkd_mm.utils import checkpoint_io
    root = osp.dirname(osp.dirname(osp.dirname(osp.dirname(
        osp.abspath(__file__)))))
    spec = importlib.util.spec_from_file_location(
        'train_tool', osp.join(root, 'tools', 'train.py'))
    train = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(train)
    args = train.build_parser().parse_args(
        ['cfg.py', '--allow-unsafe-checkpoint'])
    path = tmp_path / 'ns.pth'
    with open(path, 'wb') as f:
        torch.save({'x': _Evil.__new__(_Evil).__class__}, f)
    from mmengine.runner.checkpoint import _load_checkpoint
    with pytest.raises(UnsafeCheckpointError):
        _load_checkpoint(str(path))
    try:
        train.apply_checkpoint_policy(args)
        assert checkpoint_io.ALLOW_UNSAFE_CHECKPOINTS
        assert _load_checkpoint(str(path))['x'] is _Evil
    finally:
        checkpoint_io.ALLOW_UNSAFE_CHECKPOINTS = False
