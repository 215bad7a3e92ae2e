#!/bin/bash
# Installs Attend-and-Excite Desktop for the current user on macOS: a private virtual environment,
# torch (PyPI's macOS build, which uses the Apple GPU through MPS), the app from this checkout, and
# "Attend-and-Excite Desktop.app" in ~/Applications. Double-click it in Finder; re-run to upgrade.
# Written for the bash 3.2 that macOS ships: no associative arrays, no empty "${array[@]}".
set -euo pipefail

say() { printf '[aae-desktop install] %s\n' "$*"; }
die() { printf '[aae-desktop install] error: %s\n' "$*" >&2; exit 1; }

usage() {
    cat <<'USAGE'
Usage: installer/macos/install.command [--torch SPEC] [--python PYTHON] [--no-uv]

  --torch SPEC    pip requirement for torch, e.g. torch==2.13.0 (env AAE_TORCH_SPEC)
  --python PATH   Python 3.10+ to build the environment from (env AAE_PYTHON)
  --no-uv         use python -m venv + pip even when uv is installed (env AAE_NO_UV=1)
USAGE
}

REPO_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# platformdirs' user data dir on macOS: settings and the gallery index live here as well.
APP_HOME="${AAE_INSTALL_DIR:-$HOME/Library/Application Support/aae-desktop}"
VENV="$APP_HOME/venv"
APP_BUNDLE="${AAE_APP_DIR:-$HOME/Applications}/Attend-and-Excite Desktop.app"
TORCH_SPEC="${AAE_TORCH_SPEC:-torch}"
PYTHON="${AAE_PYTHON:-}"
USE_UV=1
[ "${AAE_NO_UV:-0}" = "1" ] && USE_UV=0

while [ $# -gt 0 ]; do
    case "$1" in
        --torch) [ $# -ge 2 ] || die "--torch needs a requirement, e.g. --torch torch==2.13.0"; TORCH_SPEC="$2"; shift ;;
        --python) [ $# -ge 2 ] || die "--python needs a path to a Python 3.10+ interpreter"; PYTHON="$2"; shift ;;
        --no-uv) USE_UV=0 ;;
        -h|--help) usage; exit 0 ;;
        *) usage >&2; die "unknown option '$1'" ;;
    esac
    shift
done

[ -f "$REPO_DIR/pyproject.toml" ] || die "run this script from inside the aae-desktop checkout ($REPO_DIR has no pyproject.toml)"
case "$TORCH_SPEC" in torch|torch[=\<\>~!]*) ;; *) die "--torch must be a torch requirement such as torch==2.13.0, got '$TORCH_SPEC'" ;; esac

python_ok() { "$1" -c 'import sys, venv; sys.exit(sys.version_info < (3, 10))' >/dev/null 2>&1; }

if [ "$USE_UV" = 1 ] && ! command -v uv >/dev/null 2>&1; then USE_UV=0; fi
if [ -z "$PYTHON" ]; then
    # Apple's /usr/bin/python3 is 3.9; python.org and Homebrew installs are looked for by name and place.
    for candidate in python3.13 python3.12 python3.11 python3.10 python3 \
        /opt/homebrew/bin/python3 /usr/local/bin/python3 /Library/Frameworks/Python.framework/Versions/Current/bin/python3; do
        if command -v "$candidate" >/dev/null 2>&1 && python_ok "$candidate"; then PYTHON="$(command -v "$candidate")"; break; fi
    done
fi
if [ -z "$PYTHON" ] && [ "$USE_UV" = 0 ]; then
    die "no Python 3.10 or newer found; install one from python.org (or 'brew install python@3.12') and run this again"
fi
if [ -n "$PYTHON" ] && ! python_ok "$PYTHON"; then die "'$PYTHON' is not a Python 3.10+ with the venv module"; fi

say "installing from $REPO_DIR into $APP_HOME (torch: $TORCH_SPEC)"
mkdir -p "$APP_HOME"

# Re-running reuses the environment (an in-place upgrade); one whose interpreter is gone is rebuilt.
if [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c 'import sys' >/dev/null 2>&1; then
    say "upgrading the existing environment $VENV"
else
    rm -rf "$VENV"
    if [ "$USE_UV" = 1 ]; then uv venv --quiet --python "${PYTHON:-3.12}" "$VENV"; else "$PYTHON" -m venv "$VENV"; fi
fi

vpip() {
    if [ "$USE_UV" = 1 ]; then
        uv pip install --quiet --python "$VENV/bin/python" "$@"
    else
        "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "$@"
    fi
}

if [ "$USE_UV" = 0 ]; then vpip --upgrade pip; fi
say "installing $TORCH_SPEC (this can take a few minutes the first time)"
vpip "$TORCH_SPEC" || die "installing $TORCH_SPEC failed (see the installer's message above)"
say "installing the app and its libraries"
# The torch just installed is pinned exactly while the app's libraries go in: uv's --upgrade would
# otherwise replace it with PyPI's newest, whatever was chosen.
TORCH_PIN="$VENV/torch-pin.txt"
"$VENV/bin/python" -c 'import torch; print("torch==" + torch.__version__)' > "$TORCH_PIN" || die "the installed torch does not import"
vpip --upgrade --constraint "$TORCH_PIN" "$REPO_DIR" || die "installing the app failed (see the installer's message above)"
# Same version number after an edit to the checkout: reinstall the app itself so the upgrade takes.
vpip --force-reinstall --no-deps "$REPO_DIR" || die "reinstalling the app failed"

LAUNCHER="$VENV/bin/aae-desktop"
version="$("$LAUNCHER" --version 2>&1)" || die "the installed launcher does not start: $version"

# A minimal .app bundle: Finder, Launchpad and Spotlight show it with the icon; it starts the GUI launcher.
say "writing $APP_BUNDLE"
rm -rf "$APP_BUNDLE"
mkdir -p "$APP_BUNDLE/Contents/MacOS" "$APP_BUNDLE/Contents/Resources"
cp "$REPO_DIR/resources/icons/aae-desktop.icns" "$APP_BUNDLE/Contents/Resources/aae-desktop.icns"
app_version="${version#aae-desktop }"
cat > "$APP_BUNDLE/Contents/Info.plist" <<PLIST
<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
    <key>CFBundleName</key><string>Attend-and-Excite Desktop</string>
    <key>CFBundleDisplayName</key><string>Attend-and-Excite Desktop</string>
    <key>CFBundleIdentifier</key><string>org.attend-and-excite.aae-desktop</string>
    <key>CFBundleVersion</key><string>${app_version}</string>
    <key>CFBundleShortVersionString</key><string>${app_version}</string>
    <key>CFBundlePackageType</key><string>APPL</string>
    <key>CFBundleExecutable</key><string>aae-desktop</string>
    <key>CFBundleIconFile</key><string>aae-desktop</string>
    <key>LSMinimumSystemVersion</key><string>11.0</string>
    <key>NSHighResolutionCapable</key><true/>
</dict>
</plist>
PLIST
# The venv path is baked in with printf %q so spaces ("Application Support") survive.
{
    printf '#!/bin/bash\n# Starts Attend-and-Excite Desktop from its private environment (written by install.command).\n'
    printf 'exec %q "$@"\n' "$VENV/bin/aae-desktop-gui"
} > "$APP_BUNDLE/Contents/MacOS/aae-desktop"
chmod 0755 "$APP_BUNDLE/Contents/MacOS/aae-desktop"
touch "$APP_BUNDLE"  # makes Finder pick up the new icon

install -m 0755 "$REPO_DIR/installer/macos/uninstall.command" "$APP_HOME/uninstall.command"

say "done: $version"
say "  environment:   $VENV"
say "  app:           $APP_BUNDLE (also in Launchpad and Spotlight)"
say "  check it:      '$LAUNCHER' --self-test"
say "  uninstall:     '$APP_HOME/uninstall.command'"
