# Copyright (c) mkd_mm contributors. All rights reserved.
"""Benchmark full pre-training steps of configs on synthetic batches.

Each config's model and optimizer wrapper are built as training builds them
(teacher checkpoints are not loaded: random weights), then forward +
backward + optimizer steps on one synthetic batch are timed, interleaved
across the configs (A B C A B C ...) after the warm-up. Reported per config:
median step time, images/s, the frozen teacher's forward time (inside the
step), peak memory, FLOPs per step and the efficiency against a matmul
throughput measured in the same run at the same precision.

Example (the figures of docs/performance.md):
    python tools/analysis_tools/benchmark_pretrain.py \\
        configs/mae/vitb_100e.py configs/dbot/vitb_stage2.py \\
        configs/dmae/vitb_from_vitl.py --batch-size 8 --iters 5 \\
        --out work_dirs/benchmark.json
"""
import argparse
import json
import os
import platform
import sys

import torch
from mmengine.config import DictAction

import mkd_mm  # noqa: F401
from mkd_mm.utils.benchmark import (build_case, markdown_table, run_benchmark,
                                    shrink_model_cfg)


def parse_args() -> argparse.Namespace:
    """Command-line arguments."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('configs', nargs='+', help='pre-training configs')
    parser.add_argument('--batch-size', type=int, default=8)
    parser.add_argument('--iters', type=int, default=5,
                        help='timed steps per config')
    parser.add_argument('--warmup', type=int, default=1,
                        help='untimed steps per config')
    parser.add_argument('--amp', choices=['none', 'bf16', 'fp16'],
                        default='none', help="the student's precision")
    parser.add_argument('--device', choices=['cpu', 'cuda'], default='cpu')
    parser.add_argument('--threads', type=int, default=2,
                        help='torch intra-op threads (CPU)')
    parser.add_argument('--matmul-size', type=int, default=2048)
    parser.add_argument('--out', help='JSON report file')
    parser.add_argument(
        '--profile', type=int, default=0, metavar='ROWS',
        help='profile one more step per config (torch.profiler) and '
        'report its ROWS top operators by self CPU time')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction, default={},
        help='overrides applied to every config, e.g. '
        'model.teacher.arch=b to shrink a ViT-L/H teacher')
    parser.add_argument(
        '--teacher-precision',
        choices=['fp32', 'bf16', 'fp16', 'auto', 'bf16-full'],
        help="model.teacher_precision of the distillers (MAE configs are "
        "left alone); default: each config's")
    parser.add_argument(
        '--fused-optim', action='store_true',
        help='fused optimizer kernels (optim_wrapper.optimizer.fused=True, '
        'AdamW on CPU needs torch >= 2.4)')
    parser.add_argument(
        '--shrink', action='store_true',
        help='replace every ViT by a tiny 2-block one at 32 px '
        '(smoke test of the tool, not a measurement)')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    if args.batch_size < 1:
        sys.exit(f'--batch-size must be >= 1, got {args.batch_size}')
    if args.device == 'cuda' and not torch.cuda.is_available():
        sys.exit('--device cuda: no CUDA device is available')
    for config in args.configs:
        if not os.path.isfile(config):
            sys.exit(f'config file not found: {config}')
    torch.set_num_threads(args.threads)
    if args.fused_optim:
        args.cfg_options['optim_wrapper.optimizer.fused'] = True
    transform = shrink_model_cfg if args.shrink else None
    cases = [
        build_case(c, args.amp, args.device, args.cfg_options, transform,
                   args.teacher_precision)
        for c in args.configs
    ]
    report = run_benchmark(
        cases,
        batch_size=args.batch_size,
        iters=args.iters,
        warmup=args.warmup,
        amp=args.amp,
        matmul_size=args.matmul_size,
        profile_rows=args.profile,
        log=lambda s: print(s, file=sys.stderr, flush=True))
    report['setup'] = dict(
        batch_size=args.batch_size, iters=args.iters, warmup=args.warmup,
        amp=args.amp, device=args.device, threads=args.threads,
        torch=torch.__version__, cpu=platform.processor() or
        platform.machine(), cfg_options=args.cfg_options,
        fused_optim=args.fused_optim,
        teacher_precision=args.teacher_precision, shrink=args.shrink)
    print(markdown_table(report))
    if args.out:
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        with open(args.out, 'w') as f:
            json.dump(report, f, indent=2)


if __name__ == '__main__':
    main()
