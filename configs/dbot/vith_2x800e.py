# dBOT ViT-H/14, 2 stages x 800 epochs in one run (official: depth-0 first
# teacher, then the 32-block stage-1 student; 87.4% IN-1k).
#   tools/dist_train.sh configs/dbot/vith_2x800e.py 8
_base_ = './vith_stage1.py'
stage_ends = [800, 1600]
train_cfg = dict(max_epochs=1600)
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
