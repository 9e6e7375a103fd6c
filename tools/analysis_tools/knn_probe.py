# Copyright (c) mkd_mm contributors. All rights reserved.
"""k-NN probe of pre-trained ViT encoders on a classification data set.

Each ``--ckpt`` is ``PATH`` or ``PATH:PREFIX`` (default prefix ``backbone.``,
the student; ``teacher.`` evaluates the teacher stored in an mkd_mm
checkpoint). The encoder architecture is taken from the pre-training config.

Example:
    python tools/analysis_tools/knn_probe.py configs/demo/dbot_demo.py \\
        configs/_base_/datasets/demo_imagenet_eval.py \\
        --ckpt work_dirs/demo/dbot_demo/stage1_final.pth:teacher. \\
        --ckpt work_dirs/demo/dbot_demo/stage2_final.pth
"""
import argparse
import copy
import re
from typing import List, Tuple

import torch
from mmengine.config import Config
from mmengine.dataset import default_collate
from mmengine.registry import init_default_scope
from mmpretrain.registry import DATASETS, MODELS
from torch.utils.data import DataLoader

import mkd_mm  # noqa: F401
from mkd_mm.evaluation import extract_features, knn_accuracy
from mkd_mm.utils import load_checkpoint_file


def parse_args() -> argparse.Namespace:
    """Command-line arguments."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='pre-training config (architecture)')
    parser.add_argument('data_config', help='config with train/val '
                        'dataloaders of a classification data set')
    parser.add_argument('--ckpt', action='append', required=True,
                        help='PATH[:PREFIX], repeatable')
    parser.add_argument('--name', action='append', help='row names')
    parser.add_argument('--k', type=int, default=20)
    parser.add_argument('--temperature', type=float, default=0.07)
    return parser.parse_args()


def build_encoder(model_cfg: dict, ckpt: str, prefix: str) -> torch.nn.Module:
    """A :class:`TeacherViT` holding the encoder stored under ``prefix``.

    Args:
        model_cfg (dict): The pre-training model config.
        ckpt (str): Checkpoint path.
        prefix (str): ``backbone.`` (student) or ``teacher.``.

    Returns:
        torch.nn.Module: The encoder, final norm included for a student.
    """
    sd = load_checkpoint_file(ckpt).get('state_dict', {})
    layer_ids = {
        int(m.group(1))
        for k in sd for m in [re.match(rf'^{re.escape(prefix)}layers\.(\d+)',
                                       k)] if m
    }
    depth = max(layer_ids) + 1 if layer_ids else 0
    part = model_cfg['teacher' if prefix == 'teacher.' else 'backbone']
    arch = copy.deepcopy(part['arch'])
    if isinstance(arch, dict):
        arch['num_layers'] = depth
        arch_depth = None
    else:
        arch_depth = depth
    has_norm = any(k.startswith(prefix + 'ln1.') for k in sd)
    encoder = MODELS.build(
        dict(
            type='TeacherViT',
            arch=arch,
            depth=arch_depth,
            img_size=part.get('img_size', 224),
            patch_size=part.get('patch_size', 16),
            final_norm=has_norm,
            init_cfg=dict(type='Pretrained', checkpoint=ckpt,
                          prefix=prefix)))
    encoder.init_weights()
    return encoder


def run_knn_probe(config: str, data_config: str, ckpts: List[str],
                  k: int = 20, temperature: float = 0.07
                  ) -> List[Tuple[str, float]]:
    """k-NN top-1 accuracy of every checkpoint.

    Args:
        config (str): Pre-training config.
        data_config (str): Classification data config.
        ckpts (List[str]): ``PATH[:PREFIX]`` entries.
        k (int): Neighbours. Defaults to 20.
        temperature (float): Vote temperature. Defaults to 0.07.

    Returns:
        List[Tuple[str, float]]: ``(entry, accuracy %)``.
    """
    init_default_scope('mmpretrain')
    model_cfg = Config.fromfile(config).model.to_dict()
    data = Config.fromfile(data_config)
    preprocessor = MODELS.build(
        dict(type='ClsDataPreprocessor', **data.data_preprocessor))

    def loader(split_cfg):
        ds_cfg = copy.deepcopy(split_cfg.dataset.to_dict())
        ds_cfg['pipeline'] = data.test_pipeline
        return DataLoader(
            DATASETS.build(ds_cfg),
            batch_size=64,
            shuffle=False,
            collate_fn=default_collate)

    train_loader = loader(data.train_dataloader)
    val_loader = loader(data.val_dataloader)
    num_classes = len(train_loader.dataset.metainfo['classes'])
    results = []
    for entry in ckpts:
        path, _, prefix = entry.partition(':')
        encoder = build_encoder(model_cfg, path, prefix or 'backbone.')
        tr = extract_features(encoder, train_loader, preprocessor)
        va = extract_features(encoder, val_loader, preprocessor)
        acc = knn_accuracy(tr[0], tr[1], va[0], va[1], num_classes, k=k,
                           temperature=temperature)
        results.append((entry, acc))
    return results


def main() -> None:
    """Entry point."""
    args = parse_args()
    results = run_knn_probe(args.config, args.data_config, args.ckpt,
                            args.k, args.temperature)
    names = args.name or [r[0] for r in results]
    print(f'| encoder | k-NN top-1 (k={args.k}) |\n|---|---|')
    for name, (_, acc) in zip(names, results):
        print(f'| {name} | {acc:.1f} |')


if __name__ == '__main__':
    main()
