@echo off
rem Double-click to uninstall Attend-and-Excite Desktop (runs uninstall.ps1; pass -Purge to delete settings too).
setlocal
powershell.exe -NoProfile -ExecutionPolicy Bypass -File "%~dp0uninstall.ps1" %*
set "rc=%ERRORLEVEL%"
if not "%AAE_NO_PAUSE%"=="1" pause
exit /b %rc%
