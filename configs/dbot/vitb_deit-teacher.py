# dBOT ViT-B/16 with a supervised DeiT-B/16 first teacher (Tab. 1: 83.6% ->
# 84.3%). Official file: deit_base_patch16_224-b5f2ef4d.pth (timm keys under
# 'model'; the classification head is dropped on load).
_base_ = './vitb_2x800e.py'
model = dict(
    teacher=dict(
        init_cfg=dict(
            type='Pretrained',
            checkpoint='checkpoints/deit_base_patch16_224-b5f2ef4d.pth')))
