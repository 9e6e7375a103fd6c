# UperNet with a plain ViT-B/16 backbone on ADE20K: the dBOT segmentation
# transfer (dbot:evaluation/mae_segmentation/; paper Tab. 4 / Tab. A4;
# dbot:DOWNSTREAM.md).
#
# - Backbone `ViTSegBackbone` (the MAE/dBOT segmentation ViT): learnable
#   absolute position embedding resized 14x14 -> 32x32 at load time, PLUS a
#   zero-initialised relative position bias per block trained from scratch,
#   layer-scale gammas initialised to 1.0, drop path 0.2, taps after blocks
#   (3, 5, 7, 11) without LN.
# - Feature2Pyramid rescales [4, 2, 1, 0.5] (SyncBN in the 4x branch).
# - UPerHead (channels = 768, pool scales 1/2/3/6) and an auxiliary FCNHead on
#   the stride-16 level with loss weight 0.4, 150 classes.
# - 512x512 crops, batch 16 (8 GPUs x 2), 160k iterations, AdamW lr 1e-4,
#   wd 0.05, layer decay 0.65, linear warm-up over 1500 iterations (from
#   1e-6) then poly decay with power 1.0 to 0, AMP; slide inference with
#   512 crops and stride 341, mIoU.
# Pre-trained weights: --cfg-options model.backbone.init_cfg.checkpoint=PATH
# Reference (3-stage dBOT ViT-B, Tab. 4): mIoU 49.5, mAcc 60.7.
_base_ = [
    'mmseg::_base_/models/upernet_mae.py', 'mmseg::_base_/datasets/ade20k.py',
    'mmseg::_base_/default_runtime.py',
    'mmseg::_base_/schedules/schedule_160k.py'
]
custom_imports = dict(
    imports=['mkd_mm.downstream.mmseg'], allow_failed_imports=False)
default_scope = 'mmseg'

embed_dims = 768
num_layers = 12
crop_size = (512, 512)
# SyncBN needs a distributed launch; use BN on a single device
norm_cfg = dict(type='SyncBN', requires_grad=True)
data_preprocessor = dict(size=crop_size)
model = dict(
    data_preprocessor=data_preprocessor,
    pretrained=None,
    backbone=dict(
        _delete_=True,
        type='ViTSegBackbone',
        arch='base',
        img_size=crop_size,
        patch_size=16,
        out_indices=(3, 5, 7, 11),
        drop_path_rate=0.2,
        use_abs_pos_embed=True,
        use_rel_pos_bias=True,
        layer_scale_init_value=1.0,
        with_cp=False,
        init_cfg=dict(type='Pretrained', checkpoint=None, prefix='backbone.')),
    neck=dict(
        type='Feature2Pyramid',
        embed_dim=embed_dims,
        rescales=[4, 2, 1, 0.5],
        norm_cfg=norm_cfg),
    decode_head=dict(
        in_channels=[embed_dims] * 4,
        channels=embed_dims,
        num_classes=150,
        norm_cfg=norm_cfg),
    auxiliary_head=dict(
        in_channels=embed_dims, num_classes=150, norm_cfg=norm_cfg),
    test_cfg=dict(mode='slide', crop_size=crop_size, stride=(341, 341)))

optim_wrapper = dict(
    _delete_=True,
    type='AmpOptimWrapper',
    optimizer=dict(
        type='AdamW', lr=1e-4, betas=(0.9, 0.999), weight_decay=0.05),
    constructor='ViTLayerDecayOptimWrapperConstructor',
    # lr scale 0.65 ** (L + 1 - depth); no weight decay on 1-D params
    # (norms, layer-scale gammas), biases, pos_embed and cls_token
    paramwise_cfg=dict(num_layers=num_layers, layer_decay_rate=0.65))

param_scheduler = [
    dict(
        type='LinearLR', start_factor=1e-6, by_epoch=False, begin=0, end=1500),
    dict(
        type='PolyLR',
        eta_min=0.0,
        power=1.0,
        begin=1500,
        end=160000,
        by_epoch=False)
]

# 8 GPUs x 2 images = 16
train_dataloader = dict(batch_size=2)
val_dataloader = dict(batch_size=1)
test_dataloader = val_dataloader
# the learning rate above is for this total batch (GPUs x per-GPU batch x
# accumulative_counts, as in the file name); MKDRunner logs the batch used
# and warns when it differs (`--auto-scale-lr` scales the lr linearly)
auto_scale_lr = dict(enable=False, base_batch_size=16)
runner_type = 'mmpretrain.MKDRunner'
