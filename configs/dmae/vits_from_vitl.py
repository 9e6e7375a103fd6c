# DMAE ViT-S/16 (DeiT-S size: 384-d, 12 blocks, 6 heads) <- MAE ViT-L/16
# (paper Tab. 5: MAE-S 77.4% -> DMAE-S 80.1%). Aligned at 3/4 depth: student
# block index 8 (9th of 12) <-> teacher index 17 (18th of 24). Projector
# 2-layer MLP 384 -> 1024 -> 1024. Same 512-d 8-block decoder and schedule as
# ViT-B [INFERRED: the paper gives no separate S/Ti recipe].
_base_ = './vitb_from_vitl.py'

model = dict(
    backbone=dict(arch='deit-small'),
    neck=dict(embed_dim=384),
    student_layers=[8],
    teacher_layers=[17])
