#!/usr/bin/env bash
# Copyright (c) mkd_mm contributors. All rights reserved.
# Fine-tune an mkd_mm pre-trained ViT with mmseg on one node, through OpenMIM.
#
#   tools/benchmarks/mmsegmentation/mim_dist_train.sh CONFIG PRETRAIN GPUS [train args...]
#
# CONFIG    a config of configs/benchmarks/mmsegmentation/
# PRETRAIN  an mkd_mm pre-training checkpoint, a backbone-only file
#           (tools/model_converters/extract_backbone.py) or an official
#           dBOT / DMAE / MAE release; the backbone loads it strictly and
#           prints a key report.
# Needs `pip install openmim`. Without mim, the same run is
#   tools/dist_train.sh CONFIG GPUS --cfg-options model.backbone.init_cfg.checkpoint=PRETRAIN
set -euo pipefail

if [ $# -lt 3 ]; then
    echo "usage: $0 CONFIG PRETRAIN GPUS [train args...]" >&2
    exit 2
fi
CFG=$1
PRETRAIN=$2
GPUS=$3
PORT=${PORT:-29500}
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
command -v mim >/dev/null 2>&1 || { echo "mim not found: pip install openmim" >&2; exit 1; }
[ -f "$PRETRAIN" ] || { echo "pre-trained checkpoint not found: $PRETRAIN" >&2; exit 1; }

PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}" \
mim train mmseg "$CFG" \
    --launcher pytorch -G "$GPUS" --port "$PORT" \
    --cfg-options model.backbone.init_cfg.checkpoint="$PRETRAIN" \
    "${@:4}"
