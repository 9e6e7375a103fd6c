# dBOT⌘ ViT-B/16 distilled from OpenAI CLIP ViT-B/16 (paper Tab. 9: 85.7 IN-1k
# top-1 / 53.6 COCO AP^box / 52.9 ADE20K mIoU), 1 stage of 1600 epochs, the
# data-richer recipe of Tab. A1 col. 3 (official `beit` branch PRETRAIN.md).
#   tools/dist_train.sh configs/dbot/vitb_clip-b16-teacher.py 8
# Needs the converted CLIP weights at checkpoints/clip_vit-b16_openai.pth
# (docs/dbot_clip.md); override with
#   --cfg-options model.teacher.init_cfg.checkpoint=/path/to/clip.pth
_base_ = [
    '../_base_/models/dbot_clip_vit-base-p16.py',
    '../_base_/datasets/imagenet_bs128_dbot-clip.py',
    '../_base_/schedules/dbot_clip_adamw_1600e.py',
    '../_base_/default_runtime.py',
]

# the teacher (CLIP) is part of every checkpoint, so keep only a few; save RNG
# states so that `--resume` continues bit-identically
default_hooks = dict(
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=3))
custom_hooks = []  # RNGStateHook: a default hook (default_runtime.py)
randomness = dict(seed=0, diff_rank_seed=True)
