#!/usr/bin/env bash
# Removes what installer/linux/install.sh put in place: the environment, menu entry, icons and command link.
# Images in the gallery and the settings are kept unless --purge is given.
set -euo pipefail

say() { printf '[aae-desktop uninstall] %s\n' "$*"; }

PURGE=0
for arg in "$@"; do
    case "$arg" in
        --purge) PURGE=1 ;;
        -h|--help) echo "Usage: uninstall.sh [--purge]   (--purge also deletes settings, logs, caches and the gallery index)"; exit 0 ;;
        *) printf '[aae-desktop uninstall] error: unknown option %s\n' "$arg" >&2; exit 2 ;;
    esac
done

DATA_HOME="${XDG_DATA_HOME:-$HOME/.local/share}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# The installer copies this script next to the environment; run from there, that folder is the install.
if [ -d "$HERE/venv" ]; then APP_HOME="$HERE"; else APP_HOME="${AAE_INSTALL_DIR:-$DATA_HOME/aae-desktop}"; fi

removed=0
remove() {
    if [ -e "$1" ] || [ -L "$1" ]; then rm -rf -- "$1"; say "removed $1"; removed=1; fi
}

remove "$DATA_HOME/applications/aae-desktop.desktop"
for icon in "$DATA_HOME"/icons/hicolor/*/apps/aae-desktop.png "$DATA_HOME/icons/hicolor/scalable/apps/aae-desktop.svg"; do
    remove "$icon"
done
# Only our own link: a different aae-desktop on the PATH is not ours to delete.
link="$HOME/.local/bin/aae-desktop"
if [ -L "$link" ] && [ "$(readlink "$link")" = "$APP_HOME/venv/bin/aae-desktop" ]; then remove "$link"; fi
remove "$APP_HOME/venv"
remove "$APP_HOME/uninstall.sh"
rmdir "$APP_HOME" 2>/dev/null || true

if [ "$PURGE" = 1 ]; then
    remove "$APP_HOME"  # also platformdirs' user data dir: the gallery index (the images stay in Pictures)
    remove "${XDG_CONFIG_HOME:-$HOME/.config}/aae-desktop"
    remove "${XDG_STATE_HOME:-$HOME/.local/state}/aae-desktop"
    remove "${XDG_CACHE_HOME:-$HOME/.cache}/aae-desktop"
fi

command -v update-desktop-database >/dev/null 2>&1 && update-desktop-database -q "$DATA_HOME/applications" 2>/dev/null || true
command -v gtk-update-icon-cache >/dev/null 2>&1 && gtk-update-icon-cache -q -t "$DATA_HOME/icons/hicolor" 2>/dev/null || true
if [ "$removed" = 1 ]; then say "Attend-and-Excite Desktop is uninstalled."; else say "nothing to remove: no install found under $APP_HOME"; fi
