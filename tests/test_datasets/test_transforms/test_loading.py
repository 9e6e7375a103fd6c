# Copyright (c) mkd_mm contributors. All rights reserved.
"""``StrictLoadImageFromFile``: corrupt, truncated, empty and missing image
files are errors naming the file, or skipped and counted samples."""
import copy
import logging
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from mmcv.transforms import LoadImageFromFile
from mmengine.logging import MMLogger
from mmpretrain.registry import TRANSFORMS
from PIL import Image

import mkd_mm  # noqa: F401  (registers the transform)
from mkd_mm.datasets.transforms import (ImageLoadError, SharedCounter,
                                        StrictLoadImageFromFile,
                                        find_truncation)


def _image(seed: int = 0, size: int = 32) -> np.ndarray:
    rng = np.random.RandomState(seed)
    # smooth content so that JPEG has many bytes after the header
    base = rng.randint(0, 256, (4, 4, 3)).astype(np.uint8)
    return np.kron(base, np.ones((size // 4, size // 4, 1), np.uint8))


def _write(path: Path, fmt: str = 'PNG', seed: int = 0, size: int = 32):
    Image.fromarray(_image(seed, size)).save(str(path), format=fmt)
    return path


def _truncate(path: Path, keep: float = 0.6) -> Path:
    data = path.read_bytes()
    path.write_bytes(data[:int(len(data) * keep)])
    return path


@pytest.fixture
def files(tmp_path):
    good_png = _write(tmp_path / 'good.png')
    good_jpg = _write(tmp_path / 'good.jpg', 'JPEG')
    trunc_jpg = _truncate(_write(tmp_path / 'trunc.jpg', 'JPEG', size=64))
    trunc_png = _truncate(_write(tmp_path / 'trunc.png', size=64))
    empty = tmp_path / 'empty.jpg'
    empty.write_bytes(b'')
    garbage = tmp_path / 'garbage.jpg'
    garbage.write_bytes(b'this is not an image at all' * 10)
    return dict(
        good_png=good_png,
        good_jpg=good_jpg,
        trunc_jpg=trunc_jpg,
        trunc_png=trunc_png,
        empty=empty,
        garbage=garbage,
        missing=tmp_path / 'missing.jpg')


def test_registered_and_loads_like_mmcv(files):
    t = TRANSFORMS.build(dict(type='StrictLoadImageFromFile'))
    assert isinstance(t, StrictLoadImageFromFile)
    for key in ('good_png', 'good_jpg'):
        ours = t(dict(img_path=str(files[key])))
        ref = LoadImageFromFile()(dict(img_path=str(files[key])))
        assert ours['img'].shape == (32, 32, 3)
        assert ours['img_shape'] == ours['ori_shape'] == (32, 32)
        assert np.array_equal(ours['img'], ref['img'])
    # png is lossless: BGR of what was written
    png = t(dict(img_path=str(files['good_png'])))['img']
    assert np.array_equal(png[..., ::-1], _image())
    assert 'skip_corrupt=False' in repr(t)


def test_mmcv_loader_does_not_say_why(files):
    """Why the transform checks the bytes: depending on the OpenCV version,
    mmcv's loader decodes a truncated JPEG into a full-size image with grey
    rows (OpenCV 4) or fails with a bare assertion (OpenCV 5)."""
    path = str(files['trunc_jpg'])
    try:
        out = LoadImageFromFile()(dict(img_path=path))
    except AssertionError as e:
        assert str(e) == f'failed to load image: {path}'
    else:
        assert out['img'].shape == (64, 64, 3)


UNUSABLE = [
    ('trunc_jpg', 'is truncated: a JPEG file without its end-of-image'),
    ('trunc_png', 'is truncated: a PNG file without its IEND chunk'),
    ('empty', 'is empty (0 bytes)'),
    ('garbage', "could not be decoded by the 'cv2' backend"),
    ('missing', 'cannot be read (FileNotFoundError'),
]


@pytest.mark.parametrize('key, reason', UNUSABLE, ids=[u[0] for u in UNUSABLE])
def test_unusable_file_is_an_error_naming_it(files, key, reason):
    t = StrictLoadImageFromFile()
    with pytest.raises(ImageLoadError) as e:
        t(dict(img_path=str(files[key])))
    msg = str(e.value)
    assert f'image file {str(files[key])!r}' in msg
    assert reason in msg
    assert 'set skip_corrupt=True in StrictLoadImageFromFile' in msg


def test_pillow_backend_reports_truncation_itself(files):
    """With the byte check off, PIL still refuses the truncated JPEG."""
    t = StrictLoadImageFromFile(
        imdecode_backend='pillow', check_truncated=False)
    with pytest.raises(
            ImageLoadError,
            match=r"(?i)trunc\.jpg.*'pillow' backend.*truncated"):
        t(dict(img_path=str(files['trunc_jpg'])))
    assert t(dict(img_path=str(files['good_jpg'])))['img'].shape == (32, 32, 3)


def test_find_truncation_on_bytes(files):
    assert find_truncation(files['good_jpg'].read_bytes()) is None
    assert find_truncation(files['good_png'].read_bytes()) is None
    # padding after the end marker is legal
    assert find_truncation(files['good_jpg'].read_bytes() +
                           b'\0' * 100) is None
    assert 'JPEG' in find_truncation(files['trunc_jpg'].read_bytes())
    assert 'PNG' in find_truncation(files['trunc_png'].read_bytes())
    assert find_truncation(b'GIF89a...') is None  # left to the decoder


def test_skip_corrupt_returns_none_logs_and_counts(files):
    t = StrictLoadImageFromFile(skip_corrupt=True)
    logger = MMLogger.get_current_instance()
    messages = []
    handler = logging.Handler()
    handler.emit = lambda record: messages.append(record.getMessage())
    logger.addHandler(handler)
    try:
        assert t(dict(img_path=str(files['trunc_jpg']))) is None
        assert t(dict(img_path=str(files['good_png']))) is not None
        assert t(dict(img_path=str(files['empty']))) is None
    finally:
        logger.removeHandler(handler)
    assert t.num_skipped == 2
    assert len(messages) == 2
    assert str(files['trunc_jpg']) in messages[0]
    assert '1 sample(s) skipped so far' in messages[0]
    assert str(files['empty']) in messages[1]
    assert '2 sample(s) skipped so far' in messages[1]
    # mmcv's ignore_empty is an alias
    assert StrictLoadImageFromFile(ignore_empty=True).skip_corrupt


def test_shared_counter_copies():
    c = SharedCounter()
    assert c.increment() == 1 and c.increment() == 2
    assert copy.deepcopy(c) is c  # deep copies of a pipeline share it
    fresh = pickle.loads(pickle.dumps(c))  # not a worker start: own count
    assert fresh.value == 0 and c.value == 2


def _dataset(root: Path, skip: bool, max_refetch: int = 1000):
    from mmpretrain.datasets import CustomDataset
    return CustomDataset(
        data_root=str(root),
        with_label=False,
        max_refetch=max_refetch,
        pipeline=[
            dict(type='StrictLoadImageFromFile', skip_corrupt=skip),
            dict(type='PackInputs')
        ])


def _list_collate(batch: list) -> list:
    return batch


@pytest.mark.parametrize('context', ['fork', 'spawn'])
def test_skipped_samples_are_counted_across_dataloader_workers(
        tmp_path, context):
    for i in range(7):
        _write(tmp_path / f'img{i}.png', seed=i)
    _truncate(_write(tmp_path / 'img7.jpg', 'JPEG', size=64))
    dataset = _dataset(tmp_path, skip=True)
    assert len(dataset) == 8
    loader = torch.utils.data.DataLoader(
        dataset,
        batch_size=4,
        # a spawned worker imports torch and OpenMMLab again: only one
        num_workers=2 if context == 'fork' else 1,
        collate_fn=_list_collate,
        multiprocessing_context=context)
    paths = [s['data_samples'].img_path for b in loader for s in b]
    assert len(paths) == 8  # the skipped sample was replaced
    assert not any(p.endswith('img7.jpg') for p in paths)
    loader_t = dataset.pipeline.transforms[0]
    # counted in a worker, visible in the main process (>= 1: the random
    # replacement may draw the corrupt file again)
    assert loader_t.num_skipped >= 1


def test_all_corrupt_gives_mmengine_refetch_error(tmp_path):
    for i in range(2):
        _truncate(_write(tmp_path / f'img{i}.jpg', 'JPEG', size=64))
    dataset = _dataset(tmp_path, skip=True, max_refetch=3)
    with pytest.raises(Exception, match='Cannot find valid image after 3'):
        dataset[0]
    assert dataset.pipeline.transforms[0].num_skipped == 4
    strict = _dataset(tmp_path, skip=False)
    with pytest.raises(ImageLoadError, match=r'img0\.jpg.*truncated'):
        strict[0]


def test_min_size(files):
    t = StrictLoadImageFromFile(min_size=(32, 33))
    with pytest.raises(ImageLoadError) as e:
        t(dict(img_path=str(files['good_png'])))
    assert (f"image file '{files['good_png']}' is 32x32 (h x w), smaller "
            'than the 32x33 that min_size needs') in str(e.value)
    assert StrictLoadImageFromFile(min_size=(32, 32))(
        dict(img_path=str(files['good_png'])))['img'].shape == (32, 32, 3)
    skipping = StrictLoadImageFromFile(min_size=(64, 64), skip_corrupt=True)
    assert skipping(dict(img_path=str(files['good_png']))) is None
    assert skipping.num_skipped == 1
    with pytest.raises(ValueError, match='min_size must be'):
        StrictLoadImageFromFile(min_size=64)
