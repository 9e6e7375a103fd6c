# dBOT ViT-L/16, stage 1: the official run starts from a depth-0 teacher (a
# random patch embedding + position embedding), no gradient clipping.
#   tools/dist_train.sh configs/dbot/vitl_stage1.py 8
_base_ = [
    '../_base_/models/dbot_vit-large-p16.py',
    '../_base_/datasets/imagenet_bs128_mkd.py',
    '../_base_/schedules/dbot_adamw_800e.py',
    '../_base_/default_runtime.py',
]

# keep the last checkpoints (the final one is the next stage's teacher); save
# RNG states so that `--resume` continues bit-identically
default_hooks = dict(
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=3))
custom_hooks = []  # RNGStateHook: a default hook (default_runtime.py)
randomness = dict(seed=0, diff_rank_seed=True)
