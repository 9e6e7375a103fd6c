#!/usr/bin/env bash
# Copyright (c) mkd_mm contributors. All rights reserved.
# Distributed training with torchrun (python -m torch.distributed.run).
#
#   tools/dist_train.sh CONFIG GPUS [train.py args...]
#
# Multi-node: run on every node with the same MASTER_ADDR/PORT, e.g.
#   NNODES=2 NODE_RANK=0 PORT=29500 MASTER_ADDR=10.0.0.1 tools/dist_train.sh CONFIG 8
#   NNODES=2 NODE_RANK=1 PORT=29500 MASTER_ADDR=10.0.0.1 tools/dist_train.sh CONFIG 8
# Environment: NNODES (1), NODE_RANK (0), MASTER_ADDR (127.0.0.1),
# PORT (29500), PYTHON (default: .venv/bin/python of the
# repository if it exists, else python). On a machine without CUDA the processes run
# on the CPU with the gloo backend (GPUS = number of processes).
set -euo pipefail

if [ $# -lt 2 ]; then
    echo "usage: $0 CONFIG GPUS [train.py args...]" >&2
    exit 2
fi
CONFIG=$1
GPUS=$2
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-"127.0.0.1"}
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
# the project's environment (made by `make env`) unless PYTHON says otherwise
if [ -z "${PYTHON:-}" ]; then
    if [ -x "$ROOT/.venv/bin/python" ]; then PYTHON="$ROOT/.venv/bin/python"; else PYTHON=python; fi
fi

PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}" \
"$PYTHON" -m torch.distributed.run \
    --nnodes="$NNODES" \
    --node_rank="$NODE_RANK" \
    --master_addr="$MASTER_ADDR" \
    --nproc_per_node="$GPUS" \
    --master_port="$PORT" \
    "$ROOT/tools/train.py" \
    "$CONFIG" \
    --launcher pytorch "${@:3}"
