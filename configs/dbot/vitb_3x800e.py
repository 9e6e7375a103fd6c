# dBOT ViT-B/16, 3 stages x 800 epochs in one run (the paper's detection and
# segmentation default: 52.7 AP box, 49.5 mIoU).
#   tools/dist_train.sh configs/dbot/vitb_3x800e.py 8
_base_ = './vitb_2x800e.py'
stage_ends = [800, 1600, 2400]
train_cfg = dict(max_epochs=2400)
param_scheduler = [
    dict(
        type='StagedWarmupCosineLR',
        stage_ends=stage_ends,
        warmup=40,
        eta_min=0.0,
        by_epoch=True,
        convert_to_iter_based=True)
]
custom_hooks = [
    dict(type='BootstrapTeacherHook', stage_ends=stage_ends),
]
