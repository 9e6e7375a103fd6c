# MAE ViT-S/16 (DeiT-S size, 384-d, 12 blocks) baseline, 100 epochs, same
# recipe as `vitb_100e.py` (paper Tab. 5: MAE-S 77.4%).
_base_ = './vitb_100e.py'

model = dict(backbone=dict(arch='deit-small'), neck=dict(embed_dim=384))
