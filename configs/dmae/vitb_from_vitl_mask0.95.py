# DMAE ViT-B/16 <- ViT-L/16 with mask ratio 0.95 (paper Fig. 2: 83.6%).
# Visible patches per image: int(196 x (1 - 0.95)) = 9 (the official code
# truncates the float; the paper's text says 10).
# Student and teacher both see these 9 patches plus their class token.
_base_ = './vitb_from_vitl.py'

model = dict(backbone=dict(mask_ratio=0.95))
