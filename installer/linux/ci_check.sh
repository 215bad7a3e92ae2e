#!/usr/bin/env bash
# CI proof of the Linux installer from a clean clone: install into a throwaway HOME with the CPU torch
# build pinned, validate the written menu entry, run the installed launchers (--version, --self-test
# through the menu entry's own Exec target), re-run the installer as an upgrade, then uninstall.
set -euo pipefail

REPO_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
say() { printf '[installer ci] %s\n' "$*"; }
fail() { printf '[installer ci] FAILED: %s\n' "$*" >&2; exit 1; }

if ! command -v desktop-file-validate >/dev/null 2>&1; then
    say "installing desktop-file-utils for desktop-file-validate"
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq desktop-file-utils >/dev/null
fi

TEST_HOME="$(mktemp -d "${TMPDIR:-/tmp}/aae-installer-ci.XXXXXX")"
trap 'rm -rf "$TEST_HOME"' EXIT
# A clean user: no XDG overrides from the CI machine, CPU torch 2.13.0 from pip's configured sources.
run_as_user() {
    env -u XDG_DATA_HOME -u XDG_CONFIG_HOME -u XDG_STATE_HOME -u XDG_CACHE_HOME -u AAE_INSTALL_DIR \
        HOME="$TEST_HOME" AAE_TORCH_SPEC=torch==2.13.0 AAE_TORCH_INDEX_URL=default AAE_NO_UV=1 "$@"
}

say "installing into HOME=$TEST_HOME"
run_as_user bash "$REPO_DIR/installer/linux/install.sh" --cpu

DATA="$TEST_HOME/.local/share"
ENTRY="$DATA/applications/aae-desktop.desktop"
[ -f "$ENTRY" ] || fail "no desktop entry at $ENTRY"
desktop-file-validate "$ENTRY" || fail "desktop-file-validate rejected $ENTRY"
grep -qx 'StartupWMClass=aae-desktop' "$ENTRY" || fail "StartupWMClass is not aae-desktop"
[ -f "$DATA/icons/hicolor/256x256/apps/aae-desktop.png" ] || fail "icons are missing from the hicolor theme"
# The entry's launcher, unquoted (the install path here has no characters that need escaping).
GUI_LAUNCHER="$(sed -n 's/^Exec="\(.*\)"$/\1/p' "$ENTRY")"
[ -x "$GUI_LAUNCHER" ] || fail "the entry's Exec target '$GUI_LAUNCHER' is not an executable"
python3 - "$(run_as_user "$DATA/aae-desktop/venv/bin/python" -c 'import torch; print(torch.__version__, torch.version.cuda)')" <<'PY' || fail "the environment does not hold the CPU torch 2.13.0 build"
import sys
version, cuda = sys.argv[1].split()
sys.exit(not (version.startswith("2.13.0") and cuda == "None"))
PY

version="$(run_as_user "$TEST_HOME/.local/bin/aae-desktop" --version)" || fail "aae-desktop --version failed"
say "launcher answers: $version"
say "running the installed app's self-test through the menu entry's launcher"
run_as_user "$GUI_LAUNCHER" --self-test || fail "the installed app's --self-test failed (log: $TEST_HOME/.local/state/aae-desktop/log)"

say "re-running the installer (upgrade in place)"
run_as_user bash "$REPO_DIR/installer/linux/install.sh" --cpu
run_as_user "$TEST_HOME/.local/bin/aae-desktop" --version >/dev/null || fail "the launcher broke after the upgrade"

say "uninstalling"
run_as_user bash "$DATA/aae-desktop/uninstall.sh"
[ ! -e "$ENTRY" ] && [ ! -e "$DATA/aae-desktop/venv" ] || fail "uninstall left the entry or the environment behind"
say "ok: install, desktop entry, --version, --self-test, upgrade and uninstall all work"
