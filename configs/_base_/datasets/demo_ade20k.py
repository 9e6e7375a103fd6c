# ADE20K-style semantic segmentation on the synthetic demo set written by
# `tools/data/make_demo_data.py` (toy street scenes of 128x128, 16 train /
# 4 val). A scaled-down `mmseg::_base_/datasets/ade20k.py`.
#
# The label maps use the real ADE20K ids of five classes (1 wall, 2 building,
# 3 sky, 4 floor, 5 tree) and 0 for "other". With `reduce_zero_label=True`
# (fixed in ADE20KDataset) 0 becomes 255 (ignored) and 1..5 become 0..4; the
# `metainfo` below selects those five ADE20K classes, so a decode head needs
# `num_classes=5`. (Without `metainfo` the same files load as 150-class
# ADE20K in which only labels 0..4 occur.)
#
# Scopes: the dataset dicts carry `_scope_='mmseg'`, so the dataset and its
# (unprefixed, as in mmseg's own bases) transforms are built in the mmseg
# registries whatever the inheriting config's `default_scope` is ('mmseg' for
# the usual downstream configs, or 'mmpretrain'); the evaluator (and batch
# sampler) use the `mmseg.` prefix. Keep `_scope_` when overriding a dataset
# with `_delete_=True`. Requires mmsegmentation.
dataset_type = 'mmseg.ADE20KDataset'
data_root = 'data/demo/ade/ADEChallengeData2016'
demo_ade_metainfo = dict(
    classes=('wall', 'building', 'sky', 'floor', 'tree'),
    palette=[[120, 120, 120], [180, 120, 120], [6, 230, 230], [80, 50, 50],
             [4, 200, 3]])
crop_size = (128, 128)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', reduce_zero_label=True),
    dict(
        type='RandomResize',
        scale=(512, 128),
        ratio_range=(0.5, 2.0),
        keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(512, 128), keep_ratio=True),
    # add loading annotation after ``Resize`` because ground truth
    # does not need to do resize data transform
    dict(type='LoadAnnotations', reduce_zero_label=True),
    dict(type='PackSegInputs')
]
train_dataloader = dict(
    batch_size=4,
    num_workers=2,
    persistent_workers=False,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        _scope_='mmseg',
        data_root=data_root,
        metainfo=demo_ade_metainfo,
        data_prefix=dict(
            img_path='images/training', seg_map_path='annotations/training'),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        _scope_='mmseg',
        data_root=data_root,
        metainfo=demo_ade_metainfo,
        data_prefix=dict(
            img_path='images/validation',
            seg_map_path='annotations/validation'),
        pipeline=test_pipeline))
test_dataloader = val_dataloader

val_evaluator = dict(type='mmseg.IoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator
