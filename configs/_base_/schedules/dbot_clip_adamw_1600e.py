# Optimisation of the dBOT data-richer (CLIP) recipe (Tab. A1 col. 3, official
# `beit` branch PRETRAIN.md / run.sh / optim_factory.py): AdamW lr 3e-3
# (absolute, for 4096 images per step), betas (0.9, 0.98), eps 1e-6, weight
# decay 0.05 constant with no decay on 1-D parameters (norms, biases, q/v
# biases, layer scales), `cls_token` and `pos_embed` (the mask token and the
# relative position bias table ARE decayed, as in the official
# `no_weight_decay() = {'pos_embed', 'cls_token'}`), gradient clipping 3.0,
# 10 warm-up epochs from 0 then cosine to 1e-5, 1 stage of 1600 epochs.
#
# Reference batch: 8 GPUs x 128 images x 4 accumulation steps = 4096 (the
# official 32 GPUs x 128). With another setup change
# `optim_wrapper.accumulative_counts` or use `--auto-scale-lr` (scales
# against 1024 = 8 x 128 real images per step).
optim_wrapper = dict(
    type='AmpOptimWrapper',
    loss_scale='dynamic',
    accumulative_counts=4,
    optimizer=dict(
        type='AdamW', lr=3e-3, betas=(0.9, 0.98), eps=1e-6, weight_decay=0.05),
    clip_grad=dict(max_norm=3.0),
    paramwise_cfg=dict(
        norm_decay_mult=0.0,
        bias_decay_mult=0.0,
        flat_decay_mult=0.0,
        custom_keys={
            'backbone.cls_token': dict(decay_mult=0.0),
            'backbone.pos_embed': dict(decay_mult=0.0),
        }))
param_scheduler = [
    dict(
        type='StagedWarmupCosineLR',
        stage_ends=[1600],
        warmup=10,
        eta_min=1e-5,
        by_epoch=True,
        convert_to_iter_based=True)
]
# mmengine's EpochBasedTrainLoop, plus an exact mid-epoch resume
train_cfg = dict(type='ResumableEpochBasedTrainLoop', max_epochs=1600)
auto_scale_lr = dict(base_batch_size=1024, enable=False)
