# dBOT⌘ ViT-L/16 distilled from OpenAI CLIP ViT-L/14 (paper Tab. 9: 87.8 IN-1k
# top-1 / 56.8 COCO AP^box / 56.2 ADE20K mIoU), 1 stage of 1600 epochs.
# The teacher runs at 196 px (official `--second_input_size 196`) so that its
# 14 x 14 tokens match the 196 patches of the /16 student at 224 px; the crop
# is resized 224 -> 196 (bicubic, antialiased) and CLIP's 16 x 16
# position embedding is bicubic-interpolated to 14 x 14.
# Same layer scale (0.1), drop path (0.1), lr and masking as ViT-B.
# Needs checkpoints/clip_vit-l14_openai.pth (converted from OpenAI's
# ViT-L-14.pt, docs/dbot_clip.md).
_base_ = './vitb_clip-b16-teacher.py'
model = dict(
    backbone=dict(arch='large', patch_size=16),
    teacher=dict(
        arch='l14',
        img_size=196,
        init_cfg=dict(
            type='Pretrained',
            checkpoint='checkpoints/clip_vit-l14_openai.pth')))
