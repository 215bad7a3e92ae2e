#!/usr/bin/env bash
# Writes the freedesktop menu entry: resources/aae-desktop.desktop with @EXEC@ replaced by the quoted launcher.
# Usage: write_desktop_entry.sh TEMPLATE LAUNCHER OUTPUT   (a separate script so tests can feed it odd paths)
set -euo pipefail

[ $# -eq 3 ] || { echo "usage: write_desktop_entry.sh TEMPLATE LAUNCHER OUTPUT" >&2; exit 2; }
template_file="$1" launcher="$2" output="$3"
[ -f "$template_file" ] || { echo "write_desktop_entry.sh: no template at $template_file" >&2; exit 1; }

# Exec= quoting per the Desktop Entry spec: the path in double quotes with " ` $ \ backslash-escaped,
# "%" doubled (a lone % starts a field code), then every backslash doubled once more because the
# key's value is itself an escaped string.
arg="$launcher"
arg="${arg//\\/\\\\}"; arg="${arg//\"/\\\"}"; arg="${arg//\`/\\\`}"; arg="${arg//\$/\\\$}"
arg="${arg//%/%%}"
arg="\"${arg//\\/\\\\}\""

template="$(cat "$template_file")"
case "$template" in *@EXEC@*) ;; *) echo "write_desktop_entry.sh: $template_file has no @EXEC@ placeholder" >&2; exit 1 ;; esac
mkdir -p "$(dirname "$output")"
# Quoting the replacement keeps "&" literal (bash 5.2 otherwise expands it to the matched text).
printf '%s\n' "${template//@EXEC@/"$arg"}" > "$output.tmp"
chmod 0644 "$output.tmp"
mv -f "$output.tmp" "$output"
