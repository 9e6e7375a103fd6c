# Pre-training data for the CPU demos: the dBOT / DMAE pipeline of
# `imagenet_bs128_mkd.py` on the synthetic set written by
# `tools/data/make_demo_data.py` (10 shape classes, 400 train images of
# 96x96), cropped to 64x64. Labels are not used by pre-training.
dataset_type = 'ImageNet'
data_root = 'data/demo/imagenet/'
demo_img_size = 64
# class names in label order (the folders of data/demo/imagenet/train)
demo_imagenet_metainfo = dict(
    classes=('arrow', 'circle', 'crescent', 'cross', 'diamond', 'hexagon',
             'ring', 'square', 'star', 'triangle'))
data_preprocessor = dict(
    type='SelfSupDataPreprocessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    to_rgb=True)

train_pipeline = [
    dict(type='StrictLoadImageFromFile'),
    dict(
        type='RandomResizedCrop',
        scale=demo_img_size,
        crop_ratio_range=(0.2, 1.0),
        backend='pillow',
        interpolation='bicubic'),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackInputs')
]

train_dataloader = dict(
    batch_size=32,
    num_workers=2,
    persistent_workers=False,
    # DefaultSampler that can resume mid-epoch without loading the skipped
    # samples (see ResumableEpochBasedTrainLoop)
    sampler=dict(type='ResumableSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    drop_last=True,
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='meta/train.txt',
        data_prefix='train',
        metainfo=demo_imagenet_metainfo,
        pipeline=train_pipeline))
