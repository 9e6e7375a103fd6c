# ImageNet-1k pre-training data of the dBOT data-richer (CLIP) recipe
# (Tab. A1 col. 3, official `beit` branch `datasets.py`): ColorJitter(0.4,
# 0.4, 0.4) -> horizontal flip -> RandomResizedCrop(224, area (0.4, 1),
# bicubic), student normalised with ImageNet mean/std (`--imagenet_default_
# mean_and_std`), plus BEiT block-wise masking of 78 patches (min 16 per
# block, aspect in [0.3, 1/0.3]) packed into the data samples.
# The CLIP teacher gets the same (un-normalised) crop; the model recovers it
# from the student input with this preprocessor's mean/std.
# 128 images per GPU; 8 GPUs x 128 x 4 accumulation steps = 4096.
dataset_type = 'ImageNet'
data_root = 'data/imagenet/'
data_preprocessor = dict(
    type='SelfSupDataPreprocessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    to_rgb=True)

train_pipeline = [
    dict(type='StrictLoadImageFromFile'),
    dict(type='ColorJitter', brightness=0.4, contrast=0.4, saturation=0.4),
    dict(type='RandomFlip', prob=0.5),
    dict(
        type='RandomResizedCrop',
        # `scale` is the output size, `crop_ratio_range` the area range
        scale=224,
        crop_ratio_range=(0.4, 1.0),
        backend='pillow',
        interpolation='bicubic'),
    dict(
        type='BEiTMaskGenerator',
        input_size=14,  # the student's patch grid (224 / 16)
        num_masking_patches=78,
        min_num_patches=16,
        max_num_patches=None,
        min_aspect=0.3),
    dict(type='PackInputs', algorithm_keys=['mask'])
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
