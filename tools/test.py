# Copyright (c) mkd_mm contributors. All rights reserved.
"""Test (and evaluate) a checkpoint with mmengine's ``Runner``.

Examples:
    Single process::

        python tools/test.py CONFIG CHECKPOINT --work-dir work_dirs/eval

    Distributed (see ``tools/dist_test.sh`` and ``tools/slurm_test.sh``)::

        python -m torch.distributed.run --nproc_per_node 8 \\
            tools/test.py CONFIG CHECKPOINT --launcher pytorch

The config must define ``test_dataloader``, ``test_cfg`` and
``test_evaluator`` (pre-training configs do not; evaluate their checkpoints
with a benchmark config). Argument checks, the ``--cfg-options`` key check,
the default scope and the CPU-only distributed set-up are shared with
``tools/train.py`` (imported from the same folder).
"""
import argparse
import os
import os.path as osp
import sys
from copy import deepcopy
from typing import List, Optional, Sequence

from mmengine.config import Config

# the helpers shared with tools/train.py (this folder is sys.path[0] when the
# script runs; added explicitly for imports from elsewhere)
sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
import train  # noqa: E402


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``tools/test.py``.

    Returns:
        argparse.ArgumentParser: The parser.
    """
    parser = argparse.ArgumentParser(
        description='mkd_mm: test (and eval) a model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        '--work-dir',
        help='the directory to save the file containing evaluation metrics')
    parser.add_argument('--out', help='the file to output results.')
    parser.add_argument(
        '--out-item',
        choices=['metrics', 'pred'],
        help='To output whether metrics or predictions. '
        'Defaults to output predictions.')
    parser.add_argument(
        '--amp',
        action='store_true',
        help='enable automatic-mixed-precision test')
    parser.add_argument(
        '--show-dir',
        help='directory where the visualization images will be saved.')
    parser.add_argument(
        '--show',
        action='store_true',
        help='whether to display the prediction results in a window.')
    parser.add_argument(
        '--interval',
        type=int,
        default=1,
        help='visualize per interval samples.')
    parser.add_argument(
        '--wait-time',
        type=float,
        default=2,
        help='display time of every window. (second)')
    parser.add_argument(
        '--no-pin-memory',
        action='store_true',
        help='whether to disable the pin_memory option in dataloaders.')
    parser.add_argument(
        '--tta',
        action='store_true',
        help='Whether to enable the Test-Time-Aug (TTA). If the config file '
        'has `tta_pipeline` and `tta_model` fields, use them to determine the '
        'TTA transforms and how to merge the TTA results. Otherwise '
        '(classification and detection configs), use flip TTA (averaged '
        'class scores; mmdet\'s DetTTAModel).')
    train.add_common_args(parser)
    return parser


def parse_args(
        argv: Optional[Sequence[str]] = None,
        parser: Optional[argparse.ArgumentParser] = None
) -> argparse.Namespace:
    """Parse the command line of ``tools/test.py``.

    Args:
        argv (Sequence[str], optional): Arguments; ``sys.argv[1:]`` if None.
        parser (argparse.ArgumentParser, optional): The parser; built with
            :func:`build_parser` if None.

    Returns:
        argparse.Namespace: The parsed arguments.
    """
    parser = parser or build_parser()
    args = parser.parse_args(argv)
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    if args.out is None and args.out_item is not None:
        parser.error('--out-item needs --out (the path of the output file)')
    return args


def check_checkpoint(parser: argparse.ArgumentParser, path: str) -> None:
    """Exit with a clear message if a local checkpoint does not exist.

    Args:
        parser (argparse.ArgumentParser): Used to report the error.
        path (str): The checkpoint argument (URLs are not checked).
    """
    if '://' in path:
        return
    if not osp.isfile(path):
        parser.error(f'checkpoint file not found: {path!r} '
                     f'(resolved to {osp.abspath(path)!r})')


def enable_visualization(cfg: Config, args: argparse.Namespace,
                         scope: str) -> None:
    """Switch on the ``VisualizationHook`` the way each library's tool does.

    mmpretrain's hook takes ``enable``/``out_dir``/``interval``; mmdet's and
    mmseg's take ``draw``/``interval`` and write under ``test_out_dir``
    (mmdet) or the visualizer's ``save_dir`` (mmseg).

    Args:
        cfg (Config): The config, modified in place.
        args (argparse.Namespace): ``show``, ``show_dir``, ``wait_time``,
            ``interval``.
        scope (str): The config's default scope.

    Raises:
        UsageError: If the config has no visualization hook.
    """
    hooks = cfg.get('default_hooks', None) or {}
    if 'visualization' not in hooks:
        raise train.UsageError(
            '--show/--show-dir need a VisualizationHook: set '
            "`default_hooks.visualization=dict(type='VisualizationHook')`")
    hook = hooks['visualization']
    hook.interval = args.interval
    if scope == 'mmpretrain':
        hook.enable = True
        hook.show = args.show
        hook.wait_time = args.wait_time
        hook.out_dir = args.show_dir
        return
    hook.draw = True
    if args.show:
        hook.show = True
        hook.wait_time = args.wait_time
    if args.show_dir is not None:
        if scope == 'mmseg':
            cfg.visualizer.save_dir = args.show_dir
        else:  # mmdet: relative to the run's log folder, as in mmdet
            hook.test_out_dir = args.show_dir


def flip_tta_pipeline(test_pipeline: list, pack: dict) -> list:
    """The test pipeline with its packing step replaced by a flip TTA.

    Args:
        test_pipeline (list): The config's test pipeline.
        pack (dict): The packing transform to run on both views.

    Returns:
        list: The TTA pipeline (original and horizontally flipped view).
    """
    pipeline = deepcopy(test_pipeline)
    pipeline[-1] = dict(
        type='TestTimeAug',
        transforms=[[
            dict(type='RandomFlip', prob=1.),
            dict(type='RandomFlip', prob=0.)
        ], [pack]])
    return pipeline


def enable_tta(cfg: Config, scope: str) -> None:
    """Wrap the model for test-time augmentation (per library).

    mmpretrain: ``tta_model`` (default: averaged class scores) with a flip
    ``tta_pipeline`` derived from the test pipeline if the config has none.
    mmdet and mmseg: the config's ``tta_model`` and ``tta_pipeline`` (their
    base configs define them; a flip pipeline is derived for mmdet as its own
    ``tools/test.py`` does).

    Args:
        cfg (Config): The config, modified in place.
        scope (str): The config's default scope.

    Raises:
        UsageError: If a needed ``tta_model``/``tta_pipeline`` is missing.
    """
    from mmengine.config import ConfigDict
    test_pipeline = cfg.test_dataloader.dataset.pipeline
    if scope == 'mmpretrain':
        cfg.setdefault('tta_model', dict(type='mmpretrain.AverageClsScoreTTA'))
        if 'tta_pipeline' not in cfg:
            cfg.tta_pipeline = flip_tta_pipeline(test_pipeline,
                                                 test_pipeline[-1])
    elif scope == 'mmdet':
        cfg.setdefault(
            'tta_model',
            dict(
                type='DetTTAModel',
                tta_cfg=dict(
                    nms=dict(type='nms', iou_threshold=0.5),
                    max_per_img=100)))
        roi_head = cfg.model.get('roi_head') or {}
        if (str(cfg.tta_model.get('type')).endswith('DetTTAModel')
                and roi_head.get('mask_head') is not None):
            raise train.UsageError(
                "--tta: mmdet's DetTTAModel merges boxes only and refuses "
                'mask predictions, and this config predicts masks '
                '(`model.roi_head.mask_head`); mmdet 3.3 has no TTA for '
                'instance segmentation. Test without --tta.')
        if 'tta_pipeline' not in cfg:
            pack = deepcopy(test_pipeline[-1])
            pack['meta_keys'] = tuple(pack.get('meta_keys', (
                'img_id', 'img_path', 'ori_shape', 'img_shape',
                'scale_factor'))) + ('flip', 'flip_direction')
            cfg.tta_pipeline = flip_tta_pipeline(test_pipeline, pack)
    missing = [k for k in ('tta_model', 'tta_pipeline') if k not in cfg]
    if missing:
        raise train.UsageError(
            f'--tta needs `{"` and `".join(missing)}` in a {scope} config '
            "(mmseg's default_runtime.py and dataset bases define them)")
    cfg.model = ConfigDict(**cfg.tta_model, module=cfg.model)
    cfg.test_dataloader.dataset.pipeline = cfg.tta_pipeline


def merge_args(cfg: Config, args: argparse.Namespace) -> Config:
    """Merge the command-line arguments into the config.

    Args:
        cfg (Config): The loaded config.
        args (argparse.Namespace): Output of :func:`parse_args`.

    Returns:
        Config: The updated config.

    Raises:
        UsageError: If the config cannot be tested or a flag does not fit.
    """
    import torch

    missing = [
        k for k in ('test_dataloader', 'test_cfg', 'test_evaluator')
        if cfg.get(k, None) is None
    ]
    if missing:
        raise train.UsageError(
            f'the config has no {", ".join(missing)}; it cannot be tested '
            '(pre-training configs are evaluated through a benchmark config)')

    # testing needs none of the training or validation parts (a config may
    # define only some of them, e.g. a dataset base without a schedule); the
    # Runner would insist on all or none of each group
    for key in ('train_dataloader', 'train_cfg', 'optim_wrapper',
                'param_scheduler', 'val_dataloader', 'val_cfg',
                'val_evaluator'):
        cfg[key] = None

    cfg.launcher = args.launcher

    # work_dir is determined in this priority: CLI > segment in file > filename
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])

    cfg.load_from = args.checkpoint

    if args.amp:
        cfg.test_cfg.fp16 = True

    scope = cfg.get('default_scope', None) or 'mmpretrain'
    if args.show or (args.show_dir is not None):
        enable_visualization(cfg, args, scope)
    if args.tta:
        enable_tta(cfg, scope)

    defaults = train.dataloader_defaults(cfg)
    defaults.update(pin_memory=torch.cuda.is_available())
    train.set_default_dataloader_cfg(cfg, 'test_dataloader', defaults,
                                     args.no_pin_memory)

    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    train.drop_collate_scopes(cfg)
    train.check_collate_fns(cfg)
    return cfg


def main(argv: Optional[List[str]] = None) -> None:
    """Entry point of ``tools/test.py``.

    Args:
        argv (List[str], optional): Command-line arguments.
    """
    import mmengine
    from mmengine.evaluator import DumpResults

    parser = build_parser()
    args = parse_args(argv, parser)
    train.check_config_file(parser, args.config)
    check_checkpoint(parser, args.checkpoint)

    cfg = train.load_config(args.config)
    try:
        if args.cfg_options is not None:
            train.log_created_keys(
                train.check_cfg_options(cfg, args.cfg_options))
        cfg = merge_args(cfg, args)
    except train.UsageError as e:
        parser.error(str(e))
    train.setup_default_scope(cfg)
    train.setup_cpu_distributed(cfg, args.launcher)
    train.apply_checkpoint_policy(args)

    runner = train.build_runner(cfg)

    if args.out and args.out_item in ['pred', None]:
        runner.test_evaluator.metrics.append(
            DumpResults(out_file_path=args.out))

    metrics = runner.test()

    if args.out and args.out_item == 'metrics':
        mmengine.dump(metrics, args.out)


if __name__ == '__main__':
    main()
