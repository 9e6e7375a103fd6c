# MAE ViT-Ti/16 (DeiT-Ti size, 192-d, 12 blocks) baseline, 100 epochs, same
# recipe as `vitb_100e.py` (paper Tab. 5: MAE-Ti 66.6%).
_base_ = './vitb_100e.py'

model = dict(backbone=dict(arch='deit-tiny'), neck=dict(embed_dim=192))
