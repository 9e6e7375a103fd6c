# DMAE ViT-B/16 <- ViT-L/16 with mask ratio 0.98 (paper Fig. 2: 82.4%).
# Visible patches per image: int(196 x (1 - 0.98)) = 3 (the official code
# truncates the float; the paper's text says 4).
# Student and teacher both see these 3 patches plus their class token.
_base_ = './vitb_from_vitl.py'

model = dict(backbone=dict(mask_ratio=0.98))
