#!/bin/bash
# Removes what installer/macos/install.command put in place: the .app bundle and the environment.
# Settings, logs and the gallery index are kept unless --purge is given; images are never touched.
set -euo pipefail

say() { printf '[aae-desktop uninstall] %s\n' "$*"; }

PURGE=0
for arg in "$@"; do
    case "$arg" in
        --purge) PURGE=1 ;;
        -h|--help) echo "Usage: uninstall.command [--purge]   (--purge also deletes settings, logs and caches)"; exit 0 ;;
        *) printf '[aae-desktop uninstall] error: unknown option %s\n' "$arg" >&2; exit 2 ;;
    esac
done

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# The installer copies this script next to the environment; run from there, that folder is the install.
if [ -d "$HERE/venv" ]; then APP_HOME="$HERE"; else APP_HOME="${AAE_INSTALL_DIR:-$HOME/Library/Application Support/aae-desktop}"; fi
APP_BUNDLE="${AAE_APP_DIR:-$HOME/Applications}/Attend-and-Excite Desktop.app"

removed=0
remove() {
    if [ -e "$1" ]; then rm -rf -- "$1"; say "removed $1"; removed=1; fi
}

remove "$APP_BUNDLE"
remove "$APP_HOME/venv"
remove "$APP_HOME/uninstall.command"
if [ "$PURGE" = 1 ]; then
    remove "$APP_HOME"
    remove "$HOME/Library/Logs/aae-desktop"
    remove "$HOME/Library/Caches/aae-desktop"
fi
rmdir "$APP_HOME" 2>/dev/null || true

if [ "$removed" = 1 ]; then say "Attend-and-Excite Desktop is uninstalled."; else say "nothing to remove: no install found under $APP_HOME"; fi
