<#
.SYNOPSIS
    Removes what install.ps1 put in place: the environment, shortcuts, icon and the Settings > Apps entry.
.DESCRIPTION
    Settings, logs and the gallery index are kept unless -Purge is given; images in the
    Pictures folder are never touched.
#>
[CmdletBinding()]
param([switch]$Purge)

Set-StrictMode -Version 3
$ErrorActionPreference = 'Stop'

function Say([string]$Message) { Write-Host "[aae-desktop uninstall] $Message" }

# The installer copies this script next to the environment; run from there, that folder is the install.
$AppHome = if (Test-Path (Join-Path $PSScriptRoot 'venv')) { $PSScriptRoot }
           elseif ($env:AAE_INSTALL_DIR) { $env:AAE_INSTALL_DIR }
           else { Join-Path $env:LOCALAPPDATA 'aae-desktop' }
$ShortcutName = 'Attend-and-Excite Desktop.lnk'
$UninstallKey = 'HKCU:\Software\Microsoft\Windows\CurrentVersion\Uninstall\aae-desktop'

$targets = @(
    (Join-Path ([Environment]::GetFolderPath('Programs')) $ShortcutName),
    (Join-Path ([Environment]::GetFolderPath('Desktop')) $ShortcutName),
    (Join-Path $AppHome 'venv'),
    (Join-Path $AppHome 'aae-desktop.ico'),
    (Join-Path $AppHome 'uninstall.ps1')
)
# platformdirs keeps settings, logs and caches under the same folder on Windows.
if ($Purge) { $targets += $AppHome }

$removed = $false
foreach ($target in $targets) {
    if (Test-Path -LiteralPath $target) {
        Remove-Item -LiteralPath $target -Recurse -Force
        Say "removed $target"
        $removed = $true
    }
}
if (Test-Path $UninstallKey) { Remove-Item -Path $UninstallKey -Recurse -Force; Say 'removed the Settings > Apps entry' }
if ((Test-Path -LiteralPath $AppHome) -and -not (Get-ChildItem -LiteralPath $AppHome -Force)) { Remove-Item -LiteralPath $AppHome }

if ($removed) { Say 'Attend-and-Excite Desktop is uninstalled.' } else { Say "nothing to remove: no install found under $AppHome" }
