#!/usr/bin/env bash
# Copyright (c) mkd_mm contributors. All rights reserved.
# Create or reuse the project's virtual environment (.venv) with the pinned
# OpenMMLab stack. Used by `make env` / `make demo` / `make test`; idempotent.
#
# mmcv 2.1.0 (the one release that mmpretrain 1.2, mmdet 3.3 and mmseg 1.2 all
# accept) is only a source distribution on PyPI, so it is built here once (with
# its CPU/CUDA ops, ~8 minutes on 2 cores) and the wheel is cached outside the
# repository, keyed by Python and torch version. A second run on the same
# machine takes seconds: a stamp in the venv records what it was built from.
#
# Environment variables:
#   PYTHON          interpreter used to create the venv (default: python3)
#   VENV            venv folder (default: .venv in the repository)
#   MKD_MM_CACHE    cache folder for the mmcv wheel (default: ~/.cache/mkd_mm)
#   TORCH_SPEC      torch requirement (default: torch==2.14.1 torchvision==0.29.1)
#   MAX_JOBS        parallel compile jobs for mmcv (default: nproc, at most 8)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PYTHON="${PYTHON:-python3}"
VENV="${VENV:-$ROOT/.venv}"
CACHE="${MKD_MM_CACHE:-$HOME/.cache/mkd_mm}"
TORCH_SPEC="${TORCH_SPEC:-torch==2.14.1 torchvision==0.29.1}"
MMCV_VERSION=2.1.0
STAMP="$VENV/.mkd_mm_stamp"
SECONDS=0

die() { echo "setup_env: ERROR: $*" >&2; exit 1; }
log() { echo "setup_env: [$(printf '%3d' "$SECONDS")s] $*"; }
free_gb() { df -Pk "$1" | awk 'NR==2 {print int($4/1048576)}'; }
# The nearest existing folder of a path (for df before it is created).
existing_parent() { local p="$1"; while [ ! -e "$p" ]; do p="$(dirname "$p")"; done; echo "$p"; }

# Checks the installed stack without importing mkd_mm itself (its import is
# the tests' business): mkd_mm must resolve to this checkout from any folder.
stack_ok() {
  [ -x "$VENV/bin/python" ] || return 1
  (cd / && "$VENV/bin/python" - "$ROOT" <<'PY'
import importlib.util
import sys
import mmcv.ops  # noqa: F401  (compiled ops present)
import mmdet  # noqa: F401
import mmpretrain  # noqa: F401
import mmseg  # noqa: F401
spec = importlib.util.find_spec('mkd_mm')
want = sys.argv[1] + '/mkd_mm'
sys.exit(0 if spec and want in (spec.submodule_search_locations or []) else 1)
PY
  ) >/dev/null 2>&1
}

# ---- fast path ---------------------------------------------------------------
# The stamp records what the venv was built from; when it matches and the stack
# imports, nothing is installed again.
want_stamp="$(cat requirements/*.txt setup.py tools/setup_env.sh | sha256sum | cut -d' ' -f1) $TORCH_SPEC"
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want_stamp" ] && stack_ok; then
  log "reusing $VENV (up to date)"
  exit 0
fi

# ---- pre-flight checks (before anything is written) --------------------------
command -v "$PYTHON" >/dev/null 2>&1 ||
  die "no Python interpreter '$PYTHON' found; set PYTHON=/path/to/python3 (3.8-3.11 supported)."
pyver="$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
"$PYTHON" -c 'import sys; sys.exit(0 if (3, 8) <= sys.version_info[:2] <= (3, 11) else 1)' ||
  die "Python 3.8-3.11 is required (mmcv 2.1.0 / mmpretrain 1.2.0), but '$PYTHON' is $pyver; set PYTHON to such an interpreter."
if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -c 'import venv, ensurepip' >/dev/null 2>&1 ||
    die "'$PYTHON' cannot create virtual environments (no venv/ensurepip module; Debian/Ubuntu: apt-get install python$pyver-venv)."
fi
for tool in tar sha256sum; do
  command -v "$tool" >/dev/null 2>&1 || die "required tool '$tool' not found."
done

# Which torch will the venv have? (the cached mmcv wheel is keyed by it)
torch_ver=""
if [ -x "$VENV/bin/python" ]; then
  torch_ver="$("$VENV/bin/python" -c 'import torch; print(torch.__version__.split("+")[0])' 2>/dev/null || true)"
fi
case " $TORCH_SPEC " in
  *" torch=="*) spec_ver="${TORCH_SPEC#*torch==}"; spec_ver="${spec_ver%% *}"; torch_ver="$spec_ver" ;;
esac
pykey="py${pyver/./}"
if [ -n "$torch_ver" ]; then
  cached="$(ls "$CACHE/mmcv-$MMCV_VERSION/$pykey-torch$torch_ver"/mmcv-$MMCV_VERSION-*.whl 2>/dev/null | head -n1 || true)"
else
  cached=""  # unknown torch version: assume a build may be needed
fi
if [ -z "$cached" ]; then
  command -v "${CXX:-g++}" >/dev/null 2>&1 ||
    die "no C++ compiler (${CXX:-g++}) found: mmcv $MMCV_VERSION must be built from source here (no cached wheel for $pykey-torch${torch_ver:-?} in $CACHE). Install one (Debian/Ubuntu: apt-get install g++) or set CXX."
  "$PYTHON" -c 'import sysconfig, os, sys; sys.exit(0 if os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")) else 1)' ||
    die "the Python headers (Python.h) of '$PYTHON' are missing: building mmcv needs them (Debian/Ubuntu: apt-get install python$pyver-dev)."
fi
need_gb=12                        # torch alone is ~5.5 GB installed
if [ -d "$VENV/lib" ]; then need_gb=4; fi
if [ -z "$cached" ]; then need_gb=$((need_gb + 3)); fi  # mmcv build tree
have_gb="$(free_gb "$(existing_parent "$VENV")")"
[ "$have_gb" -ge "$need_gb" ] ||
  die "not enough disk space: ${have_gb} GB free for $VENV, at least ${need_gb} GB needed (torch ~5.5 GB, mmcv build ~3 GB)."

# ---- venv ----------------------------------------------------------------------
rm -f "$STAMP"  # an interrupted (re)install must not look complete
if [ ! -x "$VENV/bin/python" ]; then
  log "creating $VENV with $PYTHON (Python $pyver)"
  "$PYTHON" -m venv "$VENV" || die "creating the virtual environment $VENV failed."
fi
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check --no-input)
PIPLOG="$VENV/mkd_mm_pip.log"
pip_install() {  # pip_install WHAT ARGS...: quiet unless it fails
  local what="$1"; shift
  if ! "${PIP[@]}" install "$@" >"$PIPLOG" 2>&1; then
    tail -n 30 "$PIPLOG" >&2
    die "installing $what failed; full log: $PIPLOG"
  fi
}
log "installing $TORCH_SPEC"
# shellcheck disable=SC2086
pip_install "$TORCH_SPEC" $TORCH_SPEC "numpy<2"
# mmcv 2.1.0's setup.py imports pkg_resources, which setuptools>=80 dropped;
# torch pulls a newer setuptools, so pin it back afterwards.
pip_install "the build tools" "setuptools<70" wheel ninja

# ---- mmcv, built once and cached -------------------------------------------
key="$("$VENV/bin/python" -c 'import sys, torch; print("py%d%d-torch%s" % (sys.version_info[0], sys.version_info[1], torch.__version__.split("+")[0]))')"
WHEELDIR="$CACHE/mmcv-$MMCV_VERSION/$key"
wheel="$(ls "$WHEELDIR"/mmcv-$MMCV_VERSION-*.whl 2>/dev/null | head -n1 || true)"
if [ -z "$wheel" ]; then
  # The pre-flight check may not have known the torch version.
  command -v "${CXX:-g++}" >/dev/null 2>&1 ||
    die "no C++ compiler (${CXX:-g++}) found: building mmcv $MMCV_VERSION for $key needs one (Debian/Ubuntu: apt-get install g++)."
  mkdir -p "$WHEELDIR"
  BUILDLOG="$WHEELDIR/build.log"
  [ "$(free_gb "$WHEELDIR")" -ge 3 ] || die "not enough disk space in $WHEELDIR to build mmcv (3 GB needed)."
  jobs="${MAX_JOBS:-$(nproc)}"
  if [ -z "${MAX_JOBS:-}" ] && [ "$jobs" -gt 8 ]; then jobs=8; fi  # ~1.5 GB memory per job
  log "building mmcv $MMCV_VERSION with its ops for $key (about 8 minutes on 2 cores, $jobs jobs); log: $BUILDLOG"
  src="$(mktemp -d)"
  trap 'rm -rf "$src"' EXIT
  # Every step is checked explicitly: `set -e` does not apply inside a
  # function that is called with `||`.
  build_mmcv() {
    "${PIP[@]}" download --no-deps --no-binary :all: --no-build-isolation \
      -d "$src" "mmcv==$MMCV_VERSION" || return 1
    tar -xzf "$src/mmcv-$MMCV_VERSION.tar.gz" -C "$src" || return 1
    # torch >= 2.1 headers need C++17 and torch >= 2.10 need C++20; mmcv's
    # setup.py hard-codes -std=c++14/17.
    sed -i -e 's/-std=c++14/-std=c++20/g' -e 's/-std=c++17/-std=c++20/g' \
      "$src/mmcv-$MMCV_VERSION/setup.py" || return 1
    grep -q -- '-std=c++20' "$src/mmcv-$MMCV_VERSION/setup.py" || return 1
    MMCV_WITH_OPS=1 MAX_JOBS="$jobs" "${PIP[@]}" wheel --no-deps --no-build-isolation \
      -w "$src/wheelhouse" "$src/mmcv-$MMCV_VERSION" || return 1
    # publish atomically: a cut build never leaves a partial wheel in the cache
    local built
    built="$(ls "$src"/wheelhouse/mmcv-$MMCV_VERSION-*.whl 2>/dev/null | head -n1)"
    [ -n "$built" ] || return 1
    cp "$built" "$WHEELDIR/.tmp.whl" && mv "$WHEELDIR/.tmp.whl" "$WHEELDIR/$(basename "$built")"
  }
  if ! build_mmcv >"$BUILDLOG" 2>&1; then
    tail -n 20 "$BUILDLOG" >&2
    die "building mmcv $MMCV_VERSION failed; see the log: $BUILDLOG"
  fi
  wheel="$(ls "$WHEELDIR"/mmcv-$MMCV_VERSION-*.whl | head -n1)"
  log "cached $wheel"
else
  log "using the cached $wheel"
fi

log "installing the OpenMMLab stack and mkd_mm (editable)"
pip_install "the OpenMMLab stack" "$wheel" -r requirements/runtime.txt \
  -r requirements/downstream.txt -r requirements/tests.txt
pip_install "mkd_mm" --no-deps --no-build-isolation -e .
stack_ok || die "the environment in $VENV is incomplete: '$VENV/bin/python -c \"import mmcv.ops, mmpretrain, mmdet, mmseg\"' fails or mkd_mm does not resolve to $ROOT/mkd_mm."
"$VENV/bin/python" -c "import mmcv, mmengine, mmpretrain, mmdet, mmseg, torch; print('setup_env: torch', torch.__version__, 'mmcv', mmcv.__version__, 'mmengine', mmengine.__version__, 'mmpretrain', mmpretrain.__version__, 'mmdet', mmdet.__version__, 'mmseg', mmseg.__version__)"
echo "$want_stamp" >"$STAMP"
log "done: $VENV is ready"
