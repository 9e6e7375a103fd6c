# Copyright (c) mkd_mm contributors. All rights reserved.
"""Train a model (pre-training or fine-tuning) with mmengine's ``Runner``.

Examples:
    Single process (GPU if available, else CPU)::

        python tools/train.py configs/demo/mae_demo.py \\
            --work-dir work_dirs/demo/mae_demo

    Distributed (see ``tools/dist_train.sh`` and ``tools/slurm_train.sh``)::

        python -m torch.distributed.run --nproc_per_node 8 \\
            tools/train.py CONFIG --launcher pytorch

The config is read with :meth:`mmengine.config.Config.fromfile`; configs of
this project import ``mkd_mm`` through ``custom_imports`` and declare their
``default_scope`` (``mmpretrain`` unless the config says otherwise), so this
script does not import ``mkd_mm`` itself.

Bad input is rejected before anything is built:

* a config path that does not exist;
* a ``--cfg-options`` key that does not fit the config (see
  :func:`check_cfg_options`): mmengine would silently add it;
* ``--amp`` on a config whose ``optim_wrapper`` is neither ``OptimWrapper``
  nor ``AmpOptimWrapper``;
* ``--auto-scale-lr`` on a config without ``auto_scale_lr.base_batch_size``;
* training data that is not where ``train_dataloader.dataset`` says (see
  :func:`check_train_data`).

On a machine without CUDA, distributed runs (``--launcher pytorch``) use the
``gloo`` backend and CPU ``DistributedDataParallel`` (see
:func:`setup_cpu_distributed`).
"""
import argparse
import datetime
import difflib
import os
import os.path as osp
from copy import deepcopy
from typing import Any, Dict, List, Optional, Sequence

from mmengine.config import Config, ConfigDict, DictAction

#: Top-level keys that ``Runner.from_cfg`` / ``Runner`` read although configs
#: usually leave them out; ``--cfg-options`` may add them.
RUNNER_OPTIONAL_KEYS = (
    'activation_checkpointing',
    'auto_scale_lr',
    'compile',
    'custom_hooks',
    'efficient_conv_bn_eval',
    'experiment_name',
    'find_unused_parameters',
    'launcher',
    'load_from',
    'log_level',
    'model_wrapper_cfg',
    'randomness',
    'resume',
    'runner_type',
    'sync_bn',
    'work_dir',
)


class UsageError(ValueError):
    """A command-line argument that does not fit the config."""


class ConfigOptionError(UsageError):
    """A ``--cfg-options`` key that does not fit the config."""


def add_common_args(parser: argparse.ArgumentParser) -> None:
    """Add the arguments that ``train.py`` and ``test.py`` share.

    Args:
        parser (argparse.ArgumentParser): The parser to extend.
    """
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override some settings in the used config, the key-value pair '
        'in xxx=yyy format will be merged into config file. If the value to '
        'be overwritten is a list, it should be like key="[a,b]" or key=a,b '
        'It also allows nested list/tuple values, e.g. key="[(a,b),(c,d)]" '
        'Note that the quotation marks are necessary and that no white space '
        'is allowed. The top-level key must already exist in the config '
        f'(or be one of {", ".join(RUNNER_OPTIONAL_KEYS)}), and for a nested '
        'key every intermediate dict must exist; only the last part may be '
        'new.')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    parser.add_argument(
        '--allow-unsafe-checkpoint',
        action='store_true',
        help='load every checkpoint of this run with full unpickling '
        '(torch.load weights_only=False). Only for trusted files: by default '
        'mkd_mm loads with weights_only=True and an allow-list, and refuses '
        'files that need more.')
    # torch.distributed.launch passes `--local-rank` (torch >= 2.0) or
    # `--local_rank`; torchrun sets the LOCAL_RANK environment variable.
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)


def apply_checkpoint_policy(args: argparse.Namespace) -> None:
    """Honour ``--allow-unsafe-checkpoint`` (an explicit, logged opt-in).

    Args:
        args (argparse.Namespace): Parsed arguments.
    """
    if getattr(args, 'allow_unsafe_checkpoint', False):
        from mkd_mm.utils import checkpoint_io
        checkpoint_io.register_safe_globals()
        checkpoint_io.ALLOW_UNSAFE_CHECKPOINTS = True
        print('WARNING: --allow-unsafe-checkpoint: checkpoints are unpickled '
              'without weights_only protection; load trusted files only.')


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``tools/train.py``.

    Returns:
        argparse.ArgumentParser: The parser.
    """
    parser = argparse.ArgumentParser(description='Train a model')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='If a checkpoint path is given, resume from it; with no value '
        '(or "auto"), resume from the newest readable training checkpoint '
        'in the work directory if there is one (damaged files are skipped '
        'with a warning).')
    parser.add_argument(
        '--amp',
        action='store_true',
        help='enable automatic-mixed-precision training (AmpOptimWrapper '
        'with a dynamic loss scale)')
    parser.add_argument(
        '--no-validate',
        action='store_true',
        help='whether not to evaluate the checkpoint during training')
    parser.add_argument(
        '--auto-scale-lr',
        action='store_true',
        help='whether to auto scale the learning rate according to the '
        'actual batch size and the original batch size.')
    parser.add_argument(
        '--no-pin-memory',
        action='store_true',
        help='whether to disable the pin_memory option in dataloaders.')
    parser.add_argument(
        '--no-persistent-workers',
        action='store_true',
        help='whether to disable the persistent_workers option in dataloaders.'
    )
    add_common_args(parser)
    return parser


def parse_args(
        argv: Optional[Sequence[str]] = None,
        parser: Optional[argparse.ArgumentParser] = None
) -> argparse.Namespace:
    """Parse the command line of ``tools/train.py``.

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
    return args


def check_config_file(parser: argparse.ArgumentParser, path: str) -> None:
    """Exit with a clear message if the config file does not exist.

    Args:
        parser (argparse.ArgumentParser): Used to report the error.
        path (str): The config path given on the command line.
    """
    if not osp.isfile(path):
        parser.error(f'config file not found: {path!r} '
                     f'(resolved to {osp.abspath(path)!r})')


def _short(value: Any, limit: int = 60) -> str:
    """``repr`` of a value, cut to ``limit`` characters."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + '...'


def _describe_keys(node: Any) -> str:
    """Short listing of the keys of a dict (for error messages)."""
    keys = sorted(str(k) for k in node.keys())
    text = ', '.join(keys[:30])
    return text + (', ...' if len(keys) > 30 else '')


def check_cfg_options(cfg: Config, options: Dict[str, Any]) -> None:
    """Check that every ``--cfg-options`` key fits the config.

    mmengine's ``merge_from_dict`` silently creates keys that do not exist,
    so a typo such as ``train_cfg.max_epoch=1`` (for ``max_epochs``) or
    ``modle.backbone.arch=l`` would otherwise be ignored without notice. The
    rule is deliberately simple:

    * a top-level key must already exist in the config, or be one of
      :data:`RUNNER_OPTIONAL_KEYS` (keys the Runner reads but configs
      usually omit, e.g. ``find_unused_parameters``);
    * for a nested key ``a.b.c``, every intermediate node (``a``, ``a.b``)
      must exist and be a dict, or a list/tuple indexed by an in-range
      integer (``pipeline.1.scale``); only the last part may be new, so
      ``model.teacher.init_cfg`` is accepted when ``model.teacher`` exists.

    A new last part cannot be validated without building the object (any
    keyword may be legal for the class named by ``type``), so it is allowed.

    Args:
        cfg (Config): The loaded config (before merging the options).
        options (Dict[str, Any]): The parsed ``--cfg-options``.

    Raises:
        ConfigOptionError: For the first key that does not fit, naming it.
    """
    for key in options:
        parts = key.split('.')
        if any(part == '' for part in parts):
            raise ConfigOptionError(f'--cfg-options key {key!r} is malformed')
        if len(parts) == 1:
            if key not in cfg and key not in RUNNER_OPTIONAL_KEYS:
                hint = difflib.get_close_matches(key, list(cfg.keys()), n=1)
                raise ConfigOptionError(
                    f'unknown --cfg-options key {key!r}: there is no '
                    f'top-level key {key!r} in the config' +
                    (f' (did you mean {hint[0]!r}?)' if hint else '') +
                    '; top-level keys must already exist (or be one of '
                    f'{", ".join(RUNNER_OPTIONAL_KEYS)}).')
            continue
        node: Any = cfg
        for depth, part in enumerate(parts[:-1]):
            path = '.'.join(parts[:depth + 1])
            parent = '.'.join(parts[:depth]) or 'the config'
            if isinstance(node, (dict, Config)):
                if part not in node:
                    hint = difflib.get_close_matches(
                        part, [str(k) for k in node.keys()], n=1)
                    if depth == 0 and part in RUNNER_OPTIONAL_KEYS:
                        raise ConfigOptionError(
                            f'unknown --cfg-options key {key!r}: {path!r} is '
                            'not in the config; set it as a whole, e.g. '
                            f'{path}="dict(...)"')
                    raise ConfigOptionError(
                        f'unknown --cfg-options key {key!r}: {path!r} does '
                        'not exist in the config' +
                        (f' (did you mean {hint[0]!r}?)' if hint else '') +
                        f'; keys of {parent!r}: {_describe_keys(node)}. '
                        'Only the last part of a key may be new.')
                node = node[part]
            elif isinstance(node, (list, tuple)):
                if not part.isdigit() or int(part) >= len(node):
                    raise ConfigOptionError(
                        f'unknown --cfg-options key {key!r}: {parent!r} is a '
                        f'list of {len(node)} items, so {part!r} must be an '
                        f'index in 0..{len(node) - 1}')
                node = node[int(part)]
            else:
                raise ConfigOptionError(
                    f'unknown --cfg-options key {key!r}: {parent!r} is a '
                    f'{type(node).__name__} ({_short(node)}), not a dict, so '
                    f'it has no key {part!r}')
        last = parts[-1]
        if isinstance(node, (list, tuple)):
            if not last.isdigit() or int(last) >= len(node):
                raise ConfigOptionError(
                    f'unknown --cfg-options key {key!r}: '
                    f'{".".join(parts[:-1])!r} is a list of {len(node)} '
                    f'items, so {last!r} must be an index in '
                    f'0..{len(node) - 1}')
        elif not isinstance(node, (dict, Config)):
            raise ConfigOptionError(
                f'unknown --cfg-options key {key!r}: '
                f'{".".join(parts[:-1])!r} is a {type(node).__name__} '
                f'({_short(node)}), not a dict')


def enable_amp(cfg: Config) -> None:
    """Switch the config's optimizer wrapper to ``AmpOptimWrapper``.

    Args:
        cfg (Config): The config, modified in place.

    Raises:
        UsageError: If there is no ``optim_wrapper`` or its type is neither
            ``OptimWrapper`` nor ``AmpOptimWrapper`` (e.g. an
            ``ApexOptimWrapper`` or a dict of wrappers).
    """
    optim_wrapper = cfg.get('optim_wrapper', None)
    if not isinstance(optim_wrapper, dict):
        raise UsageError('--amp needs an `optim_wrapper` dict in the config')
    wrapper_type = optim_wrapper.get('type', 'OptimWrapper')
    short_type = str(wrapper_type).split('.')[-1]
    if short_type not in ('OptimWrapper', 'AmpOptimWrapper'):
        raise UsageError(
            '--amp switches `optim_wrapper.type` to AmpOptimWrapper, but the '
            f'config uses {wrapper_type!r}, which it cannot replace safely. '
            'Set the wrapper in the config (or with --cfg-options '
            'optim_wrapper.type=...) instead of passing --amp.')
    optim_wrapper['type'] = 'AmpOptimWrapper'
    optim_wrapper.setdefault('loss_scale', 'dynamic')


def amp_device_available() -> bool:
    """Whether a device that ``AmpOptimWrapper`` supports is available."""
    from mmengine.device import (is_cuda_available, is_mlu_available,
                                 is_musa_available, is_npu_available)
    return (is_cuda_available() or is_npu_available() or is_mlu_available()
            or is_musa_available())


def set_default_dataloader_cfg(cfg: Config,
                               field: str,
                               defaults: Dict[str, Any],
                               no_pin_memory: bool = False,
                               no_persistent_workers: bool = False) -> None:
    """Fill dataloader defaults the config leaves out (mmpretrain style).

    ``pin_memory`` defaults to True only when CUDA is available and
    ``persistent_workers`` only when ``num_workers > 0`` (PyTorch rejects it
    otherwise).

    Args:
        cfg (Config): The config, modified in place.
        field (str): ``train_dataloader``, ``val_dataloader`` or
            ``test_dataloader``.
        defaults (Dict[str, Any]): Default keys.
        no_pin_memory (bool): Force ``pin_memory=False``. Defaults to False.
        no_persistent_workers (bool): Force ``persistent_workers=False``.
            Defaults to False.
    """
    if cfg.get(field, None) is None:
        return
    dataloader_cfg = ConfigDict(deepcopy(defaults))
    dataloader_cfg.update(cfg[field])
    if no_pin_memory:
        dataloader_cfg['pin_memory'] = False
    if no_persistent_workers or dataloader_cfg.get('num_workers', 0) == 0:
        dataloader_cfg['persistent_workers'] = False
    cfg[field] = dataloader_cfg


def setup_default_scope(cfg: Config) -> str:
    """Make the config's ``default_scope`` (mmpretrain if unset) current.

    Args:
        cfg (Config): The config, modified in place.

    Returns:
        str: The scope.
    """
    from mmengine.registry import init_default_scope
    scope = cfg.get('default_scope', None) or 'mmpretrain'
    cfg.default_scope = scope
    init_default_scope(scope)
    return scope


def setup_cpu_distributed(cfg: Config, launcher: str) -> None:
    """Make a distributed launch work on a machine without CUDA.

    mmengine 0.10's ``init_dist`` calls ``torch.cuda.set_device`` and wraps
    the model in ``DistributedDataParallel(device_ids=[LOCAL_RANK])``; both
    fail without a GPU. When CUDA is not available this switches the
    ``nccl`` backend to ``gloo``, initialises the process group here (for
    ``--launcher pytorch``; the Runner then skips its own initialisation) and
    sets ``device_ids=None`` for the DDP wrapper. With CUDA it does nothing.

    Args:
        cfg (Config): The config, modified in place.
        launcher (str): The ``--launcher`` value.

    Raises:
        RuntimeError: For ``slurm``/``mpi`` launchers without CUDA.
    """
    import torch
    import torch.distributed as dist
    if launcher == 'none' or torch.cuda.is_available():
        return
    env_cfg = cfg.setdefault('env_cfg', ConfigDict())
    dist_cfg = env_cfg.setdefault('dist_cfg', ConfigDict())
    if dist_cfg.get('backend', 'nccl') == 'nccl':
        dist_cfg['backend'] = 'gloo'
    wrapper = cfg.get('model_wrapper_cfg', None)
    if wrapper is None:
        cfg.model_wrapper_cfg = ConfigDict(
            type='MMDistributedDataParallel',
            device_ids=None,
            broadcast_buffers=False,
            find_unused_parameters=cfg.get('find_unused_parameters', False))
    elif str(wrapper.get('type', 'MMDistributedDataParallel')).split(
            '.')[-1] == 'MMDistributedDataParallel':
        # other wrappers (FSDP, MMSeparateDistributedDataParallel) take no
        # device_ids from the Runner; leave them as configured
        wrapper.setdefault('device_ids', None)
    if launcher != 'pytorch':
        raise RuntimeError(
            f'--launcher {launcher} needs CUDA (mmengine calls '
            'torch.cuda.set_device); on a CPU-only machine use '
            '--launcher pytorch (torchrun / tools/dist_train.sh).')
    if not dist.is_initialized():
        kwargs = {k: v for k, v in dist_cfg.items() if k != 'backend'}
        if 'timeout' in kwargs:
            kwargs['timeout'] = datetime.timedelta(seconds=kwargs['timeout'])
        dist.init_process_group(backend=dist_cfg['backend'], **kwargs)


def merge_args(cfg: Config, args: argparse.Namespace) -> Config:
    """Merge the command-line arguments into the config.

    Args:
        cfg (Config): The loaded config.
        args (argparse.Namespace): Output of :func:`parse_args`.

    Returns:
        Config: The updated config.

    Raises:
        UsageError: If a flag does not fit the config.
    """
    import torch
    if args.no_validate:
        cfg.val_cfg = None
        cfg.val_dataloader = None
        cfg.val_evaluator = None

    cfg.launcher = args.launcher

    # work_dir is determined in this priority: CLI > segment in file > filename
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])

    if args.amp:
        enable_amp(cfg)
        if not amp_device_available():
            raise UsageError(
                '--amp uses mmengine\'s AmpOptimWrapper, which runs only on '
                'CUDA/NPU/MLU/MUSA devices, and none is available here; '
                'train without --amp on the CPU.')

    # resume training
    if args.resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif args.resume is not None:
        cfg.resume = True
        cfg.load_from = args.resume

    if args.auto_scale_lr:
        if not isinstance(cfg.get('auto_scale_lr', None), dict) or \
                'base_batch_size' not in cfg.auto_scale_lr:
            raise UsageError(
                '--auto-scale-lr needs `auto_scale_lr = dict('
                'base_batch_size=N)` in the config (N: the total batch size '
                'the learning rate was set for)')
        cfg.auto_scale_lr.enable = True

    defaults = dict(
        pin_memory=torch.cuda.is_available(),
        persistent_workers=True,
        collate_fn=dict(type='default_collate'))
    for field in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        set_default_dataloader_cfg(cfg, field, defaults, args.no_pin_memory,
                                   args.no_persistent_workers)

    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    return cfg


def choose_resume_checkpoint(cfg: Config, args: argparse.Namespace) -> None:
    """Pick the checkpoint ``--resume`` continues from (readable ones only).

    ``--resume`` / ``--resume auto`` takes the newest *readable* training
    checkpoint of the work directory (``last_checkpoint`` first, then the
    other ``*.pth`` newest first), skipping damaged files with a warning
    that names them, and starts from scratch (with a warning) if there is
    none. ``--resume PATH`` must be readable. See
    :func:`mkd_mm.utils.resume.resolve_resume_checkpoint`.

    Args:
        cfg (Config): The merged config (``work_dir`` set), modified in
            place: ``resume`` and ``load_from``.
        args (argparse.Namespace): Parsed arguments.

    Raises:
        UsageError: If an explicit ``--resume PATH`` cannot be resumed from.
    """
    if args.resume is None:
        return
    from mkd_mm.utils.resume import (CheckpointNotResumableError,
                                     resolve_resume_checkpoint)
    try:
        path = resolve_resume_checkpoint(
            args.resume,
            cfg.work_dir,
            allow_unsafe=getattr(args, 'allow_unsafe_checkpoint', False))
    except CheckpointNotResumableError as e:
        raise UsageError(str(e)) from e
    cfg.resume = path is not None
    cfg.load_from = path


def check_train_data(cfg: Config) -> None:
    """Check the training data paths before the Runner writes anything.

    Args:
        cfg (Config): The final config.

    Raises:
        UsageError: With the message of
            :func:`mkd_mm.datasets.data_checks.check_train_data_cfg`.
    """
    from mkd_mm.datasets.data_checks import (DataCheckError,
                                             check_train_data_cfg)
    try:
        check_train_data_cfg(cfg)
    except DataCheckError as e:
        raise UsageError(str(e)) from e


def build_runner(cfg: Config):
    """Build the Runner (or the ``runner_type`` from the registry).

    Args:
        cfg (Config): The final config.

    Returns:
        mmengine.runner.Runner: The runner.
    """
    from mmengine.registry import RUNNERS
    from mmengine.runner import Runner
    if 'runner_type' not in cfg:
        return Runner.from_cfg(cfg)
    return RUNNERS.build(cfg)


def main(argv: Optional[List[str]] = None) -> None:
    """Entry point of ``tools/train.py``.

    Args:
        argv (List[str], optional): Command-line arguments.
    """
    parser = build_parser()
    args = parse_args(argv, parser)
    check_config_file(parser, args.config)

    cfg = Config.fromfile(args.config)
    try:
        if args.cfg_options is not None:
            check_cfg_options(cfg, args.cfg_options)
        cfg = merge_args(cfg, args)
        check_train_data(cfg)
    except UsageError as e:
        parser.error(str(e))
    setup_default_scope(cfg)
    setup_cpu_distributed(cfg, args.launcher)
    apply_checkpoint_policy(args)
    try:
        choose_resume_checkpoint(cfg, args)
    except UsageError as e:
        parser.error(str(e))

    runner = build_runner(cfg)
    runner.train()


if __name__ == '__main__':
    main()
