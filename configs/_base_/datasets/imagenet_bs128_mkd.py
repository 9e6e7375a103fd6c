# ImageNet-1k pre-training data of dBOT / DMAE (mmpretrain's
# `imagenet_bs512_mae.py` with our batch size): RandomResizedCrop to 224 with
# area ratio (0.2, 1.0), bicubic (pillow), horizontal flip, no colour jitter.
# 128 images per GPU; e.g. 8 GPUs x 128 = 1024 (set `auto_scale_lr`).
dataset_type = 'ImageNet'
data_root = 'data/imagenet/'
data_preprocessor = dict(
    type='SelfSupDataPreprocessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    to_rgb=True)

train_pipeline = [
    dict(type='StrictLoadImageFromFile'),
    dict(
        type='RandomResizedCrop',
        # `scale` is the output size, `crop_ratio_range` the area range
        scale=224,
        crop_ratio_range=(0.2, 1.0),
        backend='pillow',
        interpolation='bicubic'),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackInputs')
]

train_dataloader = dict(
    batch_size=128,
    num_workers=8,
    persistent_workers=True,
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
        pipeline=train_pipeline))
