# Copyright (c) mkd_mm contributors. All rights reserved.
"""Transfer as the docs tell users to run it, as subprocesses.

For ImageNet fine-tuning, linear probing, Cascade Mask R-CNN and UperNet:
``tools/train.py`` trains the shrunk real config from a pre-trained
backbone file and writes a checkpoint; ``tools/test.py`` evaluates it with
the config's real metric (``Accuracy``, ``CocoMetric``, ``IoUMetric``);
``tools/dist_train.sh CONFIG 2`` and ``tools/dist_test.sh CONFIG CKPT 2``
do the same with two gloo processes. The fine-tuning backbone comes from a
real (shrunk) dBOT pre-training run through ``tools/train.py``.
"""
import pytest
from user_paths import fail_message, metric, prepare, run

FINETUNE = 'configs/benchmarks/classification/' \
    'dbot_vit-base-p16_32xb32-coslr-100e_in1k.py'
LINEAR = 'configs/benchmarks/classification/' \
    'dbot_vit-base-p16_8xb2048-linear-coslr-90e_in1k.py'
DET = 'configs/benchmarks/mmdetection/cascade-mask-rcnn_vit-base-p16_fpn_' \
    '4conv1fc-giou_8xb2-amp-ms-crop-1x_coco.py'
SEG = 'configs/benchmarks/mmsegmentation/' \
    'upernet_vit-base-p16_8xb2-amp-160k_ade20k-512x512.py'


def _name(config: str) -> str:
    return config.rsplit('/', 1)[-1][:-3]


@pytest.fixture(scope='module')
def pretrained(tmp_path_factory, demo_data):
    """A dBOT ViT-B checkpoint from ``tools/train.py`` (shrunk stage 1)."""
    root = tmp_path_factory.mktemp('pretrain_for_transfer')
    cfg = prepare('configs/dbot/vitb_stage1.py', root / 'cfg', demo_data)
    proc = run(['tools/train.py', cfg], cwd=root)
    assert proc.returncode == 0, fail_message(proc)
    return root / 'work_dirs' / 'vitb_stage1' / 'epoch_1.pth'


@pytest.fixture(scope='module')
def trained(tmp_path_factory, demo_data, pretrained):
    """Each transfer config trained by ``tools/train.py`` (one process)."""
    root = tmp_path_factory.mktemp('transfer')
    out = {}
    for config in (FINETUNE, LINEAR, DET, SEG):
        ckpts = {'backbone': str(pretrained)} if 'classification' in config \
            else {}
        cfg = prepare(config, root / 'cfg', demo_data, checkpoints=ckpts)
        proc = run(['tools/train.py', cfg], cwd=root)
        out[config] = (cfg, proc)
    return root, out


def _checkpoint(root, config):
    work = root / 'work_dirs' / _name(config)
    found = sorted(work.glob('*.pth'))
    assert found, sorted(work.iterdir()) if work.exists() else 'no work dir'
    return found[-1]


@pytest.mark.parametrize('config, name, low, high', [
    (FINETUNE, 'accuracy/top1', 0, 100),
    (LINEAR, 'accuracy/top1', 0, 100),
    (DET, 'coco/bbox_mAP', 0, 1),
    (SEG, 'mIoU', 0, 100),
])
def test_train_then_test(trained, config, name, low, high):
    root, out = trained
    cfg, proc = out[config]
    assert proc.returncode == 0, fail_message(proc)
    text = proc.stdout + proc.stderr
    assert 'Total batch 2 = 1 processes x 2 per process' in text
    ckpt = _checkpoint(root, config)
    test = run(['tools/test.py', cfg, ckpt], cwd=root)
    assert test.returncode == 0, fail_message(test)
    value = metric(test.stdout + test.stderr, name)
    assert low <= value <= high


def test_finetune_loads_the_pretrained_backbone(trained):
    _, out = trained
    _, proc = out[FINETUNE]
    assert proc.returncode == 0, fail_message(proc)
    assert 'vitb_stage1/epoch_1.pth' in proc.stdout + proc.stderr


@pytest.mark.parametrize('config, name', [
    (FINETUNE, 'accuracy/top1'),
    (DET, 'coco/bbox_mAP'),
    (SEG, 'mIoU'),
])
def test_dist_test_two_processes(trained, config, name, free_port):
    root, out = trained
    cfg, proc = out[config]
    assert proc.returncode == 0, fail_message(proc)
    test = run(['tools/dist_test.sh', cfg,
                _checkpoint(root, config), '2'],
               cwd=root,
               python=False,
               env={'PORT': str(free_port)})
    assert test.returncode == 0, fail_message(test)
    metric(test.stdout + test.stderr, name)


@pytest.mark.parametrize('config', [FINETUNE, DET, SEG])
def test_dist_train_two_processes(tmp_path, demo_data, config, free_port):
    cfg = prepare(config, tmp_path / 'cfg', demo_data)
    proc = run(['tools/dist_train.sh', cfg, '2'],
               cwd=tmp_path,
               python=False,
               env={'PORT': str(free_port)})
    assert proc.returncode == 0, fail_message(proc)
    text = proc.stdout + proc.stderr
    assert 'Total batch 4 = 2 processes x 2 per process' in text
    assert list((tmp_path / 'work_dirs' / _name(config)).glob('*.pth'))


@pytest.mark.parametrize('config', [FINETUNE, DET, SEG])
def test_show_dir_writes_pictures(trained, tmp_path, config):
    root, out = trained
    cfg, proc = out[config]
    assert proc.returncode == 0, fail_message(proc)
    show = tmp_path / 'show'
    test = run(['tools/test.py', cfg,
                _checkpoint(root, config), '--show-dir',
                str(show)],
               cwd=root)
    assert test.returncode == 0, fail_message(test)
    pictures = list(show.rglob('*.png')) + list(show.rglob('*.jpg'))
    assert pictures, 'no visualisation written under --show-dir'


def test_tta_classification_and_segmentation(trained):
    root, out = trained
    for config, name in ((FINETUNE, 'accuracy/top1'), (SEG, 'mIoU')):
        cfg, proc = out[config]
        assert proc.returncode == 0, fail_message(proc)
        test = run(['tools/test.py', cfg,
                    _checkpoint(root, config), '--tta'],
                   cwd=root)
        assert test.returncode == 0, fail_message(test)
        metric(test.stdout + test.stderr, name)


def test_tta_detection_with_masks_is_refused(trained):
    root, out = trained
    cfg, proc = out[DET]
    assert proc.returncode == 0, fail_message(proc)
    test = run(['tools/test.py', cfg, _checkpoint(root, DET), '--tta'],
               cwd=root)
    assert test.returncode == 2
    assert "DetTTAModel merges boxes only" in test.stderr
