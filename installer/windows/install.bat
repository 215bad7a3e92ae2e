@echo off
rem Double-click to install Attend-and-Excite Desktop (runs install.ps1; arguments are passed on).
setlocal
powershell.exe -NoProfile -ExecutionPolicy Bypass -File "%~dp0install.ps1" %*
set "rc=%ERRORLEVEL%"
echo.
if "%rc%"=="0" (echo Installed. Start it from the Start menu: Attend-and-Excite Desktop.) else (echo The installation failed with exit code %rc%; the messages above say why.)
rem Keep the window open when started by a double-click; AAE_NO_PAUSE=1 skips this for scripts.
if not "%AAE_NO_PAUSE%"=="1" pause
exit /b %rc%
