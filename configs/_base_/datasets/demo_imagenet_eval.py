# Classification data for probing / fine-tuning on the synthetic demo set
# (`tools/data/make_demo_data.py`): 10 classes, 400 train / 100 val images of
# 96x96, used at 64x64. Mirrors mmpretrain's `imagenet_bs64_swin_224.py`
# style in miniature. Used under `default_scope='mmpretrain'`.
dataset_type = 'ImageNet'
data_root = 'data/demo/imagenet/'
demo_img_size = 64
demo_imagenet_metainfo = dict(
    classes=('arrow', 'circle', 'crescent', 'cross', 'diamond', 'hexagon',
             'ring', 'square', 'star', 'triangle'))
data_preprocessor = dict(
    num_classes=10,
    # RGB format normalization parameters
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    # convert image from BGR to RGB
    to_rgb=True,
)

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(
        type='RandomResizedCrop',
        scale=demo_img_size,
        crop_ratio_range=(0.5, 1.0),
        backend='pillow',
        interpolation='bicubic'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]

test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(
        type='ResizeEdge',
        scale=demo_img_size * 8 // 7,  # 73, like 256 / 224
        edge='short',
        backend='pillow',
        interpolation='bicubic'),
    dict(type='CenterCrop', crop_size=demo_img_size),
    dict(type='PackInputs'),
]

train_dataloader = dict(
    batch_size=32,
    num_workers=2,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='meta/train.txt',
        data_prefix='train',
        metainfo=demo_imagenet_metainfo,
        pipeline=train_pipeline))

val_dataloader = dict(
    batch_size=50,
    num_workers=2,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='meta/val.txt',
        data_prefix='val',
        metainfo=demo_imagenet_metainfo,
        pipeline=test_pipeline))
val_evaluator = dict(type='Accuracy', topk=(1, 5))

# If you want standard test, please manually configure the test dataset
test_dataloader = val_dataloader
test_evaluator = val_evaluator
