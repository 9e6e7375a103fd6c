# dBOT ViT-B/16, stage 1 of 2 (or 3) run stage by stage: the teacher is a
# random ViT-B (a copy of the student's initial weights), 800 epochs.
#   tools/dist_train.sh configs/dbot/vitb_stage1.py 8
# The final checkpoint (work_dirs/vitb_stage1/epoch_800.pth) is the teacher of
# configs/dbot/vitb_stage2.py. For one run over all stages with the official
# optimizer-state carry-over, use vitb_2x800e.py / vitb_3x800e.py instead.
_base_ = [
    '../_base_/models/dbot_vit-base-p16.py',
    '../_base_/datasets/imagenet_bs128_mkd.py',
    '../_base_/schedules/dbot_adamw_800e.py',
    '../_base_/default_runtime.py',
]
# ViT-B only: gradient clipping at 3.0 (official `--clip_grad 3.0`)
optim_wrapper = dict(clip_grad=dict(max_norm=3.0))

# keep the last checkpoints (the final one is the next stage's teacher); save
# RNG states so that `--resume` continues bit-identically
default_hooks = dict(
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=3))
custom_hooks = []  # RNGStateHook: a default hook (default_runtime.py)
randomness = dict(seed=0, diff_rank_seed=True)
