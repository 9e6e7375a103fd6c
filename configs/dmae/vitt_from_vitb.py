# DMAE ViT-Ti/16 (DeiT-Ti size: 192-d, 12 blocks, 3 heads) <- MAE ViT-B/16
# (paper Tab. 5: MAE-Ti 66.6% -> DMAE-Ti 70.0%). Aligned at 3/4 depth:
# student index 8 <-> teacher index 8. Projector 2-layer MLP 192 -> 768 ->
# 768.
_base_ = './vits_from_vitb.py'

model = dict(backbone=dict(arch='deit-tiny'), neck=dict(embed_dim=192))
