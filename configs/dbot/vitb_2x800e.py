# dBOT ViT-B/16, 2 stages x 800 epochs in ONE run (the paper's classification
# default, 84.5% IN-1k): BootstrapTeacherHook takes the breakpoint at epoch
# 800 (teacher <- student, student re-initialised, AdamW state kept as in the
# official code) and the LR schedule restarts (40 warm-up epochs + cosine).
#   tools/dist_train.sh configs/dbot/vitb_2x800e.py 8
_base_ = './vitb_stage1.py'
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
