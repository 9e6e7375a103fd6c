# Copyright (c) mkd_mm contributors. All rights reserved.
"""Tests of ``tools/data/make_demo_data.py``: determinism, completeness
check, counts and image content."""
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image


def _files(root: Path) -> list:
    return sorted(
        str(p.relative_to(root)) for p in root.rglob('*') if p.is_file())


def test_generator_is_deterministic(tmp_path, demo_data_module):
    a, b, c = tmp_path / 'a', tmp_path / 'b', tmp_path / 'c'
    manifest = demo_data_module.generate(str(a), seed=0)
    demo_data_module.generate(str(b), seed=0)
    files = _files(a)
    assert files == _files(b)
    # every written file is in the manifest, plus the manifest itself
    assert files == sorted(list(manifest['files']) + ['manifest.json'])
    for rel in files:
        assert (a / rel).read_bytes() == (b / rel).read_bytes(), rel
    # another seed draws other images
    demo_data_module.generate(str(c), seed=1)
    rel = 'imagenet/train/circle/circle_train_0000.JPEG'
    assert (a / rel).read_bytes() != (c / rel).read_bytes()


def test_completeness_check(tmp_path, demo_data, demo_data_module):
    out = tmp_path / 'demo'
    shutil.copytree(demo_data, out)
    mod = demo_data_module
    assert mod.is_complete(str(out), seed=0)
    assert mod.main(['--out', str(out), '--check']) == 0
    assert not mod.is_complete(str(out), seed=1)
    # a missing file, then a truncated file, make the set incomplete
    victim = out / 'coco' / 'val2017' / '000000000025.jpg'
    data = victim.read_bytes()
    victim.unlink()
    assert not mod.is_complete(str(out), seed=0)
    assert mod.main(['--out', str(out), '--check']) == 1
    victim.write_bytes(data[:100])
    assert not mod.is_complete(str(out), seed=0)
    # --if-missing regenerates the same bytes
    assert mod.main(['--out', str(out), '--if-missing']) == 0
    assert mod.is_complete(str(out), seed=0)
    assert victim.read_bytes() == data
    # and leaves a complete set alone
    stamp = (out / 'manifest.json').stat().st_mtime_ns
    assert mod.main(['--out', str(out), '--if-missing']) == 0
    assert (out / 'manifest.json').stat().st_mtime_ns == stamp
    assert not mod.is_complete(str(tmp_path / 'nowhere'))


def test_counts_and_layout(demo_data, demo_data_module):
    mod = demo_data_module
    manifest = json.loads((demo_data / 'manifest.json').read_text())
    assert manifest['seed'] == 0
    assert manifest['imagenet']['train'] == 400
    assert manifest['imagenet']['val'] == 100
    assert manifest['coco']['train']['images'] == 24
    assert manifest['coco']['val']['images'] == 8
    assert manifest['ade']['train'] == 16 and manifest['ade']['val'] == 4
    assert len(mod.IMAGENET_CLASSES) >= 10
    assert list(mod.IMAGENET_CLASSES) == sorted(mod.IMAGENET_CLASSES)
    for split, per_class in (('train', 40), ('val', 10)):
        folders = sorted(
            p.name for p in (demo_data / 'imagenet' / split).iterdir())
        assert folders == list(mod.IMAGENET_CLASSES)
        for name in folders:
            assert len(
                list((demo_data / 'imagenet' / split /
                      name).glob('*.JPEG'))) == per_class
    lines = (demo_data / 'imagenet/meta/train.txt').read_text().splitlines()
    assert len(lines) == 400
    rel, label = lines[45].split(' ')
    assert rel == 'circle/circle_train_0005.JPEG' and label == '1'
    ade = demo_data / 'ade' / 'ADEChallengeData2016'
    assert len(list((ade / 'images/training').glob('*.jpg'))) == 16
    assert len(list((ade / 'annotations/validation').glob('*.png'))) == 4
    assert (demo_data / 'README.md').exists()


def test_images_are_smooth_shapes_not_noise(demo_data, demo_data_module):
    size = demo_data_module.IMAGENET_SIZE
    diffs, spreads = [], []
    for name in demo_data_module.IMAGENET_CLASSES:
        path = demo_data / 'imagenet' / 'train' / name / (
            f'{name}_train_0000.JPEG')
        img = np.asarray(Image.open(path).convert('RGB'), dtype=np.float32)
        assert img.shape == (size, size, 3)
        diffs.append(np.abs(np.diff(img, axis=1)).mean())
        spreads.append(img.std())
    # neighbouring pixels are similar (white noise would give ~85) but the
    # image is not flat (there is an object on a background)
    assert max(diffs) < 15, diffs
    assert min(spreads) > 10, spreads


def test_shapes_differ_between_classes(demo_data_module):
    """The foreground masks of different classes are really different."""
    mod = demo_data_module
    masks = {
        name:
        mod.render_mask(mod.shape_parts(name, 48, 48, 30, 0.3), (96, 96)) > 0.5
        for name in mod.IMAGENET_CLASSES
    }
    names = list(masks)
    for i, a in enumerate(names):
        assert masks[a].sum() > 200, a
        for b in names[i + 1:]:
            iou = (masks[a] & masks[b]).sum() / (masks[a] | masks[b]).sum()
            assert iou < 0.9, (a, b, iou)


def test_unknown_shape_is_rejected(demo_data_module):
    with pytest.raises(ValueError, match='unknown shape'):
        demo_data_module.shape_parts('blob', 0, 0, 1, 0)
