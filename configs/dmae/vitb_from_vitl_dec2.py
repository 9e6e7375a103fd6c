# DMAE ViT-B/16 <- ViT-L/16 with a 2-block decoder (paper Tab. 3b: 83.7% vs
# 84.0% with 8 blocks, at a much lower decoder cost).
_base_ = './vitb_from_vitl.py'

model = dict(neck=dict(decoder_depth=2))
