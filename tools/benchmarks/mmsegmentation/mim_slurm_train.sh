#!/usr/bin/env bash
# Copyright (c) mkd_mm contributors. All rights reserved.
# Fine-tune an mkd_mm pre-trained ViT with mmseg on a Slurm cluster, through
# OpenMIM.
#
#   [GPUS=8] tools/benchmarks/mmsegmentation/mim_slurm_train.sh PARTITION CONFIG PRETRAIN [train args...]
#
# Environment: GPUS (8, total), GPUS_PER_NODE (8), CPUS_PER_TASK (5),
# SRUN_ARGS (extra srun arguments). Needs `pip install openmim`. Without
# mim: GPUS=8 tools/slurm_train.sh PARTITION JOB CONFIG WORK_DIR
#   --cfg-options model.backbone.init_cfg.checkpoint=PRETRAIN
set -euo pipefail

if [ $# -lt 3 ]; then
    echo "usage: $0 PARTITION CONFIG PRETRAIN [train args...]" >&2
    exit 2
fi
PARTITION=$1
CFG=$2
PRETRAIN=$3
GPUS=${GPUS:-8}
GPUS_PER_NODE=${GPUS_PER_NODE:-8}
CPUS_PER_TASK=${CPUS_PER_TASK:-5}
SRUN_ARGS=${SRUN_ARGS:-""}
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
command -v mim >/dev/null 2>&1 || { echo "mim not found: pip install openmim" >&2; exit 1; }

PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}" \
mim train mmseg "$CFG" \
    --launcher slurm -G "$GPUS" \
    --gpus-per-node "$GPUS_PER_NODE" \
    --cpus-per-task "$CPUS_PER_TASK" \
    --partition "$PARTITION" \
    --srun-args "$SRUN_ARGS" \
    --cfg-options model.backbone.init_cfg.checkpoint="$PRETRAIN" \
    "${@:4}"
