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
        'TTA transforms and how to merge the TTA results. Otherwise, use flip '
        'TTA by averaging classification score.')
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
    from mmengine.config import ConfigDict

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

    # -------------------- visualization --------------------
    if args.show or (args.show_dir is not None):
        if 'visualization' not in cfg.get('default_hooks', {}):
            raise train.UsageError(
                '--show/--show-dir need a VisualizationHook: set '
                "`default_hooks.visualization=dict(type='VisualizationHook')`")
        cfg.default_hooks.visualization.enable = True
        cfg.default_hooks.visualization.show = args.show
        cfg.default_hooks.visualization.wait_time = args.wait_time
        cfg.default_hooks.visualization.out_dir = args.show_dir
        cfg.default_hooks.visualization.interval = args.interval

    # -------------------- TTA related args --------------------
    if args.tta:
        if 'tta_model' not in cfg:
            cfg.tta_model = dict(type='mmpretrain.AverageClsScoreTTA')
        if 'tta_pipeline' not in cfg:
            test_pipeline = cfg.test_dataloader.dataset.pipeline
            cfg.tta_pipeline = deepcopy(test_pipeline)
            flip_tta = dict(
                type='TestTimeAug',
                transforms=[
                    [
                        dict(type='RandomFlip', prob=1.),
                        dict(type='RandomFlip', prob=0.)
                    ],
                    [test_pipeline[-1]],
                ])
            cfg.tta_pipeline[-1] = flip_tta
        cfg.model = ConfigDict(**cfg.tta_model, module=cfg.model)
        cfg.test_dataloader.dataset.pipeline = cfg.tta_pipeline

    defaults = dict(
        pin_memory=torch.cuda.is_available(),
        collate_fn=dict(type='default_collate'))
    train.set_default_dataloader_cfg(cfg, 'test_dataloader', defaults,
                                     args.no_pin_memory)

    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
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

    cfg = Config.fromfile(args.config)
    try:
        if args.cfg_options is not None:
            train.check_cfg_options(cfg, args.cfg_options)
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
