# COCO-style instance segmentation on the synthetic demo set written by
# `tools/data/make_demo_data.py` (128x128 images, 24 train / 8 val, 4 shape
# categories, polygon masks). A scaled-down `mmdet::_base_/datasets/
# coco_instance.py`: same structure and keys, small images.
#
# Scopes: the dataset dicts carry `_scope_='mmdet'`, so the dataset and its
# (unprefixed, as in mmdet's own bases) transforms are built in the mmdet
# registries whatever the inheriting config's `default_scope` is ('mmdet' for
# the usual downstream configs, or 'mmpretrain'); the evaluator (and batch
# sampler) use the `mmdet.` prefix. Keep `_scope_` when overriding a dataset
# with `_delete_=True`. Requires mmdet (and pycocotools for the metric).
dataset_type = 'mmdet.CocoDataset'
data_root = 'data/demo/coco/'
# class names and colours of the demo categories (category ids 1..4 in the
# annotation files); pass as `metainfo` so CocoDataset selects them.
demo_coco_metainfo = dict(
    classes=('circle', 'square', 'triangle', 'star'),
    palette=[(220, 20, 60), (119, 11, 32), (0, 0, 142), (0, 0, 230)])
demo_coco_scale = (128, 128)
backend_args = None

train_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='Resize', scale=demo_coco_scale, keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='Resize', scale=demo_coco_scale, keep_ratio=True),
    # If you don't have a gt annotation, delete the pipeline
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                   'scale_factor'))
]
train_dataloader = dict(
    batch_size=2,
    num_workers=2,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=True),
    batch_sampler=dict(type='mmdet.AspectRatioBatchSampler'),
    dataset=dict(
        type=dataset_type,
        _scope_='mmdet',
        data_root=data_root,
        metainfo=demo_coco_metainfo,
        ann_file='annotations/instances_train2017.json',
        data_prefix=dict(img='train2017/'),
        filter_cfg=dict(filter_empty_gt=True, min_size=32),
        pipeline=train_pipeline,
        backend_args=backend_args))
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=False,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        _scope_='mmdet',
        data_root=data_root,
        metainfo=demo_coco_metainfo,
        ann_file='annotations/instances_val2017.json',
        data_prefix=dict(img='val2017/'),
        test_mode=True,
        pipeline=test_pipeline,
        backend_args=backend_args))
test_dataloader = val_dataloader

val_evaluator = dict(
    type='mmdet.CocoMetric',
    ann_file=data_root + 'annotations/instances_val2017.json',
    metric=['bbox', 'segm'],
    format_only=False,
    backend_args=backend_args)
test_evaluator = val_evaluator
