# Copyright (c) mkd_mm contributors. All rights reserved.
"""The demo data load through the real dataset classes and through the
config bases in ``configs/_base_/datasets/`` (under the scopes they are
inherited from)."""
import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from mmengine.config import Config
from mmengine.registry import DATASETS, DefaultScope
from PIL import Image

REPO = Path(__file__).resolve().parents[2]
BASES = REPO / 'configs' / '_base_' / 'datasets'


def _base(name: str) -> Config:
    return Config.fromfile(str(BASES / name))


def _rasterise(polygons: list, size: int = 128) -> np.ndarray:
    """Masks (N, H, W) of COCO polygon lists, through mmdet."""
    from mmdet.structures.mask import PolygonMasks
    return PolygonMasks([[np.asarray(p, dtype=np.float64) for p in poly]
                         for poly in polygons], size, size).to_ndarray()


# --------------------------------------------------------------- ImageNet
def test_imagenet_ann_file_and_folder_modes_agree(demo_data, demo_data_module):
    from mmpretrain.datasets import CustomDataset, ImageNet
    classes = tuple(demo_data_module.IMAGENET_CLASSES)
    root = str(demo_data / 'imagenet')
    train = ImageNet(
        data_root=root, split='train', metainfo=dict(classes=classes))
    val = ImageNet(data_root=root, split='val', metainfo=dict(classes=classes))
    assert len(train) == 400 and len(val) == 100
    assert train.CLASSES == classes
    labels = [train.get_data_info(i)['gt_label'] for i in range(len(train))]
    assert np.bincount(labels).tolist() == [40] * 10
    for i in (0, 123, 399):
        info = train.get_data_info(i)
        assert Path(info['img_path']).parent.name == classes[info['gt_label']]
    # folder layout alone (no annotation list): same classes and labels
    folder = CustomDataset(data_root=root, data_prefix='train')
    assert len(folder) == 400
    assert tuple(folder.CLASSES) == classes
    by_path = {
        info['img_path']: info['gt_label']
        for info in (folder.get_data_info(i) for i in range(len(folder)))
    }
    for i in range(len(train)):
        info = train.get_data_info(i)
        assert by_path[info['img_path']] == info['gt_label']
    assert Counter(val.get_data_info(i)['gt_label'] for i in range(100)) == {
        k: 10
        for k in range(10)
    }


def test_imagenet_bases_build_and_run_pipelines(demo_data):
    from mmpretrain.registry import DATASETS as PRETRAIN_DATASETS
    pre = _base('demo_imagenet_pretrain.py')
    ev = _base('demo_imagenet_eval.py')
    root = str(demo_data / 'imagenet') + '/'
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        pre.train_dataloader.dataset.data_root = root
        ds = PRETRAIN_DATASETS.build(pre.train_dataloader.dataset)
        assert len(ds) == 400
        item = ds[0]
        assert tuple(item['inputs'].shape) == (3, 64, 64)
        ev.val_dataloader.dataset.data_root = root
        val = PRETRAIN_DATASETS.build(ev.val_dataloader.dataset)
        assert len(val) == 100
        item = val[17]
        assert tuple(item['inputs'].shape) == (3, 64, 64)
        assert int(item['data_samples'].gt_label) == 1  # circle
    assert pre.data_preprocessor.type == 'SelfSupDataPreprocessor'
    assert ev.data_preprocessor.num_classes == 10


def test_imagenet_full_scale_base_values():
    cfg = _base('imagenet_bs128_mkd.py')
    loader = cfg.train_dataloader
    assert loader.batch_size == 128 and loader.num_workers == 8
    assert loader.drop_last and loader.persistent_workers
    # mid-epoch resumable DefaultSampler (same order; see ResumableSampler)
    assert loader.sampler == dict(type='ResumableSampler', shuffle=True)
    assert loader.dataset.ann_file == 'meta/train.txt'
    assert loader.dataset.data_prefix == 'train'
    crop = loader.dataset.pipeline[1]
    assert crop.type == 'RandomResizedCrop' and crop.scale == 224
    assert crop.crop_ratio_range == (0.2, 1.0)
    assert crop.interpolation == 'bicubic' and crop.backend == 'pillow'
    assert [t.type for t in loader.dataset.pipeline] == [
        'StrictLoadImageFromFile', 'RandomResizedCrop', 'RandomFlip', 'PackInputs'
    ]
    assert cfg.data_preprocessor.to_rgb is True


# ------------------------------------------------------------------- COCO
def test_coco_dataset_instances_and_masks(demo_data):
    from mmdet.datasets import CocoDataset
    meta = _base('demo_coco_instance.py').demo_coco_metainfo
    root = str(demo_data / 'coco') + '/'
    for split, num in (('train', 24), ('val', 8)):
        ann = json.loads((demo_data / 'coco' / 'annotations' /
                          f'instances_{split}2017.json').read_text())
        assert [c['name'] for c in ann['categories']] == list(meta.classes)
        ds = CocoDataset(
            data_root=root,
            ann_file=f'annotations/instances_{split}2017.json',
            data_prefix=dict(img=f'{split}2017/'),
            metainfo=meta,
            pipeline=[],
            test_mode=split == 'val')
        assert len(ds) == num
        instances = [
            inst for i in range(len(ds))
            for inst in ds.get_data_info(i)['instances']
        ]
        assert len(instances) == len(ann['annotations']) >= num
        labels = Counter(inst['bbox_label'] for inst in instances)
        assert set(labels) <= set(range(4))
        if split == 'train':
            assert set(labels) == set(range(4))
        area_by_corner = {
            tuple(a['bbox'][:2]): a['area']
            for a in ann['annotations']
        }
        for i in range(len(ds)):
            info = ds.get_data_info(i)
            img = np.asarray(
                Image.open(info['img_path']).convert('RGB'), dtype=np.float32)
            for inst in info['instances']:
                poly = inst['mask']
                assert len(poly) == 1 and len(poly[0]) >= 6
                assert len(poly[0]) % 2 == 0
                mask = _rasterise([poly])[0] > 0
                x0, y0, x1, y1 = inst['bbox']
                ys, xs = np.nonzero(mask)
                assert xs.min() >= x0 - 1 and xs.max() <= x1 + 1
                assert ys.min() >= y0 - 1 and ys.max() <= y1 + 1
                area = area_by_corner[(round(x0, 2), round(y0, 2))]
                assert abs(mask.sum() - area) <= 0.15 * area + 10
                # the object stands out from its surroundings
                ring = np.zeros_like(mask)
                ring[max(int(y0) - 3, 0):int(y1) + 4,
                     max(int(x0) - 3, 0):int(x1) + 4] = True
                ring &= ~mask
                inner = np.zeros_like(mask)
                inner[mask] = True
                diff = np.abs(img[inner].mean(0) - img[ring].mean(0)).max()
                assert diff > 20, (info['img_path'], diff)


@pytest.mark.parametrize('scope', ['mmdet', 'mmpretrain'])
def test_coco_base_builds_under_scope(demo_data, scope):
    cfg = _base('demo_coco_instance.py')
    cfg.train_dataloader.dataset.data_root = str(demo_data / 'coco') + '/'
    with DefaultScope.overwrite_default_scope(scope):
        ds = DATASETS.build(cfg.train_dataloader.dataset)
        assert len(ds) == 24
        item = ds[3]
    assert tuple(item['inputs'].shape) == (3, 128, 128)
    gt = item['data_samples'].gt_instances
    num = len(ds.get_data_info(3)['instances'])
    assert len(gt) == num and gt.masks.masks.shape == (num, 128, 128)
    assert int(gt.labels.max()) < 4


def test_coco_metric_scores_ground_truth_as_perfect(demo_data):
    """Predicting the ground truth gives AP 1.0: boxes, polygons, areas and
    image ids in the annotation file are consistent."""
    import torch
    from mmengine.registry import METRICS
    cfg = _base('demo_coco_instance.py')
    ann_file = str(demo_data / 'coco/annotations/instances_val2017.json')
    ann = json.loads(Path(ann_file).read_text())
    with DefaultScope.overwrite_default_scope('mmdet'):
        metric = METRICS.build(dict(cfg.val_evaluator, ann_file=ann_file))
    metric.dataset_meta = dict(classes=cfg.demo_coco_metainfo.classes)
    samples = []
    for img in ann['images']:
        anns = [a for a in ann['annotations'] if a['image_id'] == img['id']]
        boxes = [[x, y, x + w, y + h]
                 for x, y, w, h in (a['bbox'] for a in anns)]
        masks = _rasterise([a['segmentation'] for a in anns])
        samples.append(
            dict(
                img_id=img['id'],
                ori_shape=(128, 128),
                pred_instances=dict(
                    bboxes=torch.tensor(boxes, dtype=torch.float32),
                    scores=torch.ones(len(anns)),
                    labels=torch.tensor([a['category_id'] - 1 for a in anns]),
                    masks=torch.from_numpy(masks.astype(bool)))))
    metric.process({}, samples)
    results = metric.evaluate(len(samples))
    assert results['coco/bbox_mAP'] == pytest.approx(1.0)
    assert results['coco/segm_mAP'] == pytest.approx(1.0)


# ------------------------------------------------------------------ ADE20K
def test_ade_dataset_labels(demo_data, demo_data_module):
    from mmseg.datasets import ADE20KDataset
    meta = _base('demo_ade20k.py').demo_ade_metainfo
    assert list(meta.classes) == list(demo_data_module.ADE_CLASSES)
    root = str(demo_data / 'ade' / 'ADEChallengeData2016')
    ds = ADE20KDataset(
        data_root=root,
        data_prefix=dict(
            img_path='images/training', seg_map_path='annotations/training'),
        metainfo=meta,
        pipeline=[dict(type='mmseg.LoadAnnotations', reduce_zero_label=True)])
    assert len(ds) == 16
    # the demo classes are the first five ADE20K classes: identity mapping
    assert {
        k: v
        for k, v in ds.label_map.items() if v != 255
    } == {
        i: i
        for i in range(5)
    }
    seen = Counter()
    for i in range(len(ds)):
        info = ds.get_data_info(i)
        raw = np.asarray(Image.open(info['seg_map_path']))
        assert raw.dtype == np.uint8 and raw.shape == (128, 128)
        assert set(np.unique(raw)) <= set(range(6))
        gt = ds[i]['gt_seg_map']
        assert set(np.unique(gt)) <= {0, 1, 2, 3, 4, 255}
        # reduce_zero_label: 0 ("other") -> 255, k -> k - 1
        assert np.array_equal(gt == 255, raw == 0)
        assert np.array_equal(gt[raw > 0], raw[raw > 0] - 1)
        assert {2, 3} <= set(np.unique(gt))  # sky and floor in every scene
        seen.update(np.unique(gt).tolist())
    assert all(seen[c] >= 4 for c in range(5)), seen
    # the full 150-class ADE20K metainfo reads the same files
    full = ADE20KDataset(
        data_root=root,
        data_prefix=dict(
            img_path='images/validation',
            seg_map_path='annotations/validation'),
        pipeline=[])
    assert len(full) == 4 and len(full.metainfo['classes']) == 150


@pytest.mark.parametrize('scope', ['mmseg', 'mmpretrain'])
def test_ade_base_builds_under_scope(demo_data, scope):
    cfg = _base('demo_ade20k.py')
    root = str(demo_data / 'ade' / 'ADEChallengeData2016')
    cfg.train_dataloader.dataset.data_root = root
    cfg.val_dataloader.dataset.data_root = root
    with DefaultScope.overwrite_default_scope(scope):
        train = DATASETS.build(cfg.train_dataloader.dataset)
        val = DATASETS.build(cfg.val_dataloader.dataset)
        item = train[0]
        vitem = val[1]
    assert len(train) == 16 and len(val) == 4
    # RandomResize (ratio 0.5-2) + RandomCrop(128): at most 128 (smaller
    # crops are padded by the model's data preprocessor, as in mmseg)
    _, h, w = item['inputs'].shape
    assert 64 <= h <= 128 and 64 <= w <= 128
    sem = item['data_samples'].gt_sem_seg.data
    assert tuple(sem.shape) == (1, h, w)
    assert set(sem.unique().tolist()) <= {0, 1, 2, 3, 4, 255}
    assert tuple(vitem['inputs'].shape) == (3, 128, 128)
    assert tuple(vitem['data_samples'].gt_sem_seg.data.shape) == (1, 128, 128)
    assert val.metainfo['classes'] == cfg.demo_ade_metainfo.classes
