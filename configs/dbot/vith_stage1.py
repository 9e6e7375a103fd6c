# dBOT ViT-H/14, stage 1: depth-0 first teacher, drop path 0.3, no clipping.
# 64 images per GPU x 8 GPUs x 8 accumulation steps = 4096.
#   tools/dist_train.sh configs/dbot/vith_stage1.py 8
_base_ = [
    '../_base_/models/dbot_vit-huge-p14.py',
    '../_base_/datasets/imagenet_bs128_mkd.py',
    '../_base_/schedules/dbot_adamw_800e.py',
    '../_base_/default_runtime.py',
]
train_dataloader = dict(batch_size=64)
optim_wrapper = dict(accumulative_counts=8)
# the recipe total batch 4096 comes from the schedule (auto_scale_lr)

# keep the last checkpoints (the final one is the next stage's teacher); save
# RNG states so that `--resume` continues bit-identically
default_hooks = dict(
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=3))
custom_hooks = []  # RNGStateHook: a default hook (default_runtime.py)
randomness = dict(seed=0, diff_rank_seed=True)
