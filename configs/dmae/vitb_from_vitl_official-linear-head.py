# DMAE ViT-B/16 <- ViT-L/16 with the OFFICIAL CODE's default projector: one
# Linear(768 -> 1024) (`--aligned_feature_projection_mode fc-1layer`, which
# `pretrain.sh` does not override), kept at PyTorch's default nn.Linear init
# as in the official code (its heads are created after the weight init).
# Paper Tab. 3a: linear 83.6% vs 2-layer MLP 84.0%.
_base_ = './vitb_from_vitl.py'

model = dict(projector=dict(mode='linear', init='default'))
