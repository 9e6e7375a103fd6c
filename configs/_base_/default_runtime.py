# Runtime defaults of mkd_mm (mmpretrain 1.x style). Leaf configs inherit it.
# defaults to use registries in mmpretrain; mkd_mm registers into them.
default_scope = 'mmpretrain'

# import mkd_mm so that its modules are registered; fail loudly if it cannot
custom_imports = dict(imports=['mkd_mm'], allow_failed_imports=False)

# configure default hooks
default_hooks = dict(
    # record the time of every iteration.
    timer=dict(type='IterTimerHook'),

    # check the training data at start-up (empty data set, images smaller
    # than a fixed crop, first samples through the pipeline) and log the
    # samples skipped by StrictLoadImageFromFile(skip_corrupt=True) (mkd_mm).
    data_check=dict(type='mmpretrain.DataCheckHook'),

    # print log every 100 iterations.
    logger=dict(type='LoggerHook', interval=100),

    # enable the parameter scheduler.
    param_scheduler=dict(type='ParamSchedulerHook'),

    # save checkpoint per epoch. For long epochs, save every N iterations
    # as well: dict(type='CheckpointHook', by_epoch=False, interval=N);
    # pre-training configs resume mid-epoch exactly
    # (ResumableEpochBasedTrainLoop + ResumableSampler).
    checkpoint=dict(type='CheckpointHook', interval=1),

    # set sampler seed in distributed evrionment.
    sampler_seed=dict(type='DistSamplerSeedHook'),

    # validation results visualization, set True to enable it.
    visualization=dict(type='VisualizationHook', enable=False),

    # refuse to write a checkpoint with NaN/Inf weights (mkd_mm).
    finite_checkpoint=dict(type='mmpretrain.FiniteCheckpointHook'),

    # RNG states in every checkpoint, restored by `--resume` (exact resume);
    # a dict key, so it merges through `_base_` (unlike `custom_hooks`).
    # The scope prefix lets mmdet/mmseg-scoped configs build it too.
    rng_state=dict(type='mmpretrain.RNGStateHook'),
)

# configure environment
env_cfg = dict(
    # whether to enable cudnn benchmark
    cudnn_benchmark=False,

    # set multi process parameters
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),

    # set distributed parameters; tools/train.py and tools/test.py switch the
    # backend to 'gloo' when CUDA is not available (CPU-only runs).
    dist_cfg=dict(backend='nccl'),
)

# DDP wrapper that runs the distillers' own train_step (non-finite guard);
# the frozen teacher is never wrapped, so no unused parameters.
model_wrapper_cfg = dict(
    type='mmpretrain.DistillerDistributedDataParallel',
    broadcast_buffers=False,
    find_unused_parameters=False)

# set visualizer
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='UniversalVisualizer', vis_backends=vis_backends)

# mmengine's Runner, with the total batch = processes x per-process batch x
# accumulative_counts logged and used by `auto_scale_lr` (mkd_mm)
runner_type = 'mmpretrain.MKDRunner'

# set log level
log_level = 'INFO'

# load from which checkpoint
load_from = None

# whether to resume training from the loaded checkpoint
resume = False

# a fixed seed by default (reproducible demos); the same seed on every rank
randomness = dict(seed=0, diff_rank_seed=False, deterministic=False)
