# dBOT ViT-B/16 student distilled for ONE stage (800 epochs) from a bigger,
# 2-stage dBOT ViT-L/16 teacher (paper Sec. 6.1, Tab. 7: 84.6 / 53.1 / 50.1).
# The decoder predicts the teacher's 1024-d tokens.
#   tools/dist_train.sh configs/dbot/vitb_from-vitl-teacher.py 8
_base_ = './vitb_stage1.py'
model = dict(
    neck=dict(predict_feature_dim=1024),
    teacher=dict(
        arch='l',
        depth=24,
        init_cfg=dict(
            type='Pretrained',
            checkpoint='work_dirs/vitl_2x800e/epoch_1600.pth')))
