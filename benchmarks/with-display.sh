#!/bin/sh
# Runs a command with an X display: under `xvfb-run -a` when DISPLAY is unset and xvfb-run
# exists, since headless-gl (the GPU backend's headlessgl mode) needs one; as is otherwise.
if [ -z "$DISPLAY" ] && command -v xvfb-run >/dev/null; then exec xvfb-run -a "$@"; else exec "$@"; fi
