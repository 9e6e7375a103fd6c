# Copyright (c) mkd_mm contributors. All rights reserved.
"""Registries of the ``mkd_mm`` scope, children of mmpretrain's.

mkd_mm registers its modules in mmpretrain's registries (configs use
``default_scope='mmpretrain'``). A config that inherits ours by package,
``_base_ = 'mkd_mm::dbot/vitb_2x800e.py'``, gets every inherited dict tagged
``_scope_='mkd_mm'`` by mmengine, and mmengine then builds it from the
registries of the ``mkd_mm`` scope. These children have no modules of their
own: a lookup falls through to mmpretrain (which holds ours) and then to
mmengine, exactly as in the ``mmpretrain`` scope.
"""
from mmengine.registry import FUNCTIONS as MMENGINE_FUNCTIONS
from mmengine.registry import Registry
from mmpretrain import registry as mmpretrain_registry

__all__ = [
    'RUNNERS', 'RUNNER_CONSTRUCTORS', 'LOOPS', 'HOOKS', 'LOG_PROCESSORS',
    'OPTIMIZERS', 'OPTIM_WRAPPERS', 'OPTIM_WRAPPER_CONSTRUCTORS',
    'PARAM_SCHEDULERS', 'DATASETS', 'DATA_SAMPLERS', 'TRANSFORMS', 'MODELS',
    'MODEL_WRAPPERS', 'WEIGHT_INITIALIZERS', 'BATCH_AUGMENTS', 'TASK_UTILS',
    'METRICS', 'EVALUATORS', 'VISUALIZERS', 'VISBACKENDS', 'FUNCTIONS'
]


_LOCATIONS = [
    'mkd_mm', 'mmpretrain.datasets', 'mmpretrain.engine',
    'mmpretrain.evaluation', 'mmpretrain.models', 'mmpretrain.structures',
    'mmpretrain.visualization'
]


def _child(parent: Registry) -> Registry:
    """A registry of scope ``mkd_mm`` below ``parent``.

    ``locations`` are imported before the first lookup: mkd_mm (our modules,
    in the parents) and the packages mmpretrain's ``register_all_modules``
    imports, since a lookup that falls through to a parent does not trigger
    the parent's own lazy import.
    """
    return Registry(
        parent.name, parent=parent, scope='mkd_mm', locations=_LOCATIONS)


RUNNERS = _child(mmpretrain_registry.RUNNERS)
RUNNER_CONSTRUCTORS = _child(mmpretrain_registry.RUNNER_CONSTRUCTORS)
LOOPS = _child(mmpretrain_registry.LOOPS)
HOOKS = _child(mmpretrain_registry.HOOKS)
LOG_PROCESSORS = _child(mmpretrain_registry.LOG_PROCESSORS)
OPTIMIZERS = _child(mmpretrain_registry.OPTIMIZERS)
OPTIM_WRAPPERS = _child(mmpretrain_registry.OPTIM_WRAPPERS)
OPTIM_WRAPPER_CONSTRUCTORS = _child(
    mmpretrain_registry.OPTIM_WRAPPER_CONSTRUCTORS)
PARAM_SCHEDULERS = _child(mmpretrain_registry.PARAM_SCHEDULERS)
DATASETS = _child(mmpretrain_registry.DATASETS)
DATA_SAMPLERS = _child(mmpretrain_registry.DATA_SAMPLERS)
TRANSFORMS = _child(mmpretrain_registry.TRANSFORMS)
MODELS = _child(mmpretrain_registry.MODELS)
MODEL_WRAPPERS = _child(mmpretrain_registry.MODEL_WRAPPERS)
WEIGHT_INITIALIZERS = _child(mmpretrain_registry.WEIGHT_INITIALIZERS)
BATCH_AUGMENTS = _child(mmpretrain_registry.BATCH_AUGMENTS)
TASK_UTILS = _child(mmpretrain_registry.TASK_UTILS)
METRICS = _child(mmpretrain_registry.METRICS)
EVALUATORS = _child(mmpretrain_registry.EVALUATORS)
VISUALIZERS = _child(mmpretrain_registry.VISUALIZERS)
VISBACKENDS = _child(mmpretrain_registry.VISBACKENDS)
# collate functions: mmpretrain has no FUNCTIONS registry of its own
FUNCTIONS = _child(MMENGINE_FUNCTIONS)
