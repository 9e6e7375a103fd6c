# dBOT ViT-B/16 with a DINO ViT-B/16 first teacher (Tab. 1: 84.2% -> 84.5%).
# Official file: dino_vitbase16_pretrain.pth (timm keys, converted on load;
# or convert once with tools/model_converters/vit_timm_to_mmpretrain.py).
# DINO's teacher has a learned position embedding; it is loaded as is.
_base_ = './vitb_2x800e.py'
model = dict(
    teacher=dict(
        init_cfg=dict(
            type='Pretrained',
            checkpoint='checkpoints/dino_vitbase16_pretrain.pth')))
