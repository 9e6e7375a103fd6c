# dBOT ViT-B/16, stage 2: the teacher is the stage-1 student, the student
# starts from scratch. Documented command (8 GPUs x 128, 4 accumulation steps
# = batch 4096):
#   tools/dist_train.sh configs/dbot/vitb_stage2.py 8
# Point the teacher elsewhere with
#   --cfg-options model.teacher.init_cfg.checkpoint=PATH
# (any mkd_mm checkpoint: its student `backbone.` weights are used).
_base_ = './vitb_stage1.py'
model = dict(
    teacher=dict(
        init_cfg=dict(
            type='Pretrained',
            checkpoint='work_dirs/vitb_stage1/epoch_800.pth')))
# a fresh student initialisation, data order and masks for this stage (the
# one-run schedule draws new ones at the breakpoint); stage 1 uses seed 0
randomness = dict(seed=1)
