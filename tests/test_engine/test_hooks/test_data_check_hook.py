# Copyright (c) mkd_mm contributors. All rights reserved.
"""Start-up data checks (config paths, the first samples through the
pipeline) and the skipped-sample count in the training log."""
import random
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmpretrain.registry import TRANSFORMS
from PIL import Image

import mkd_mm  # noqa: F401
from mkd_mm.datasets.data_checks import (DataCheckError, check_dataset_cfg,
                                         check_train_data_cfg)
from mkd_mm.engine.hooks.data_check_hook import DataCheckHook, min_input_size

REPO = Path(__file__).resolve().parents[3]
KEY = 'train_dataloader.dataset'


def _png(path: Path, h: int, w: int, seed: int = 0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.RandomState(seed)
    Image.fromarray(rng.randint(0, 256,
                                (h, w, 3)).astype(np.uint8)).save(str(path))
    return path


@pytest.fixture
def layout(tmp_path):
    """An ImageNet-like layout: root/train/a/*.png and root/meta/train.txt."""
    root = tmp_path / 'root'
    for i in range(4):
        _png(root / 'train' / 'a' / f'{i}.png', 40, 48, seed=i)
    (root / 'meta').mkdir()
    (root / 'meta' / 'train.txt').write_text(''.join(f'a/{i}.png 0\n'
                                                     for i in range(4)))
    return root


def _ds(root: Path, **kwargs) -> dict:
    cfg = dict(
        type='ImageNet',
        data_root=str(root),
        ann_file='meta/train.txt',
        data_prefix='train')
    cfg.update(kwargs)
    return cfg


# ------------------------------------------------ config checks (static)
def test_valid_layout_passes_and_counts_samples(layout):
    assert check_dataset_cfg(_ds(layout), KEY) == 4
    assert check_dataset_cfg(_ds(layout, ann_file=''), KEY) is None
    wrapped = dict(type='RepeatDataset', times=2, dataset=_ds(layout))
    assert check_dataset_cfg(wrapped, KEY) is None
    check_train_data_cfg(
        dict(
            train_dataloader=dict(
                batch_size=4, drop_last=True, dataset=_ds(layout))))


def test_demo_pretrain_config_passes(demo_data):
    cfg = Config.fromfile(
        str(REPO / 'configs/demo/mae_demo.py'), import_custom_modules=False)
    cfg.train_dataloader.dataset.data_root = f'{demo_data}/imagenet/'
    check_train_data_cfg(cfg)


BAD_DATA_CASES = [
    ('missing_root', "train_dataloader.dataset.data_root='{root}/nope': the "
     'data root does not exist'),
    ('missing_ann', "train_dataloader.dataset.ann_file='meta/val.txt': "
     "annotation file '{root}/meta/val.txt' not found"),
    ('empty_ann', "train_dataloader.dataset.ann_file='meta/train.txt': "
     "annotation file '{root}/meta/train.txt' is empty"),
    ('missing_prefix', "train_dataloader.dataset.data_prefix='val': image "
     "folder '{root}/val' does not exist"),
    ('no_images', "train_dataloader.dataset.data_prefix='train': no image "
     "files (.jpg, .jpeg, .png, .ppm, .bmp, .pgm, .tif, .tiff, .webp) found "
     "under '{root}/train'"),
    ('wrapped_missing_ann', 'train_dataloader.dataset.dataset.ann_file='),
    ('too_few_for_a_batch', 'train_dataloader.dataset.ann_file lists 4 '
     'samples, fewer than train_dataloader.batch_size=8 with '
     'train_dataloader.drop_last=True'),
]


@pytest.mark.parametrize(
    'case, message', BAD_DATA_CASES, ids=[c[0] for c in BAD_DATA_CASES])
def test_bad_data_config_is_reported(layout, case, message):
    batch_size, ds = 4, _ds(layout)
    if case == 'missing_root':
        ds['data_root'] = str(layout / 'nope')
    elif case == 'missing_ann':
        ds['ann_file'] = 'meta/val.txt'
    elif case == 'empty_ann':
        (layout / 'meta' / 'train.txt').write_text('\n\n')
    elif case == 'missing_prefix':
        ds['data_prefix'] = 'val'
    elif case == 'no_images':
        ds['ann_file'] = ''
        for f in (layout / 'train' / 'a').iterdir():
            f.unlink()
    elif case == 'wrapped_missing_ann':
        ds['ann_file'] = 'meta/val.txt'
        ds = dict(type='RepeatDataset', times=2, dataset=ds)
    elif case == 'too_few_for_a_batch':
        batch_size = 8
    cfg = dict(
        train_dataloader=dict(
            batch_size=batch_size, drop_last=True, dataset=ds))
    with pytest.raises(DataCheckError) as e:
        check_train_data_cfg(cfg)
    assert message.format(root=layout) in str(e.value)


# ----------------------------------------- which crops need a larger image
@pytest.mark.parametrize(
    'cfg, need',
    [
        (dict(type='RandomResizedCrop', scale=32), None),
        (dict(type='RandomCrop', crop_size=(32, 24)), (32, 24)),
        (dict(type='RandomCrop', crop_size=32, padding=4), None),
        (dict(type='RandomCrop', crop_size=32, pad_if_needed=True), None),
        (dict(type='CenterCrop', crop_size=(24, 32)), (32, 24)),  # (w, h)
        (dict(type='CenterCrop', crop_size=32, auto_pad=True), None),
        (dict(type='PackInputs'), None),
    ])
def test_min_input_size(cfg, need):
    assert min_input_size(TRANSFORMS.build(cfg)) == need


# ----------------------------------- built dataset, first samples (hook)
def _built(root: Path, crop: dict, **kwargs):
    from mmpretrain.datasets import ImageNet
    return ImageNet(
        data_root=str(root),
        ann_file='meta/train.txt',
        data_prefix='train',
        pipeline=[
            dict(type='StrictLoadImageFromFile'), crop,
            dict(type='PackInputs')
        ],
        **kwargs)


@pytest.mark.parametrize(
    'crop, shape', [
        (dict(type='RandomResizedCrop', scale=64), (3, 64, 64)),
        (dict(type='RandomCrop', crop_size=64, pad_if_needed=True),
         (3, 64, 64)),
        (dict(type='CenterCrop', crop_size=64, auto_pad=True), (3, 64, 64)),
        (dict(type='RandomCrop', crop_size=32), (3, 32, 32)),
        (dict(type='CenterCrop', crop_size=(48, 40)), (3, 40, 48)),
    ],
    ids=[
        'RandomResizedCrop', 'RandomCrop-pad_if_needed', 'CenterCrop-auto_pad',
        'RandomCrop-smaller', 'CenterCrop-smaller'
    ])
def test_legal_crops_pass(layout, crop, shape):
    dataset = _built(layout, crop)
    DataCheckHook(num_samples=4).check_dataset(dataset, KEY)
    DataCheckHook(input_size=shape[1:]).check_dataset(dataset, KEY)
    with pytest.raises(DataCheckError, match='DataCheckHook.input_size'):
        DataCheckHook(input_size=(16, 16)).check_dataset(dataset, KEY)


@pytest.mark.parametrize(
    'crop', [
        dict(type='RandomCrop', crop_size=64),
        dict(type='CenterCrop', crop_size=64),
    ],
    ids=['RandomCrop', 'CenterCrop'])
def test_image_smaller_than_the_crop_is_reported(layout, crop):
    with pytest.raises(DataCheckError) as e:
        DataCheckHook().check_dataset(_built(layout, crop), KEY)
    msg = str(e.value)
    assert f"{KEY}.pipeline.1 ({crop['type']}, crop 64x64 (h x w), no " \
        'padding) needs images of at least that size' in msg
    assert f"image '{layout}/train/a/0.png' is 40x48" in msg


def test_different_shapes_and_empty_dataset(layout, tmp_path):
    _png(layout / 'train' / 'a' / '1.png', 30, 30)
    dataset = _built(layout, dict(type='RandomFlip', prob=0.5))
    with pytest.raises(
            DataCheckError,
            match=r'different shapes.*'
            r'\(3, 40, 48\).*\(3, 30, 30\)'):
        DataCheckHook().check_dataset(dataset, KEY)
    empty = _built(
        layout,
        dict(type='RandomFlip', prob=0.5),
        indices=0,
        serialize_data=False)
    with pytest.raises(
            DataCheckError, match=f'{KEY} is empty: no samples were found'):
        DataCheckHook().check_dataset(empty, KEY)


def test_corrupt_first_image_names_the_file(layout):
    path = layout / 'train' / 'a' / '0.png'
    path.write_bytes(path.read_bytes()[:100])
    dataset = _built(layout, dict(type='RandomResizedCrop', scale=32))
    with pytest.raises(ValueError, match=r"a/0\.png' is truncated"):
        DataCheckHook().check_dataset(dataset, KEY)


def test_bad_hook_arguments():
    with pytest.raises(ValueError, match='num_samples'):
        DataCheckHook(num_samples=-1)
    with pytest.raises(ValueError, match='input_size'):
        DataCheckHook(input_size=(1, 2, 3))


# ------------------------------------------- in a Runner (tiny dBOT, CPU)
def _runner_cfg(work_dir: Path, root: Path, num_workers: int) -> dict:
    from mkd_mm.testing import tiny_pretrain_runner_cfg
    cfg = tiny_pretrain_runner_cfg(
        str(work_dir), max_epochs=1, stage_ends=[1], warmup=0)
    cfg['train_dataloader'] = dict(
        dataset=dict(
            type='ImageNet',
            data_root=str(root),
            ann_file='meta/train.txt',
            data_prefix='train',
            pipeline=[
                dict(type='StrictLoadImageFromFile', skip_corrupt=True),
                dict(type='RandomResizedCrop', scale=32),
                dict(type='PackInputs')
            ]),
        sampler=dict(type='DefaultSampler', shuffle=False),
        collate_fn=dict(type='default_collate'),
        batch_size=4,
        num_workers=num_workers)
    cfg['custom_hooks'] = [dict(type='DataCheckHook')] + cfg['custom_hooks']
    cfg['log_level'] = 'INFO'
    return cfg


def test_runner_logs_skipped_samples_and_keeps_rng(layout, tmp_path):
    from mmengine.runner import Runner
    path = layout / 'train' / 'a' / '3.png'
    path.write_bytes(path.read_bytes()[:200])
    cfg = _runner_cfg(tmp_path / 'work', layout, num_workers=1)
    runner = Runner(**cfg)
    np.random.seed(5)
    random.seed(5)
    torch.manual_seed(5)
    expected = (np.random.rand(), random.random(), torch.rand(1))
    np.random.seed(5)
    random.seed(5)
    torch.manual_seed(5)
    hook = [h for h in runner.hooks if isinstance(h, DataCheckHook)][0]
    runner.train_loop  # build the loop as Runner.train does
    hook.before_run(runner)
    assert (np.random.rand(), random.random()) == expected[:2]
    assert torch.equal(torch.rand(1), expected[2])
    runner.train()
    log = (Path(runner.log_dir) / f'{runner.timestamp}.log').read_text()
    assert f"image file '{path}' is truncated" in log
    assert 'sample(s) skipped so far' in log
    assert re.search(r'skipped_samples: [1-9]', log), log[-2000:]
    assert 'corrupt sample(s) skipped so far (all ranks)' in log


@pytest.mark.parametrize(
    'middle, crop, need',
    [
        ([dict(type='RandomFlip', prob=0.5)
          ], dict(type='RandomCrop', crop_size=32), (32, 32)),
        ([], dict(type='CenterCrop', crop_size=(24, 32)), (32, 24)),
        ([dict(type='ResizeEdge', scale=64)
          ], dict(type='RandomCrop', crop_size=32), None),  # resized before
        ([], dict(type='RandomResizedCrop', scale=32), None),
    ],
    ids=['flip-then-crop', 'crop', 'resize-then-crop', 'resized-crop'])
def test_set_loader_min_size(middle, crop, need):
    cfgs = [dict(type='StrictLoadImageFromFile'), *middle, crop]
    transforms = [TRANSFORMS.build(c) for c in cfgs]
    from mkd_mm.engine.hooks.data_check_hook import set_loader_min_size
    set_loader_min_size(transforms, KEY)
    assert transforms[0].min_size == need
    if need is not None:
        assert transforms[0].min_size_reason == (
            f"{KEY}.pipeline.{len(cfgs) - 1} ({crop['type']}, no padding)")


def test_small_image_later_in_the_data_set_names_the_file(layout, tmp_path):
    """The start-up check sees the first samples; the loader then rejects
    any later image smaller than the crop."""
    from mmengine.runner import Runner
    small = _png(layout / 'train' / 'a' / '3.png', 20, 20)
    cfg = _runner_cfg(tmp_path / 'work', layout, num_workers=0)
    pipeline = cfg['train_dataloader']['dataset']['pipeline']
    pipeline[0]['skip_corrupt'] = False
    pipeline[1] = dict(type='RandomCrop', crop_size=32)
    runner = Runner(**cfg)
    runner.train_loop
    hook = [h for h in runner.hooks if isinstance(h, DataCheckHook)][0]
    hook.before_run(runner)  # samples 0 and 1 are 40x48: fine
    with pytest.raises(ValueError) as e:
        runner.train_dataloader.dataset[3]
    assert (f"image file '{small}' is 20x20 (h x w), smaller than the 32x32 "
            f'that {KEY}.pipeline.1 (RandomCrop, no padding) needs') in str(
                e.value)
