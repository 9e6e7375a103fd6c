# dBOT ViT-B/16, stage 3 (the paper's detection/segmentation default):
# teacher = the stage-2 student.
#   tools/dist_train.sh configs/dbot/vitb_stage3.py 8
_base_ = './vitb_stage1.py'
model = dict(
    teacher=dict(
        init_cfg=dict(
            type='Pretrained',
            checkpoint='work_dirs/vitb_stage2/epoch_800.pth')))
# a fresh student initialisation, data order and masks for this stage (the
# one-run schedule draws new ones at the breakpoint); stages 1/2 use 0/1
randomness = dict(seed=2)
