# Copyright (c) mkd_mm contributors. All rights reserved.
"""OpenMMLab command-line idioms through the real ``tools/train.py``.

- a user config inheriting ours by scope, ``_base_ = 'mkd_mm::...'``;
- ``--cfg-options`` that create a nested dict under an existing key (a
  teacher without ``init_cfg`` gets one), logged once; typos and
  ``dict(...)`` values refused before anything is written;
- a stacking collate function on a detection config refused at start.
"""
import pytest
import torch
from user_paths import REPO, fail_message, prepare, run

DEMO = 'configs/demo/dbot_demo.py'


def test_user_config_inherits_by_scope(tmp_path, demo_data):
    user = tmp_path / 'my_dbot.py'
    user.write_text(
        "_base_ = 'mkd_mm::demo/dbot_demo.py'\n"
        f"train_dataloader = dict(num_workers=0, dataset=dict(indices=4, "
        f"data_root={str(demo_data / 'imagenet')!r}))\n"
        "train_cfg = dict(max_epochs=1)\n"
        "param_scheduler = [dict(type='StagedWarmupCosineLR', "
        "stage_ends=[1], warmup=0.5, eta_min=0.0, by_epoch=True, "
        "convert_to_iter_based=True)]\n"
        "custom_hooks = [dict(type='BootstrapTeacherHook', stage_ends=[1])]\n"
        "train_dataloader.update(batch_size=2)\n"
        "auto_scale_lr = dict(base_batch_size=2)\n")
    proc = run(['tools/train.py', user], cwd=tmp_path)
    assert proc.returncode == 0, fail_message(proc)
    assert (tmp_path / 'work_dirs' / 'my_dbot' / 'epoch_1.pth').is_file()


@pytest.fixture
def stage1(tmp_path, demo_data):
    return prepare('configs/dbot/vitb_stage1.py', tmp_path / 'cfg',
                   demo_data)


def test_cfg_options_create_teacher_init_cfg(tmp_path, stage1):
    """The teacher of stage 1 has no ``init_cfg``: create one by keys."""
    ckpt = tmp_path / 'cfg' / 'teacher.pth'
    import mkd_mm  # noqa: F401
    from mkd_mm.models.backbones import MKDViT
    from mmengine.config import Config
    teacher = Config.fromfile(str(stage1)).model.teacher
    torch.manual_seed(3)
    encoder = MKDViT(
        arch=dict(teacher.arch),
        img_size=teacher.img_size,
        patch_size=teacher.patch_size)
    encoder.init_weights()
    torch.save(
        dict(state_dict={
            f'backbone.{k}': v
            for k, v in encoder.state_dict().items()
        }), str(ckpt))
    proc = run([
        'tools/train.py', stage1, '--cfg-options',
        'model.teacher.init_cfg.type=Pretrained',
        f'model.teacher.init_cfg.checkpoint={ckpt}'
    ],
               cwd=tmp_path)
    assert proc.returncode == 0, fail_message(proc)
    text = proc.stdout + proc.stderr
    assert text.count('creating keys that the config does not have: '
                      'model.teacher.init_cfg.type, '
                      'model.teacher.init_cfg.checkpoint') == 1
    assert 'Teacher loaded' in text
    state = torch.load(
        str(tmp_path / 'work_dirs' / 'vitb_stage1' / 'epoch_1.pth'),
        map_location='cpu',
        weights_only=False)['state_dict']
    # the loaded teacher, not a copy of the student
    assert torch.equal(state['teacher.layers.0.attn.qkv.weight'],
                       encoder.state_dict()['layers.0.attn.qkv.weight'])


@pytest.mark.parametrize('option, message', [
    ('train_cfg.max_epoch=1',
     "'train_cfg.max_epoch' does not exist in the config (did you mean "
     "'max_epochs'?)"),
    ('model.backbnoe.arch=l', "(did you mean 'backbone'?)"),
    ('modle.backbone.arch=l', "(did you mean 'model'?)"),
    ('model.teacher.init_cfg=dict(type=Pretrained,checkpoint=x.pth)',
     'mmengine cannot parse a dict(...) value'),
])
def test_cfg_options_refused(tmp_path, stage1, option, message):
    proc = run(['tools/train.py', stage1, '--cfg-options', option],
               cwd=tmp_path)
    assert proc.returncode == 2, fail_message(proc)
    assert message in proc.stderr
    assert not (tmp_path / 'work_dirs').exists()


def test_stacking_collate_refused_for_detection(tmp_path, demo_data):
    det = prepare(
        'configs/benchmarks/mmdetection/cascade-mask-rcnn_vit-base-p16_fpn_'
        '4conv1fc-giou_8xb2-amp-ms-crop-1x_coco.py', tmp_path / 'cfg',
        demo_data)
    proc = run([
        'tools/train.py', det, '--cfg-options',
        'train_dataloader.collate_fn.type=default_collate'
    ],
               cwd=tmp_path)
    assert proc.returncode == 2, fail_message(proc)
    assert '`train_dataloader.collate_fn` is \'default_collate\'' \
        in proc.stderr
    assert 'pseudo_collate' in proc.stderr
    assert not (tmp_path / 'work_dirs').exists()


def test_dist_train_finds_the_project_python(tmp_path):
    """``tools/dist_train.sh`` with a PATH whose ``python`` has no torch."""
    fake = tmp_path / 'bin'
    fake.mkdir()
    (fake / 'python').write_text('#!/bin/sh\necho "not this python" >&2\n'
                                 'exit 7\n')
    (fake / 'python').chmod(0o755)
    if not (REPO / '.venv' / 'bin' / 'python').exists():
        pytest.skip('needs the project environment (.venv)')
    import os
    proc = run(['tools/dist_train.sh', 'configs/no_such.py', '1'],
               cwd=tmp_path,
               python=False,
               env={'PATH': f'{fake}:{os.environ["PATH"]}'})
    # the venv's python ran train.py, which names the missing config
    assert 'not this python' not in proc.stderr
    assert 'config file not found' in proc.stdout + proc.stderr


def test_mim_entry_point_inherits_by_scope(tmp_path, demo_data):
    """``mim train mkd_mm CONFIG`` runs the package's ``.mim/tools/train.py``
    (set up by ``setup.py``); run that file directly."""
    mim_train = REPO / 'mkd_mm' / '.mim' / 'tools' / 'train.py'
    if not mim_train.is_file():
        pytest.skip('mkd_mm is not installed with its .mim folder')
    user = tmp_path / 'my_mae.py'
    user.write_text(
        "_base_ = 'mkd_mm::demo/mae_demo.py'\n"
        "train_dataloader = dict(batch_size=2, num_workers=0, dataset=dict("
        f"indices=4, data_root={str(demo_data / 'imagenet')!r}))\n"
        "train_cfg = dict(max_epochs=1)\n")
    proc = run([str(mim_train), user], cwd=tmp_path)
    assert proc.returncode == 0, fail_message(proc)
    assert (tmp_path / 'work_dirs' / 'my_mae' / 'epoch_1.pth').is_file()


@pytest.mark.parametrize('library, config', [
    ('mmdet', 'configs/benchmarks/mmdetection/cascade-mask-rcnn_vit-base-'
     'p16_fpn_4conv1fc-giou_8xb2-amp-ms-crop-1x_coco.py'),
    ('mmseg', 'configs/benchmarks/mmsegmentation/upernet_vit-base-p16_8xb2-'
     'amp-160k_ade20k-512x512.py'),
])
def test_library_train_tool_runs_our_config(tmp_path, demo_data, library,
                                            config):
    """mmdet's / mmseg's own ``tools/train.py`` (what ``mim train mmdet``
    runs) on our config, inherited by path with its ``custom_imports``."""
    import importlib.util
    tool = importlib.util.find_spec(library).submodule_search_locations[0]
    tool = f'{tool}/.mim/tools/train.py'
    cfg = prepare(config, tmp_path / 'cfg', demo_data)
    proc = run([tool, cfg, '--work-dir', tmp_path / 'work'], cwd=tmp_path)
    assert proc.returncode == 0, fail_message(proc)
    assert list((tmp_path / 'work').glob('*.pth'))
    assert 'Total batch 2 = 1 processes x 2 per process' in proc.stdout + \
        proc.stderr
