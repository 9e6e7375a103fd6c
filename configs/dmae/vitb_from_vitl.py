# DMAE ViT-B/16 <- MAE ViT-L/16, 100 epochs, mask 0.75 (paper main result:
# 84.0% IN-1k top-1 after the 100-epoch fine-tune; MAE-B 100e: 81.6%).
# Projector: the paper's default 2-layer MLP (`mode='mlp'`, the official
# `mlp-1layer`). The official code's own default is a linear head, see
# `vitb_from_vitl_official-linear-head.py`.
# 8 GPUs x 128 images x 4 accumulation steps = 4096 images per step.
_base_ = [
    '../_base_/models/dmae_vit-base-p16_vit-large-p16.py',
    '../_base_/datasets/imagenet_bs128_mkd.py',
    '../_base_/schedules/dmae_adamw_100e.py',  # includes default_runtime
]
