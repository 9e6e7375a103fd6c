# Copyright (c) mkd_mm contributors. All rights reserved.
"""DMAE end-to-end demo on the synthetic demo data, a few minutes on a CPU.

1. pre-trains a tiny MAE **teacher** (8 blocks, 192-d)
   (``configs/demo/dmae_demo_teacher.py``);
2. distils a tiny **DMAE student** (4 blocks, 96-d) from it
   (``configs/demo/dmae_demo.py``);
3. trains the same student with plain **MAE** for the same number of steps
   (``configs/demo/dmae_demo_mae.py``);
4. probes every encoder on the classification split of the demo set
   (``data/demo/imagenet``: features of the ``train`` images form the bank /
   training set, accuracy is measured on ``val``): weighted k-NN (k=20,
   cosine, temperature 0.07) and a linear probe (logistic regression), both
   on the average of the final-norm patch tokens, centre crops, no
   augmentation; and measures how much of the teacher each student has
   absorbed ("teacher fit": a ridge-regression map from the student's
   aligned block to the teacher's, fitted on train tokens, scored by R^2 on
   val tokens, the same protocol for every student).

The students are loaded from their checkpoints with ``prefix='backbone.'``,
i.e. exactly what a downstream user would load. Results are printed and
written to ``<work-dir>/results.json``.

Example:
    python tools/demo/dmae_demo.py --work-dir work_dirs/demo/dmae_demo
    # faster smoke run
    python tools/demo/dmae_demo.py --teacher-epochs 2 --student-epochs 2
"""
import argparse
import json
import os
import os.path as osp
import subprocess
import sys
import time
from typing import Dict, List, Optional, Tuple

import torch
import torch.nn.functional as F

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = dict(
    teacher=osp.join(ROOT, 'configs/demo/dmae_demo_teacher.py'),
    dmae=osp.join(ROOT, 'configs/demo/dmae_demo.py'),
    mae=osp.join(ROOT, 'configs/demo/dmae_demo_mae.py'))


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(description='DMAE CPU demo')
    parser.add_argument('--work-dir', default='work_dirs/demo/dmae_demo')
    parser.add_argument(
        '--data-root',
        default='data/demo/imagenet',
        help='ImageNet-style demo set (made by tools/data/make_demo_data.py '
        'if missing)')
    parser.add_argument(
        '--teacher-epochs',
        type=int,
        default=None,
        help='default: the teacher config (40)')
    parser.add_argument(
        '--student-epochs',
        type=int,
        default=None,
        help='default: the student config (30)')
    parser.add_argument(
        '--reuse-teacher',
        action='store_true',
        help='skip step 1 if the teacher checkpoint exists')
    parser.add_argument('--num-workers', type=int, default=2)
    parser.add_argument(
        '--threads',
        type=int,
        default=max(1, (os.cpu_count() or 2) // 2),
        help='torch intra-op threads (default: half the '
        'cores)')
    return parser.parse_args(argv)


def ensure_data(data_root: str) -> None:
    """Generate the demo data with the project's generator if missing."""
    if osp.isfile(osp.join(data_root, 'meta', 'train.txt')):
        return
    out = osp.dirname(osp.abspath(data_root.rstrip('/')))
    print(f'demo data missing at {data_root}; generating into {out}')
    subprocess.run([
        sys.executable,
        osp.join(ROOT, 'tools/data/make_demo_data.py'), '--out', out
    ],
                   check=True)


def train(name: str,
          work_dir: str,
          data_root: str,
          epochs: Optional[int],
          num_workers: int,
          extra: Optional[dict] = None) -> Tuple[str, float]:
    """Train one config with an mmengine Runner.

    Returns:
        Tuple[str, float]: The final checkpoint and the wall time.
    """
    from mmengine.config import Config
    from mmengine.runner import Runner
    cfg = Config.fromfile(CONFIGS[name])
    cfg.work_dir = work_dir
    # quiet console (mmengine warns once per frozen teacher tensor); the
    # losses are read back from the visualizer's scalars below
    cfg.log_level = 'ERROR'
    loader = cfg.train_dataloader
    loader.num_workers = num_workers
    loader.persistent_workers = num_workers > 0
    loader.dataset.data_root = data_root
    if epochs is not None:
        cfg.train_cfg.max_epochs = epochs
        cfg.param_scheduler[0].stage_ends = [epochs]
        cfg.param_scheduler[0].warmup = min(cfg.param_scheduler[0].warmup,
                                            max(epochs - 1, 0))
    if extra:
        cfg.merge_from_dict(extra)
    start = time.time()
    runner = Runner.from_cfg(cfg)
    runner.train()
    elapsed = time.time() - start
    ckpt = osp.join(work_dir, f'epoch_{cfg.train_cfg.max_epochs}.pth')
    assert osp.isfile(ckpt), ckpt
    _print_losses(osp.join(runner.log_dir, 'vis_data', 'scalars.json'))
    print(f'      {runner.iter} iterations in {elapsed:.0f}s -> {ckpt}')
    return ckpt, elapsed


def _print_losses(scalars: str) -> None:
    """Print the first and last logged losses of a run."""
    if not osp.isfile(scalars):
        return
    with open(scalars) as f:
        rows = [json.loads(line) for line in f if line.strip()]
    rows = [r for r in rows if 'loss' in r]
    for tag, row in (('first', rows[0]), ('last', rows[-1])) if rows else ():
        losses = ', '.join(f'{k} {v:.4f}' for k, v in row.items()
                           if 'loss' in k or k.startswith('align'))
        print(f'      {tag} logged (iter {row.get("iter")}): {losses}')


def load_encoder(name: str, checkpoint: Optional[str]) -> torch.nn.Module:
    """Build a config's encoder and load ``backbone.*`` from a checkpoint."""
    from mmengine.config import Config
    from mmpretrain.registry import MODELS

    from mkd_mm.utils.checkpoint_io import load_checkpoint_file
    cfg = Config.fromfile(CONFIGS[name])
    encoder = MODELS.build(cfg.model.backbone)
    encoder.init_weights()
    if checkpoint is not None:
        sd = load_checkpoint_file(checkpoint)['state_dict']
        sd = {
            k[len('backbone.'):]: v
            for k, v in sd.items() if k.startswith('backbone.')
        }
        encoder.load_state_dict(sd, strict=True)
    encoder.eval()
    return encoder


def probe_data(data_root: str,
               split: str) -> Tuple[torch.Tensor, torch.Tensor]:
    """Centre-cropped, normalised images and labels of a split."""
    from mmengine.config import Config
    from mmengine.dataset import default_collate
    from mmengine.registry import init_default_scope
    from mmpretrain.registry import DATASETS
    init_default_scope('mmpretrain')
    base = Config.fromfile(
        osp.join(ROOT, 'configs/_base_/datasets/demo_imagenet_eval.py'))
    dataset = DATASETS.build(
        dict(
            type='ImageNet',
            data_root=data_root,
            ann_file=f'meta/{split}.txt',
            data_prefix=split,
            pipeline=base.test_pipeline))
    batch = default_collate([dataset[i] for i in range(len(dataset))])
    imgs = batch['inputs'].float()[:, [2, 1, 0]]  # BGR -> RGB
    mean = torch.tensor(base.data_preprocessor.mean).view(1, 3, 1, 1)
    std = torch.tensor(base.data_preprocessor.std).view(1, 3, 1, 1)
    labels = torch.tensor([ds.gt_label.item() for ds in batch['data_samples']])
    return (imgs - mean) / std, labels


@torch.no_grad()
def features(encoder: torch.nn.Module, imgs: torch.Tensor) -> torch.Tensor:
    """Average of the final-norm patch tokens."""
    out = [encoder(chunk, mask=None)[0] for chunk in imgs.split(100)]
    return torch.cat(out)[:, 1:].mean(1)


def knn_accuracy(train_f: torch.Tensor,
                 train_y: torch.Tensor,
                 val_f: torch.Tensor,
                 val_y: torch.Tensor,
                 k: int = 20,
                 temperature: float = 0.07) -> float:
    """Weighted k-NN top-1 accuracy (cosine similarity, DINO-style).

    Uses the project's shared implementation (:mod:`mkd_mm.evaluation`).
    """
    from mkd_mm.evaluation import knn_accuracy as _knn
    return _knn(
        train_f,
        train_y,
        val_f,
        val_y,
        int(train_y.max()) + 1,
        k=k,
        temperature=temperature)


@torch.no_grad()
def block_tokens(encoder: torch.nn.Module, imgs: torch.Tensor,
                 block: int) -> torch.Tensor:
    """Raw output of one block on the full image, ``(M * (1 + N), C)``."""
    from mkd_mm.models import mask_info_from_mask
    out = []
    for chunk in imgs.split(100):
        info = mask_info_from_mask(
            torch.zeros(chunk.shape[0], encoder.num_patches))
        out.append(
            encoder.forward_masked(chunk, info, return_layers=[block])[1][0])
    return torch.cat(out).flatten(0, 1)


def teacher_feature_fit(train_s: torch.Tensor,
                        train_t: torch.Tensor,
                        val_s: torch.Tensor,
                        val_t: torch.Tensor,
                        ridge: float = 1e-3) -> float:
    """How well a student block predicts the teacher block (R^2).

    A linear map (ridge regression with bias, fitted on the train tokens)
    from student tokens to teacher tokens, scored on the val tokens by the
    coefficient of determination ``1 - SSE / SST`` (SST around the train
    mean of the teacher tokens; 1 = perfectly predicted, 0 = no better than
    the mean token). The same protocol is used for every student, so the
    DMAE student's own projector plays no role.
    """
    x = torch.cat([train_s, torch.ones(len(train_s), 1)], 1).double()
    eye = torch.eye(x.shape[1], dtype=x.dtype)
    eye[-1, -1] = 0
    w = torch.linalg.solve(x.T @ x + ridge * len(x) * eye,
                           x.T @ train_t.double())
    xv = torch.cat([val_s, torch.ones(len(val_s), 1)], 1).double()
    val_t = val_t.double()
    sse = ((xv @ w - val_t)**2).sum()
    sst = ((val_t - train_t.double().mean(0))**2).sum()
    return (1 - sse / sst).item()


def linear_accuracy(train_f: torch.Tensor,
                    train_y: torch.Tensor,
                    val_f: torch.Tensor,
                    val_y: torch.Tensor,
                    steps: int = 500) -> float:
    """Logistic-regression probe on standardised features (full batch)."""
    torch.manual_seed(0)
    mean, std = train_f.mean(0), train_f.std(0) + 1e-6
    train_f, val_f = (train_f - mean) / std, (val_f - mean) / std
    num_classes = int(train_y.max()) + 1
    clf = torch.nn.Linear(train_f.shape[1], num_classes)
    opt = torch.optim.AdamW(clf.parameters(), lr=1e-2, weight_decay=1e-2)
    for _ in range(steps):
        opt.zero_grad()
        F.cross_entropy(clf(train_f), train_y).backward()
        opt.step()
    with torch.no_grad():
        return (clf(val_f).argmax(1) == val_y).float().mean().item() * 100


def main(argv: Optional[List[str]] = None) -> int:
    """Run the demo."""
    args = parse_args(argv)
    os.chdir(ROOT)
    # tiny models: intra-op threads only add contention with the data
    # workers on a small CPU
    torch.set_num_threads(args.threads)
    import mkd_mm  # noqa: F401  (registers the models)
    ensure_data(args.data_root)
    work = args.work_dir
    times: Dict[str, float] = {}

    teacher_dir = osp.join(work, 'teacher')
    teacher_ckpt = None
    if args.reuse_teacher and osp.isfile(
            osp.join(teacher_dir, 'last_checkpoint')):
        with open(osp.join(teacher_dir, 'last_checkpoint')) as f:
            teacher_ckpt = f.read().strip()
        print(f'[1/4] reusing the teacher {teacher_ckpt}')
    else:
        print('[1/4] MAE pre-training of the teacher (8 blocks, 192-d)')
        teacher_ckpt, times['teacher'] = train('teacher', teacher_dir,
                                               args.data_root,
                                               args.teacher_epochs,
                                               args.num_workers)
    print('[2/4] DMAE: distilling the student (4 blocks, 96-d)')
    dmae_ckpt, times['dmae'] = train(
        'dmae', osp.join(work, 'dmae_student'), args.data_root,
        args.student_epochs, args.num_workers,
        dict(
            model=dict(
                teacher=dict(
                    init_cfg=dict(type='Pretrained',
                                  checkpoint=teacher_ckpt)))))
    print('[3/4] MAE: the same student without the teacher')
    mae_ckpt, times['mae'] = train('mae', osp.join(work, 'mae_student'),
                                   args.data_root, args.student_epochs,
                                   args.num_workers)

    print('[4/4] probing on the demo classification split')
    train_x, train_y = probe_data(args.data_root, 'train')
    val_x, val_y = probe_data(args.data_root, 'val')
    rows = [
        ('teacher (MAE, 8x192)', 'teacher', teacher_ckpt),
        ('student, random init', 'dmae', None),
        ('student, MAE', 'mae', mae_ckpt),
        ('student, DMAE', 'dmae', dmae_ckpt),
    ]
    from mmengine.config import Config
    dmae_cfg = Config.fromfile(CONFIGS['dmae']).model
    s_block, t_block = dmae_cfg.student_layers[0], dmae_cfg.teacher_layers[0]
    teacher = load_encoder('teacher', teacher_ckpt)
    train_t = block_tokens(teacher, train_x, t_block)
    val_t = block_tokens(teacher, val_x, t_block)
    results = {}
    for label, name, ckpt in rows:
        torch.manual_seed(0)
        encoder = load_encoder(name, ckpt)
        tf, vf = features(encoder, train_x), features(encoder, val_x)
        results[label] = dict(
            knn_top1=knn_accuracy(tf, train_y, vf, val_y),
            linear_top1=linear_accuracy(tf, train_y, vf, val_y),
            checkpoint=ckpt)
        if name != 'teacher':
            results[label]['teacher_fit_r2'] = teacher_feature_fit(
                block_tokens(encoder, train_x, s_block), train_t,
                block_tokens(encoder, val_x, s_block), val_t)
    results['train_seconds'] = times

    num_classes = int(train_y.max()) + 1
    print(f'\nDMAE demo: {len(val_y)} val images, {len(train_y)} train '
          f'images (bank / probe training), {num_classes} classes, chance '
          f'{100 / num_classes:.0f}%')
    print(f'"teacher fit": R^2 on val of teacher block {t_block} tokens '
          f'predicted by a linear map (fitted on train) of student block '
          f'{s_block} tokens')
    print(f'{"encoder":<24} {"k-NN top-1":>11} {"linear top-1":>13} '
          f'{"teacher fit":>12}')
    for label, _, _ in rows:
        r = results[label]
        fit = r.get('teacher_fit_r2')
        fit = f"{fit:>12.3f}" if fit is not None else " " * 11 + "-"
        print(f'{label:<24} {r["knn_top1"]:>10.1f}% '
              f'{r["linear_top1"]:>12.1f}% {fit}')
    print('train time: ' + ', '.join(f'{k} {v:.0f}s'
                                     for k, v in times.items()))
    with open(osp.join(work, 'results.json'), 'w') as f:
        json.dump(results, f, indent=2)
    print(f'results written to {osp.join(work, "results.json")}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
