<#
.SYNOPSIS
    Installs Attend-and-Excite Desktop for the current user on Windows (re-run to upgrade in place).
.DESCRIPTION
    Creates a private virtual environment, installs the right torch build (CUDA when nvidia-smi
    answers, else CPU), installs the app from this checkout, and adds Start-menu and desktop
    shortcuts to the console-less launcher with the app icon. Double-click install.bat to run it.
.EXAMPLE
    powershell -ExecutionPolicy Bypass -File installer\windows\install.ps1 -Cpu -Torch torch==2.13.0
#>
[CmdletBinding()]
param(
    [switch]$Cpu,                           # force the CPU build of torch
    [switch]$Cuda,                          # force a CUDA build of torch
    [string]$Torch = $env:AAE_TORCH_SPEC,   # pip requirement for torch, e.g. torch==2.13.0
    [string]$Python = $env:AAE_PYTHON,      # Python 3.10+ to build the environment from
    [switch]$NoUv,                          # use python -m venv + pip even when uv is installed
    [switch]$NoDesktopShortcut              # only the Start-menu shortcut
)

Set-StrictMode -Version 3
# Stop on any failing cmdlet. Native programs are called only inside functions that set 'Continue'
# locally: Windows PowerShell 5.1 turns a redirected stderr line into a terminating error under 'Stop'.
$ErrorActionPreference = 'Stop'

function Say([string]$Message) { Write-Host "[aae-desktop install] $Message" }
function Fail([string]$Message) {
    Write-Host "[aae-desktop install] error: $Message" -ForegroundColor Red
    exit 1
}

$RepoDir = (Resolve-Path (Join-Path $PSScriptRoot '..\..')).Path
$AppHome = if ($env:AAE_INSTALL_DIR) { $env:AAE_INSTALL_DIR } else { Join-Path $env:LOCALAPPDATA 'aae-desktop' }
$Venv = Join-Path $AppHome 'venv'
$VenvPython = Join-Path $Venv 'Scripts\python.exe'
$Launcher = Join-Path $Venv 'Scripts\aae-desktop.exe'
$GuiLauncher = Join-Path $Venv 'Scripts\aae-desktop-gui.exe'   # pythonw-based: no console window
$IconFile = Join-Path $AppHome 'aae-desktop.ico'
$ShortcutName = 'Attend-and-Excite Desktop.lnk'
$UninstallKey = 'HKCU:\Software\Microsoft\Windows\CurrentVersion\Uninstall\aae-desktop'

if (-not $Torch) { $Torch = 'torch' }
if ($Cpu -and $Cuda) { Fail 'choose one of -Cpu or -Cuda, not both' }
if (-not (Test-Path (Join-Path $RepoDir 'pyproject.toml'))) {
    Fail "run this script from inside the aae-desktop checkout ($RepoDir has no pyproject.toml)"
}
if ($Torch -notmatch '^torch([=<>~!].*)?$') { Fail "-Torch must be a torch requirement such as torch==2.13.0, got '$Torch'" }

function Test-NvidiaGpu {
    $ErrorActionPreference = 'Continue'
    if (-not (Get-Command nvidia-smi -ErrorAction SilentlyContinue)) { return $false }
    & nvidia-smi -L *> $null
    return ($LASTEXITCODE -eq 0)
}

$Device = if ($Cuda) { 'cuda' } elseif ($Cpu) { 'cpu' } elseif (Test-NvidiaGpu) { 'cuda' } else { 'cpu' }
# PyPI's Windows torch wheels are CPU-only; CUDA builds come from PyTorch's own index.
$TorchIndex = if ($env:AAE_TORCH_INDEX_URL) { $env:AAE_TORCH_INDEX_URL }
              elseif ($Device -eq 'cuda') { 'https://download.pytorch.org/whl/cu128' }
              else { 'default' }

$UseUv = (-not $NoUv) -and ($env:AAE_NO_UV -ne '1') -and [bool](Get-Command uv -ErrorAction SilentlyContinue)

# The full path of a Python 3.10+ that has venv, or $null. The Microsoft Store's "python.exe"
# placeholder opens the Store instead of running, so every candidate is asked to run code first.
function Resolve-Python([string]$Exe, [string[]]$Prefix = @()) {
    $ErrorActionPreference = 'Continue'
    if (-not (Get-Command $Exe -ErrorAction SilentlyContinue)) { return $null }
    $path = & $Exe @Prefix -c 'import sys, venv; print(sys.executable) if sys.version_info >= (3, 10) else sys.exit(1)' 2>$null
    if ($LASTEXITCODE -eq 0 -and $path) { return ($path | Select-Object -Last 1).Trim() }
    return $null
}

if ($Python) {
    $PythonExe = Resolve-Python $Python
    if (-not $PythonExe) { Fail "'$Python' is not a Python 3.10+ with the venv module" }
} else {
    $PythonExe = Resolve-Python 'py' @('-3')
    if (-not $PythonExe) { $PythonExe = Resolve-Python 'python' }
    if (-not $PythonExe -and -not $UseUv) {
        Fail 'no Python 3.10 or newer found. Install it from python.org (tick "Add python.exe to PATH") and run this again.'
    }
}

Say "installing from $RepoDir into $AppHome (torch: $Torch, $Device build)"
New-Item -ItemType Directory -Force -Path $AppHome | Out-Null

# Re-running reuses the environment (an in-place upgrade); one whose interpreter is gone is rebuilt.
function Test-Venv {
    $ErrorActionPreference = 'Continue'
    if (-not (Test-Path $VenvPython)) { return $false }
    & $VenvPython -c 'import sys' 2>$null
    return ($LASTEXITCODE -eq 0)
}

function New-Venv {
    $ErrorActionPreference = 'Continue'
    if (Test-Path $Venv) { Remove-Item -Recurse -Force $Venv }
    if ($UseUv) {
        $uvPython = if ($PythonExe) { $PythonExe } else { '3.12' }
        & uv venv --quiet --python $uvPython $Venv
    } else {
        & $PythonExe -m venv $Venv
    }
    if ($LASTEXITCODE -ne 0) { Fail "could not create the environment $Venv" }
}

if (Test-Venv) {
    Say "upgrading the existing environment $Venv"
} else {
    New-Venv
}

function Invoke-Pip([string[]]$PipArgs, [string]$What) {
    $ErrorActionPreference = 'Continue'
    if ($UseUv) {
        & uv pip install --quiet --python $VenvPython @PipArgs
    } else {
        & $VenvPython -m pip install --quiet --disable-pip-version-check @PipArgs
    }
    if ($LASTEXITCODE -ne 0) { Fail "$What failed (see the installer's message above)" }
}

if (-not $UseUv) { Invoke-Pip @('--upgrade', 'pip') 'upgrading pip' }

# A torch of the other kind (CPU vs CUDA) already in the environment is removed first, not kept.
function Remove-OtherTorchBuild {
    $ErrorActionPreference = 'Continue'
    # No double quotes in code passed to python.exe: Windows PowerShell 5.1 strips them from arguments.
    $kind = & $VenvPython -c 'import torch; print(''cuda'' if torch.version.cuda else ''cpu'')' 2>$null
    if ($LASTEXITCODE -ne 0 -or -not $kind) { return }
    $kind = "$kind".Trim()
    if ($kind -eq $Device) { return }
    Say "replacing the $kind build of torch with the $Device build"
    if ($UseUv) { & uv pip uninstall --quiet --python $VenvPython torch } else { & $VenvPython -m pip uninstall --quiet -y torch }
}
Remove-OtherTorchBuild
$torchArgs = @()
if ($TorchIndex -ne 'default') { $torchArgs += @('--index-url', $TorchIndex) }
Say "installing $Torch ($Device build; this can take a few minutes the first time)"
Invoke-Pip ($torchArgs + @($Torch)) "installing $Torch"

Say 'installing the app and its libraries'
# The torch just installed is pinned exactly while the app's libraries go in: uv's --upgrade would
# otherwise replace the CUDA build with PyPI's newest, which on Windows is CPU-only.
function Write-TorchPin([string]$Path) {
    $ErrorActionPreference = 'Continue'
    $version = & $VenvPython -c 'import torch; print(torch.__version__)' 2>$null
    if ($LASTEXITCODE -ne 0 -or -not $version) { Fail 'the installed torch does not import' }
    Set-Content -Path $Path -Value "torch==$("$version".Trim())" -Encoding ascii
}
$torchPin = Join-Path $Venv 'torch-pin.txt'
Write-TorchPin $torchPin
Invoke-Pip @('--upgrade', '--constraint', $torchPin, $RepoDir) 'installing the app'
# Same version number after an edit to the checkout: reinstall the app itself so the upgrade takes.
Invoke-Pip @('--force-reinstall', '--no-deps', $RepoDir) 'reinstalling the app'

function Get-LauncherVersion {
    $ErrorActionPreference = 'Continue'
    $out = & $Launcher --version 2>&1
    $text = ($out | ForEach-Object { "$_" }) -join ' '
    if ($LASTEXITCODE -ne 0) { Fail "the installed launcher does not start: $text" }
    return $text.Trim()
}
$version = Get-LauncherVersion

Copy-Item -Force (Join-Path $RepoDir 'resources\icons\aae-desktop.ico') $IconFile
Copy-Item -Force (Join-Path $PSScriptRoot 'uninstall.ps1') (Join-Path $AppHome 'uninstall.ps1')

$shell = New-Object -ComObject WScript.Shell
function New-AppShortcut([string]$Folder) {
    $path = Join-Path $Folder $ShortcutName
    $link = $shell.CreateShortcut($path)
    $link.TargetPath = $GuiLauncher
    $link.WorkingDirectory = $env:USERPROFILE
    $link.IconLocation = "$IconFile,0"
    $link.Description = 'Stable Diffusion that keeps every word you click'
    $link.Save()
    return $path
}
$startShortcut = New-AppShortcut ([Environment]::GetFolderPath('Programs'))
$desktopShortcut = if ($NoDesktopShortcut) { $null } else { New-AppShortcut ([Environment]::GetFolderPath('Desktop')) }

# An entry in Settings > Apps, so the app can be removed the way Windows users expect.
$uninstallCommand = "powershell.exe -NoProfile -ExecutionPolicy Bypass -File `"$(Join-Path $AppHome 'uninstall.ps1')`""
New-Item -Path $UninstallKey -Force | Out-Null
$entry = @{
    DisplayName = 'Attend-and-Excite Desktop'; DisplayVersion = ($version -replace '^aae-desktop\s*', '').Trim()
    DisplayIcon = $IconFile; Publisher = 'Attend-and-Excite Desktop'; InstallLocation = $AppHome
    UninstallString = $uninstallCommand
}
foreach ($name in $entry.Keys) { Set-ItemProperty -Path $UninstallKey -Name $name -Value $entry[$name] }
Set-ItemProperty -Path $UninstallKey -Name NoModify -Value 1 -Type DWord
Set-ItemProperty -Path $UninstallKey -Name NoRepair -Value 1 -Type DWord

Say "done: $version"
Say "  environment:   $Venv"
Say "  Start menu:    $startShortcut"
if ($desktopShortcut) { Say "  desktop:       $desktopShortcut" }
Say "  check it:      & '$Launcher' --self-test"
Say "  uninstall:     Settings > Apps > Attend-and-Excite Desktop, or $uninstallCommand"
