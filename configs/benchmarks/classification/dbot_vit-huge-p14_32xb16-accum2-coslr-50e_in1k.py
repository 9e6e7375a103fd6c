# dBOT ViT-H/14 end-to-end fine-tuning on ImageNet-1k at 224
# (dbot:DOWNSTREAM.md): the ViT-B/16 recipe with 32 GPUs x 16 images x 2
# accumulation steps = 1024, lr = 3e-4 x 1024 / 256, layer decay 0.75,
# drop path 0.3, 50 epochs (5 warm-up). Reference top-1: 87.4 (dBOT Tab. 2).
_base_ = './dbot_vit-base-p16_32xb32-coslr-100e_in1k.py'

train_dataloader = dict(batch_size=16)

model = dict(
    backbone=dict(arch='huge', patch_size=14, drop_path_rate=0.3),
    head=dict(in_channels=1280))
optim_wrapper = dict(
    accumulative_counts=2, paramwise_cfg=dict(layer_decay_rate=0.75))
param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=1e-4,
        by_epoch=True,
        begin=0,
        end=5,
        convert_to_iter_based=True),
    dict(
        type='CosineAnnealingLR',
        T_max=45,
        by_epoch=True,
        begin=5,
        end=50,
        eta_min=1e-6,
        convert_to_iter_based=True)
]
train_cfg = dict(max_epochs=50)
