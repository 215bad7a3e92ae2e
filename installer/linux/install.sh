#!/usr/bin/env bash
# Installs Attend-and-Excite Desktop for the current user on Linux: a private virtual environment,
# the right torch build, the app from this checkout, a menu entry and icons. Re-run to upgrade.
set -euo pipefail

usage() {
    cat <<'USAGE'
Usage: installer/linux/install.sh [--cpu | --cuda] [--torch SPEC] [--python PYTHON] [--no-uv]

  --cpu           install the CPU build of torch (default when nvidia-smi finds no GPU)
  --cuda          install a CUDA build of torch (default when nvidia-smi answers)
  --torch SPEC    pip requirement for torch, e.g. torch==2.13.0 (env AAE_TORCH_SPEC)
  --python PATH   Python 3.10+ to build the environment from (env AAE_PYTHON)
  --no-uv         use python -m venv + pip even when uv is installed (env AAE_NO_UV=1)

Environment: AAE_INSTALL_DIR (default ${XDG_DATA_HOME:-~/.local/share}/aae-desktop),
AAE_TORCH_INDEX_URL (package index for torch; "default" = pip's own configuration).
USAGE
}

say() { printf '[aae-desktop install] %s\n' "$*"; }
die() { printf '[aae-desktop install] error: %s\n' "$*" >&2; exit 1; }

REPO_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
DATA_HOME="${XDG_DATA_HOME:-$HOME/.local/share}"
APP_HOME="${AAE_INSTALL_DIR:-$DATA_HOME/aae-desktop}"
VENV="$APP_HOME/venv"
BIN_DIR="$HOME/.local/bin"
TORCH_SPEC="${AAE_TORCH_SPEC:-torch}"
PYTHON="${AAE_PYTHON:-}"
USE_UV=1
[ "${AAE_NO_UV:-0}" = "1" ] && USE_UV=0
DEVICE=""

while [ $# -gt 0 ]; do
    case "$1" in
        --cpu) DEVICE=cpu ;;
        --cuda) DEVICE=cuda ;;
        --torch) [ $# -ge 2 ] || die "--torch needs a requirement, e.g. --torch torch==2.13.0"; TORCH_SPEC="$2"; shift ;;
        --torch=*) TORCH_SPEC="${1#--torch=}" ;;
        --python) [ $# -ge 2 ] || die "--python needs a path to a Python 3.10+ interpreter"; PYTHON="$2"; shift ;;
        --python=*) PYTHON="${1#--python=}" ;;
        --no-uv) USE_UV=0 ;;
        -h|--help) usage; exit 0 ;;
        *) usage >&2; die "unknown option '$1'" ;;
    esac
    shift
done

[ -f "$REPO_DIR/pyproject.toml" ] || die "run this script from inside the aae-desktop checkout ($REPO_DIR has no pyproject.toml)"
case "$TORCH_SPEC" in torch|torch[=\<\>~!]*) ;; *) die "--torch must be a torch requirement such as torch==2.13.0, got '$TORCH_SPEC'" ;; esac

if [ -z "$DEVICE" ]; then
    # An NVIDIA driver that answers means a CUDA build can use the GPU; anything else gets the smaller CPU build.
    if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then DEVICE=cuda; else DEVICE=cpu; fi
fi
# PyPI's Linux torch wheels are CUDA builds; the CPU build (a tenth of the size) lives on PyTorch's own index.
if [ -n "${AAE_TORCH_INDEX_URL:-}" ]; then
    TORCH_INDEX="$AAE_TORCH_INDEX_URL"
elif [ "$DEVICE" = cpu ] && [ "$(uname -m)" = x86_64 ]; then
    TORCH_INDEX="https://download.pytorch.org/whl/cpu"
else
    TORCH_INDEX=default
fi

python_ok() { "$1" -c 'import sys, venv; sys.exit(sys.version_info < (3, 10))' >/dev/null 2>&1; }

if [ "$USE_UV" = 1 ] && ! command -v uv >/dev/null 2>&1; then USE_UV=0; fi
if [ -z "$PYTHON" ]; then
    for candidate in python3 python3.13 python3.12 python3.11 python3.10; do
        if command -v "$candidate" >/dev/null 2>&1 && python_ok "$candidate"; then PYTHON="$(command -v "$candidate")"; break; fi
    done
fi
if [ -z "$PYTHON" ] && [ "$USE_UV" = 0 ]; then
    die "no Python 3.10 or newer with the venv module found; install python3 and python3-venv (e.g. sudo apt install python3-venv) or pass --python"
fi
if [ -n "$PYTHON" ] && ! python_ok "$PYTHON"; then
    die "'$PYTHON' is not a Python 3.10+ with the venv module"
fi

say "installing from $REPO_DIR into $APP_HOME (torch: $TORCH_SPEC, $DEVICE build)"
mkdir -p "$APP_HOME"

# Re-running reuses the environment (an in-place upgrade); one whose interpreter is gone is rebuilt.
if [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c 'import sys' >/dev/null 2>&1; then
    say "upgrading the existing environment $VENV"
else
    rm -rf "$VENV"
    if [ "$USE_UV" = 1 ]; then
        uv venv --quiet --python "${PYTHON:-3.12}" "$VENV"
    else
        "$PYTHON" -m venv "$VENV"
    fi
fi

vpip() {
    if [ "$USE_UV" = 1 ]; then
        uv pip install --quiet --python "$VENV/bin/python" "$@"
    else
        "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "$@"
    fi
}

if [ "$USE_UV" = 0 ]; then "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip; fi

# A torch of the other kind (CPU vs CUDA) already in the environment is removed first, not kept.
installed_kind="$("$VENV/bin/python" -c 'import torch; print("cuda" if torch.version.cuda else "cpu")' 2>/dev/null || true)"
if [ -n "$installed_kind" ] && [ "$installed_kind" != "$DEVICE" ]; then
    say "replacing the $installed_kind build of torch with the $DEVICE build"
    if [ "$USE_UV" = 1 ]; then uv pip uninstall --quiet --python "$VENV/bin/python" torch; else "$VENV/bin/python" -m pip uninstall --quiet -y torch; fi
fi
torch_args=()
[ "$TORCH_INDEX" != default ] && torch_args+=(--index-url "$TORCH_INDEX")
say "installing $TORCH_SPEC ($DEVICE build; this can take a few minutes the first time)"
vpip "${torch_args[@]}" "$TORCH_SPEC" || die "installing $TORCH_SPEC failed (see the installer's message above)"

say "installing the app and its libraries"
# The torch just installed is pinned exactly while the app's libraries go in: uv's --upgrade would
# otherwise replace it with PyPI's newest (on Linux a CUDA build of several GB), whatever was chosen.
TORCH_PIN="$VENV/torch-pin.txt"
"$VENV/bin/python" -c 'import torch; print("torch==" + torch.__version__)' > "$TORCH_PIN" || die "the installed torch does not import"
vpip --upgrade --constraint "$TORCH_PIN" "$REPO_DIR" || die "installing the app failed (see the installer's message above)"
# Same version number after an edit to the checkout: reinstall the app itself so the upgrade takes.
vpip --force-reinstall --no-deps "$REPO_DIR" || die "reinstalling the app failed"

LAUNCHER="$VENV/bin/aae-desktop"
GUI_LAUNCHER="$VENV/bin/aae-desktop-gui"
version="$("$LAUNCHER" --version 2>&1)" || die "the installed launcher does not start: $version"

mkdir -p "$BIN_DIR"
ln -sfn "$LAUNCHER" "$BIN_DIR/aae-desktop"

# Icons into the hicolor theme so the menu entry's Icon=aae-desktop resolves at every size.
ICON_SRC="$REPO_DIR/resources/icons"
for png in "$ICON_SRC"/aae-desktop-*.png; do
    size="${png##*/aae-desktop-}"; size="${size%.png}"
    install -D -m 0644 "$png" "$DATA_HOME/icons/hicolor/${size}x${size}/apps/aae-desktop.png"
done
install -D -m 0644 "$ICON_SRC/aae-desktop.svg" "$DATA_HOME/icons/hicolor/scalable/apps/aae-desktop.svg"

ENTRY="$DATA_HOME/applications/aae-desktop.desktop"
bash "$REPO_DIR/installer/linux/write_desktop_entry.sh" "$REPO_DIR/resources/aae-desktop.desktop" "$GUI_LAUNCHER" "$ENTRY"

# Menus and icon caches refresh on their own on most desktops; these just make it immediate.
command -v update-desktop-database >/dev/null 2>&1 && update-desktop-database -q "$DATA_HOME/applications" 2>/dev/null || true
command -v gtk-update-icon-cache >/dev/null 2>&1 && gtk-update-icon-cache -q -t "$DATA_HOME/icons/hicolor" 2>/dev/null || true

install -m 0755 "$REPO_DIR/installer/linux/uninstall.sh" "$APP_HOME/uninstall.sh"

say "done: $version"
say "  environment:   $VENV"
say "  menu entry:    $ENTRY (Attend-and-Excite Desktop, under Graphics)"
say "  command:       $BIN_DIR/aae-desktop"
say "  check it:      $LAUNCHER --self-test"
say "  uninstall:     $APP_HOME/uninstall.sh"
case ":$PATH:" in *":$BIN_DIR:"*) ;; *) say "  note: $BIN_DIR is not on your PATH; the menu entry works regardless" ;; esac
