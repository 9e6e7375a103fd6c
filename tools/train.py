# Copyright (c) mkd_mm contributors. All rights reserved.
"""Train a model (pre-training or fine-tuning) with mmengine's ``Runner``.

Examples:
    Single process (GPU if available, else CPU)::

        python tools/train.py configs/demo/mae_demo.py \\
            --work-dir work_dirs/demo/mae_demo

    Distributed (see ``tools/dist_train.sh`` and ``tools/slurm_train.sh``)::

        python -m torch.distributed.run --nproc_per_node 8 \\
            tools/train.py CONFIG --launcher pytorch

The config is read with :meth:`mmengine.config.Config.fromfile` after the
``mkd_mm::`` config scope is registered (:func:`load_config`), so user
configs may inherit ours by package; configs declare their ``default_scope``
(``mmpretrain`` unless the config says otherwise). Dataloader defaults follow
each library (:func:`dataloader_defaults`).

Bad input is rejected before anything is built:

* a config path that does not exist;
* a ``--cfg-options`` key that looks like a typo of an existing one, or sits
  under a missing top-level key, and ``dict(...)`` values (see
  :func:`check_cfg_options` and :class:`CfgOptionsAction`); new nested keys
  are created as in mmengine and listed once;
* a stacking collate function on an mmdet/mmseg dataloader
  (:func:`check_collate_fns`);
* a ``Pretrained`` ``init_cfg`` without a checkpoint, or with a missing file
  (:func:`check_init_checkpoints`);
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
import re
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

#: ``difflib`` ratio above which a new ``--cfg-options`` key is taken for a
#: misspelt existing one (``max_epoch`` vs ``max_epochs`` is 0.95,
#: ``backbnoe`` vs ``backbone`` 0.875, ``init_cfg`` vs ``img_size`` 0.25).
TYPO_CUTOFF = 0.85


class CfgOptionsAction(DictAction):
    """mmengine's ``DictAction``, refusing ``key=dict(...)`` values first.

    ``DictAction`` parses numbers, booleans, ``None``, strings and
    ``[...]``/``(...)`` lists; on a ``dict(...)`` value it recurses until
    Python gives up (``RecursionError``). Such a value gets a usage error
    that shows the dotted keys to use instead.
    """

    def __call__(self, parser, namespace, values, option_string=None):
        for kv in values:
            key, _, value = kv.partition('=')
            if re.match(r'^\s*dict\s*\(', value):
                parser.error(
                    f'--cfg-options {kv}: mmengine cannot parse a dict(...) '
                    'value on the command line; set its keys one by one '
                    f'instead, e.g. {key}.type=... {key}.checkpoint=... '
                    '(new nested keys are created).')
        super().__call__(parser, namespace, values, option_string)


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
        action=CfgOptionsAction,
        help='override some settings in the used config, the key-value pair '
        'in xxx=yyy format will be merged into config file. If the value to '
        'be overwritten is a list, it should be like key="[a,b]" or key=a,b '
        'It also allows nested list/tuple values, e.g. key="[(a,b),(c,d)]" '
        'Note that the quotation marks are necessary and that no white space '
        'is allowed. The top-level key must already exist in the config '
        f'(or be one of {", ".join(RUNNER_OPTIONAL_KEYS)}); below it new '
        'keys and nested dicts are created as in mmengine, but a new key '
        'that looks like a typo of an existing one is an error.')
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


def load_config(path: str) -> Config:
    """Read a config, with ``mkd_mm::`` bases resolvable.

    mmengine resolves ``_base_ = 'pkg::path'`` only for packages in its
    ``MODULE2PACKAGE`` table, and it reads the bases before it runs the
    config's ``custom_imports``; so the ``mkd_mm`` scope is registered here,
    before the file is parsed.

    Args:
        path (str): Config file.

    Returns:
        Config: The loaded config.
    """
    from mkd_mm.utils.config_scope import register_config_scope
    register_config_scope()
    return Config.fromfile(path)


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


def _close_match(name: str, candidates: Sequence[Any]) -> Optional[str]:
    """The existing key that ``name`` most likely misspells, if any."""
    hint = difflib.get_close_matches(
        name, [str(c) for c in candidates], n=1, cutoff=TYPO_CUTOFF)
    return hint[0] if hint else None


def check_cfg_options(cfg: Config, options: Dict[str, Any]) -> List[str]:
    """Check that every ``--cfg-options`` key fits the config.

    mmengine's ``merge_from_dict`` silently creates keys that do not exist,
    so a typo such as ``train_cfg.max_epoch=1`` (for ``max_epochs``) or
    ``modle.backbone.arch=l`` would otherwise be ignored without notice. The
    rules:

    * a top-level key must already exist in the config, or be one of
      :data:`RUNNER_OPTIONAL_KEYS` (keys the Runner reads but configs
      usually omit, e.g. ``find_unused_parameters``);
    * below it, new keys and new nested dicts may be created, as in plain
      mmengine (``model.teacher.init_cfg.type=Pretrained`` on a teacher
      without ``init_cfg``), unless a new key is a near-miss of an existing
      sibling (``train_cfg.max_epoch``, ``model.backbnoe.arch``): that is
      reported as a typo with "did you mean";
    * a list/tuple is indexed by an in-range integer (``pipeline.1.scale``);
      a key cannot go below a value that is not a dict (``model.type.x``);
    * ``dict(...)`` values are refused earlier, by
      :class:`CfgOptionsAction`.

    Args:
        cfg (Config): The loaded config (before merging the options).
        options (Dict[str, Any]): The parsed ``--cfg-options``.

    Returns:
        List[str]: The keys that do not exist yet and will be created (for a
        log line).

    Raises:
        ConfigOptionError: For the first key that does not fit, naming it.
    """
    created = []
    for key in options:
        parts = key.split('.')
        if any(part == '' for part in parts):
            raise ConfigOptionError(f'--cfg-options key {key!r} is malformed')
        top = parts[0]
        if top not in cfg:
            if top in RUNNER_OPTIONAL_KEYS:
                created.append(key)
                continue
            hint = difflib.get_close_matches(top, list(cfg.keys()), n=1)
            where = (f'there is no top-level key {top!r} in the config'
                     if len(parts) == 1 else
                     f'{top!r} does not exist in the config')
            raise ConfigOptionError(
                f'unknown --cfg-options key {key!r}: {where}' +
                (f' (did you mean {hint[0]!r}?)' if hint else '') +
                '; top-level keys must already exist (or be one of '
                f'{", ".join(RUNNER_OPTIONAL_KEYS)}).')
        node: Any = cfg[top]
        for depth, part in enumerate(parts[1:], start=1):
            parent = '.'.join(parts[:depth])
            if isinstance(node, (list, tuple)):
                if not part.isdigit() or int(part) >= len(node):
                    raise ConfigOptionError(
                        f'unknown --cfg-options key {key!r}: {parent!r} is a '
                        f'list of {len(node)} items, so {part!r} must be an '
                        f'index in 0..{len(node) - 1}')
                node = node[int(part)]
                continue
            if not isinstance(node, (dict, Config)):
                raise ConfigOptionError(
                    f'unknown --cfg-options key {key!r}: {parent!r} is a '
                    f'{type(node).__name__} ({_short(node)}), not a dict, so '
                    f'it has no key {part!r}')
            if part in node:
                node = node[part]
                continue
            hint = _close_match(part, list(node.keys()))
            if hint is not None:
                raise ConfigOptionError(
                    f'unknown --cfg-options key {key!r}: '
                    f'{".".join(parts[:depth + 1])!r} does not exist in the '
                    f'config (did you mean {hint!r}?); keys of {parent!r}: '
                    f'{_describe_keys(node)}. A new key that close to an '
                    'existing one is taken for a typo.')
            created.append(key)
            break
    return created


def log_created_keys(created: Sequence[str]) -> None:
    """Say once which ``--cfg-options`` keys are new to the config.

    Args:
        created (Sequence[str]): Keys returned by :func:`check_cfg_options`.
    """
    if created:
        print('--cfg-options: creating keys that the config does not have: '
              + ', '.join(created))


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


#: collate functions that stack every field into one tensor: wrong for the
#: variable-size images and instance lists of mmdet/mmseg data samples
STACKING_COLLATES = ('default_collate', 'mmengine.default_collate')
#: scopes whose data samples need mmengine's ``pseudo_collate`` (the Runner's
#: default when a dataloader names no ``collate_fn``)
PSEUDO_COLLATE_SCOPES = ('mmdet', 'mmseg')


def dataloader_defaults(cfg: Config) -> Dict[str, Any]:
    """The dataloader keys a config may leave out, by library convention.

    mmpretrain's ``tools/train.py`` fills in
    ``collate_fn=dict(type='default_collate')`` (its packed inputs have one
    size), while mmdet and mmseg leave it to the Runner, whose default
    ``pseudo_collate`` keeps their variable-size images in lists. So the
    collate function is added only for mmpretrain-scoped configs.

    Args:
        cfg (Config): The loaded config.

    Returns:
        Dict[str, Any]: Default dataloader keys.
    """
    scope = cfg.get('default_scope', None) or 'mmpretrain'
    if scope in PSEUDO_COLLATE_SCOPES:
        return {}
    return dict(collate_fn=dict(type='default_collate'))


def drop_collate_scopes(cfg: Config) -> None:
    """Remove the ``_scope_`` mmengine puts on inherited collate functions.

    A config inheriting by package (``_base_ = 'mkd_mm::...'``) gets
    ``_scope_`` on the first typed dict of every branch, ``collate_fn``
    included; the Runner passes every key but ``type`` of ``collate_fn`` to
    the function, which then fails on ``_scope_``. Collate functions are
    looked up by name in mmengine's ``FUNCTIONS``, so the scope is not
    needed.

    Args:
        cfg (Config): The config, modified in place.
    """
    for field in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        loader = cfg.get(field, None)
        if isinstance(loader, dict) and isinstance(
                loader.get('collate_fn'), dict):
            loader['collate_fn'].pop('_scope_', None)


def check_collate_fns(cfg: Config) -> None:
    """Refuse a stacking collate function on mmdet/mmseg dataloaders.

    Args:
        cfg (Config): The merged config.

    Raises:
        UsageError: Naming the dataloader and the collate function needed.
    """
    scope = cfg.get('default_scope', None) or 'mmpretrain'
    if scope not in PSEUDO_COLLATE_SCOPES:
        return
    for field in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        loader = cfg.get(field, None)
        if not isinstance(loader, dict):
            continue
        collate = loader.get('collate_fn') or {}
        if collate.get('type') in STACKING_COLLATES:
            raise UsageError(
                f'`{field}.collate_fn` is {collate.get("type")!r}, but '
                f'{scope} batches hold images of different sizes and '
                'per-image instances, which it cannot stack; remove the key '
                "(the Runner then uses mmengine's pseudo_collate, as "
                f"{scope}'s own configs do) or set "
                f"`{field}.collate_fn=dict(type='pseudo_collate')`.")


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

    defaults = dataloader_defaults(cfg)
    defaults.update(
        pin_memory=torch.cuda.is_available(), persistent_workers=True)
    for field in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        set_default_dataloader_cfg(cfg, field, defaults, args.no_pin_memory,
                                   args.no_persistent_workers)

    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    drop_collate_scopes(cfg)
    check_collate_fns(cfg)
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


def check_init_checkpoints(cfg: Config) -> None:
    """Check every ``init_cfg=dict(type='Pretrained', ...)`` of the model.

    A ``checkpoint`` that is unset (the transfer configs leave it to the
    user) or a local file that does not exist is reported with the config
    key to set, before the Runner writes anything. URLs and model-zoo names
    (``mmpretrain://...``) are left to the loaders.

    Args:
        cfg (Config): The final config.

    Raises:
        UsageError: Naming the key and the expected value.
    """

    def visit(node: Any, path: str) -> None:
        if isinstance(node, dict):
            init = node.get('init_cfg')
            if isinstance(init, dict) and init.get('type') == 'Pretrained':
                key = f'{path}.init_cfg.checkpoint'
                ckpt = init.get('checkpoint')
                if not ckpt:
                    raise UsageError(
                        f'`{key}` is not set: this config starts from '
                        'pre-trained weights; pass --cfg-options '
                        f'{key}=PATH (a pre-training or fine-tuning '
                        'checkpoint), or set init_cfg=None to start from '
                        'random weights.')
                if isinstance(ckpt, str) and '://' not in ckpt and \
                        not osp.isfile(ckpt):
                    raise UsageError(
                        f'`{key}` = {ckpt!r}: no such file (resolved to '
                        f'{osp.abspath(ckpt)!r}); pass --cfg-options '
                        f'{key}=PATH.')
            for k, v in node.items():
                if k != 'init_cfg':
                    visit(v, f'{path}.{k}')
        elif isinstance(node, (list, tuple)):
            for i, v in enumerate(node):
                visit(v, f'{path}.{i}')

    visit(cfg.get('model', None), 'model')


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

    cfg = load_config(args.config)
    try:
        if args.cfg_options is not None:
            log_created_keys(check_cfg_options(cfg, args.cfg_options))
        cfg = merge_args(cfg, args)
        check_train_data(cfg)
        check_init_checkpoints(cfg)
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
