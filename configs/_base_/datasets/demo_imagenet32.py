# The 32-px demo set of `make demo` (data/demo/imagenet32, written by
# tools/data/make_demo_data.py): 3,000 training images that pre-training uses
# without labels, a labelled subset of 200 (meta/train_labelled.txt, 20 per
# class) to fine-tune and probe on, and 500 validation images. Scarce labels
# are where pre-training pays off, as in the papers' ImageNet-1k -> few-label
# regime at toy scale. No flips anywhere: the stripes inside each shape have a
# class-specific orientation, which a flip would change.
dataset_type = 'ImageNet'
data_root = 'data/demo/imagenet32/'
demo_img_size = 32
demo_imagenet32_metainfo = dict(
    classes=('arrow', 'circle', 'crescent', 'cross', 'diamond', 'hexagon',
             'ring', 'square', 'star', 'triangle'))

pretrain_pipeline = [
    dict(type='StrictLoadImageFromFile'),
    dict(
        type='RandomResizedCrop',
        scale=demo_img_size,
        crop_ratio_range=(0.35, 1.0),
        backend='pillow',
        interpolation='bicubic'),
    dict(type='PackInputs')
]
finetune_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(
        type='RandomResizedCrop',
        scale=demo_img_size,
        crop_ratio_range=(0.6, 1.0),
        backend='pillow',
        interpolation='bicubic'),
    dict(type='PackInputs')
]
test_pipeline = [dict(type='LoadImageFromFile'), dict(type='PackInputs')]

pretrain_dataloader = dict(
    batch_size=128,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='ResumableSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    drop_last=True,
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='meta/train.txt',
        data_prefix='train',
        metainfo=demo_imagenet32_metainfo,
        pipeline=pretrain_pipeline))
finetune_dataloader = dict(
    batch_size=50,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    drop_last=True,
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='meta/train_labelled.txt',
        data_prefix='train',
        metainfo=demo_imagenet32_metainfo,
        pipeline=finetune_pipeline))
val_dataloader = dict(
    batch_size=250,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='meta/val.txt',
        data_prefix='val',
        metainfo=demo_imagenet32_metainfo,
        pipeline=test_pipeline))
val_evaluator = dict(type='Accuracy', topk=(1, ))
