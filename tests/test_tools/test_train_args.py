# Copyright (c) mkd_mm contributors. All rights reserved.
"""In-process tests of the argument handling of ``tools/train.py`` and
``tools/test.py`` (no model is built here)."""
import copy
import importlib.util
import sys
from pathlib import Path

import pytest
from mmengine.config import Config

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / 'tools'))
import train as train_tool  # noqa: E402

MAE_DEMO = str(REPO / 'configs' / 'demo' / 'mae_demo.py')


@pytest.fixture
def cfg() -> Config:
    return Config.fromfile(MAE_DEMO, import_custom_modules=False)


def _args(*argv):
    return train_tool.parse_args([MAE_DEMO, *argv])


@pytest.mark.parametrize(
    'key',
    [
        'train_cfg.max_epochs',
        'default_hooks.logger.interval',
        'model.backbone.arch.embed_dims',
        'model.backbone.init_cfg',  # new last part under an existing dict
        'train_dataloader.dataset.pipeline.1.scale',  # list index
        'train_dataloader.dataset.pipeline.3',
        'optim_wrapper.optimizer.lr',
        'find_unused_parameters',  # a Runner key configs usually omit
        'work_dir',
    ])
def test_cfg_options_accepted(cfg, key):
    train_tool.check_cfg_options(cfg, {key: 1})


@pytest.mark.parametrize('key', [
    'model.teacher.init_cfg.type',  # a new dict under an existing one
    'model.backbone.init_cfg.checkpoint',
    'sync_bn.type',  # under a Runner key configs usually omit
    'model_wrapper_cfg.find_unused_parameters',
    'model.backbone.drop_path_rate',  # near 'drop_rate' but not a typo
])
def test_cfg_options_create_nested_keys(cfg, key):
    cfg.model.setdefault('teacher', dict(type='TeacherViT'))
    created = train_tool.check_cfg_options(cfg, {key: 1})
    assert key in created or key == 'model_wrapper_cfg.find_unused_parameters'
    merged = copy.deepcopy(cfg)
    merged.merge_from_dict({key: 1})  # what mmengine then does with it
    node = merged
    for part in key.split('.'):
        node = node[part]
    assert node == 1


def test_created_keys_are_logged_once(cfg, capsys):
    cfg.model.setdefault('teacher', dict(type='TeacherViT'))
    created = train_tool.check_cfg_options(
        cfg, {
            'model.teacher.init_cfg.type': 'Pretrained',
            'model.teacher.init_cfg.checkpoint': 'x.pth',
            'train_cfg.max_epochs': 1
        })
    train_tool.log_created_keys(created)
    out = capsys.readouterr().out
    assert out.count('creating keys') == 1
    assert 'model.teacher.init_cfg.type, model.teacher.init_cfg.checkpoint' \
        in out and 'max_epochs' not in out


@pytest.mark.parametrize('key, message', [
    ('train_cfgs', "there is no top-level key 'train_cfgs'"),
    ('modle.backbone.arch',
     "'modle' does not exist in the config (did you mean 'model'?)"),
    ('model.backbonee.arch',
     "'model.backbonee' does not exist in the config (did you mean "
     "'backbone'?)"),
    ('train_cfg.max_epoch',
     "'train_cfg.max_epoch' does not exist in the config (did you mean "
     "'max_epochs'?)"),
    ('train_dataloader.dataset.pipeline.9.scale',
     "is a list of 4 items, so '9' must be an index in 0..3"),
    ('train_dataloader.dataset.pipeline.x', "so 'x' must be an index"),
    ('log_level.verbose', "'log_level' is a str ('INFO'), not a dict"),
    ('model.neck.patch_size.x', "'model.neck.patch_size' is a int"),
    ('model..type', 'is malformed'),
])
def test_cfg_options_rejected(cfg, key, message):
    with pytest.raises(train_tool.ConfigOptionError) as e:
        train_tool.check_cfg_options(cfg, {key: 1})
    assert repr(key) in str(e.value)
    assert message in str(e.value)


def test_resume_flags(cfg):
    out = train_tool.merge_args(copy.deepcopy(cfg), _args('--resume'))
    assert out.resume is True and out.load_from is None
    out = train_tool.merge_args(copy.deepcopy(cfg), _args('--resume', 'auto'))
    assert out.resume is True and out.load_from is None
    out = train_tool.merge_args(
        copy.deepcopy(cfg), _args('--resume', 'a/b.pth'))
    assert out.resume is True and out.load_from == 'a/b.pth'
    out = train_tool.merge_args(copy.deepcopy(cfg), _args())
    assert out.resume is False and out.load_from is None


def test_work_dir_priority(cfg):
    out = train_tool.merge_args(copy.deepcopy(cfg), _args('--work-dir', 'w/x'))
    assert out.work_dir == 'w/x'
    out = train_tool.merge_args(copy.deepcopy(cfg), _args())
    assert out.work_dir == './work_dirs/mae_demo'


def test_enable_amp(cfg):
    train_tool.enable_amp(cfg)
    assert cfg.optim_wrapper.type == 'AmpOptimWrapper'
    assert cfg.optim_wrapper.loss_scale == 'dynamic'
    assert cfg.optim_wrapper.optimizer.type == 'AdamW'
    cfg.optim_wrapper.loss_scale = 512.
    train_tool.enable_amp(cfg)  # already AMP: kept, settings untouched
    assert cfg.optim_wrapper.loss_scale == 512.
    cfg.optim_wrapper.type = 'ApexOptimWrapper'
    with pytest.raises(train_tool.UsageError, match='ApexOptimWrapper'):
        train_tool.enable_amp(cfg)
    cfg.optim_wrapper = None
    with pytest.raises(train_tool.UsageError, match='optim_wrapper'):
        train_tool.enable_amp(cfg)


@pytest.mark.skipif(
    train_tool.amp_device_available(), reason='needs a machine without GPU')
def test_amp_rejected_without_gpu(cfg):
    with pytest.raises(train_tool.UsageError, match='CUDA/NPU/MLU/MUSA'):
        train_tool.merge_args(cfg, _args('--amp'))


def test_auto_scale_lr(cfg):
    out = train_tool.merge_args(copy.deepcopy(cfg), _args('--auto-scale-lr'))
    assert out.auto_scale_lr == dict(base_batch_size=32, enable=True)
    cfg.auto_scale_lr = None
    with pytest.raises(train_tool.UsageError, match='base_batch_size'):
        train_tool.merge_args(cfg, _args('--auto-scale-lr'))


def test_no_validate_and_dataloader_defaults(cfg):
    cfg.train_dataloader.num_workers = 0
    cfg.train_dataloader.persistent_workers = True
    out = train_tool.merge_args(cfg, _args('--no-validate'))
    assert out.val_cfg is None and out.val_dataloader is None
    # PyTorch rejects persistent workers without worker processes
    assert out.train_dataloader.persistent_workers is False
    import torch
    assert out.train_dataloader.pin_memory == torch.cuda.is_available()
    assert out.launcher == 'none'


def test_cfg_options_are_merged_last(cfg):
    out = train_tool.merge_args(
        cfg,
        _args('--cfg-options', 'train_cfg.max_epochs=3',
              'train_dataloader.batch_size=4'))
    assert out.train_cfg.max_epochs == 3
    assert out.train_dataloader.batch_size == 4


def test_cpu_distributed_setup_is_noop_without_launcher(cfg):
    before = cfg.pretty_text
    train_tool.setup_cpu_distributed(cfg, 'none')
    assert cfg.pretty_text == before


def test_test_tool_args(tmp_path):
    # tools/test.py (loaded by path: `import test` may find the stdlib one)
    spec = importlib.util.spec_from_file_location('mkd_mm_tools_test',
                                                  REPO / 'tools' / 'test.py')
    test_tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(test_tool)
    ckpt = tmp_path / 'x.pth'
    ckpt.write_bytes(b'')
    with pytest.raises(SystemExit):
        test_tool.parse_args([MAE_DEMO, str(ckpt), '--out-item', 'metrics'])
    args = test_tool.parse_args([MAE_DEMO, str(ckpt)])
    cfg = Config.fromfile(MAE_DEMO, import_custom_modules=False)
    # a pre-training config has no test loop
    with pytest.raises(train_tool.UsageError, match='test_dataloader'):
        test_tool.merge_args(cfg, args)


def test_dict_values_are_refused_before_dictaction():
    """``key=dict(...)`` makes mmengine's DictAction recurse forever."""
    with pytest.raises(SystemExit) as e:
        _args('--cfg-options', 'model.teacher.init_cfg=dict(type=Pretrained)')
    assert e.value.code == 2


def test_collate_defaults_follow_each_library(cfg):
    assert train_tool.dataloader_defaults(cfg) == dict(
        collate_fn=dict(type='default_collate'))
    for scope in ('mmdet', 'mmseg'):
        cfg.default_scope = scope
        assert train_tool.dataloader_defaults(cfg) == {}
        cfg.train_dataloader.collate_fn = dict(type='default_collate')
        with pytest.raises(
                train_tool.UsageError,
                match='train_dataloader.collate_fn.*pseudo_collate'):
            train_tool.check_collate_fns(cfg)
        cfg.train_dataloader.collate_fn = dict(type='pseudo_collate')
        train_tool.check_collate_fns(cfg)


def test_unset_init_checkpoint_is_refused(cfg):
    cfg.model.backbone.init_cfg = dict(type='Pretrained', checkpoint=None)
    with pytest.raises(train_tool.UsageError) as e:
        train_tool.check_init_checkpoints(cfg)
    assert '`model.backbone.init_cfg.checkpoint` is not set' in str(e.value)
    assert '--cfg-options model.backbone.init_cfg.checkpoint=PATH' in str(
        e.value)


def test_missing_init_checkpoint_is_refused(cfg, tmp_path):
    cfg.model.neck.init_cfg = dict(
        type='Pretrained', checkpoint=str(tmp_path / 'nope.pth'))
    with pytest.raises(train_tool.UsageError,
                       match=r'`model.neck.init_cfg.checkpoint` = .*nope.pth'
                       r"': no such file"):
        train_tool.check_init_checkpoints(cfg)
    (tmp_path / 'nope.pth').write_bytes(b'x')
    train_tool.check_init_checkpoints(cfg)
    cfg.model.neck.init_cfg.checkpoint = 'mmpretrain://some-model'
    train_tool.check_init_checkpoints(cfg)  # left to the model-zoo loader
