# dBOT ViT-H/14, stage 2: teacher = the 32-block stage-1 student.
#   tools/dist_train.sh configs/dbot/vith_stage2.py 8
_base_ = './vith_stage1.py'
model = dict(
    teacher=dict(
        depth=32,
        init_cfg=dict(
            type='Pretrained',
            checkpoint='work_dirs/vith_stage1/epoch_800.pth')))
# a fresh student initialisation, data order and masks for this stage (the
# one-run schedule draws new ones at the breakpoint); stage 1 uses seed 0
randomness = dict(seed=1)
