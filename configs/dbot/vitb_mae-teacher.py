# dBOT ViT-B/16 with a pre-trained first teacher: MAE ViT-B/16 (Tab. 1: the
# stage-1 student reaches 84.3%, stage 2 84.4%). The teacher file may be the
# official release `mae_pretrain_vit_base.pth` (timm keys, converted on load)
# or an mmpretrain model-zoo MAE checkpoint as it is (`backbone.` keys).
#   tools/dist_train.sh configs/dbot/vitb_mae-teacher.py 8
_base_ = './vitb_2x800e.py'
model = dict(
    teacher=dict(
        init_cfg=dict(
            type='Pretrained',
            checkpoint='checkpoints/mae_pretrain_vit_base.pth')))
