# dBOT ViT-B/16, stage 3 (the paper's detection/segmentation default):
# teacher = the stage-2 student.
#   tools/dist_train.sh configs/dbot/vitb_stage3.py 8
_base_ = './vitb_stage1.py'
model = dict(
    teacher=dict(
        init_cfg=dict(
            type='Pretrained',
            checkpoint='work_dirs/vitb_stage2/epoch_800.pth')))
