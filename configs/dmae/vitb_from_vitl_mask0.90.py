# DMAE ViT-B/16 <- ViT-L/16 with mask ratio 0.90 (paper Fig. 2: 84.0%).
# Visible patches per image: int(196 x (1 - 0.90)) = 19 (the official code
# truncates the float, 196 x 0.1 = 19.6 in floating point).
# Student and teacher both see these 19 patches plus their class token.
_base_ = './vitb_from_vitl.py'

model = dict(backbone=dict(mask_ratio=0.90))
