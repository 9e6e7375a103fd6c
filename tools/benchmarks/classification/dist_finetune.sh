#!/usr/bin/env bash
# Copyright (c) mkd_mm contributors. All rights reserved.
# ImageNet fine-tuning / linear probing of an mkd_mm pre-trained ViT.
#
#   tools/benchmarks/classification/dist_finetune.sh CONFIG PRETRAIN GPUS [train.py args...]
#
# CONFIG    a config of configs/benchmarks/classification/
# PRETRAIN  an mkd_mm pre-training checkpoint, a backbone-only file or an
#           official dBOT / DMAE / MAE release (loaded strictly, with a key
#           report, by TransferVisionTransformer).
# The batch size per GPU and the learning rate are those of the file name
# (e.g. 32xb32: 32 GPUs); with fewer GPUs add --auto-scale-lr or raise
# accumulative_counts (--cfg-options optim_wrapper.accumulative_counts=4).
set -euo pipefail

if [ $# -lt 3 ]; then
    echo "usage: $0 CONFIG PRETRAIN GPUS [train.py args...]" >&2
    exit 2
fi
CFG=$1
PRETRAIN=$2
GPUS=$3
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
[ -f "$PRETRAIN" ] || { echo "pre-trained checkpoint not found: $PRETRAIN" >&2; exit 1; }

"$ROOT/tools/dist_train.sh" "$CFG" "$GPUS" \
    --cfg-options model.backbone.init_cfg.checkpoint="$PRETRAIN" "${@:4}"
