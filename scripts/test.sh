#!/usr/bin/env bash
# npm test: builds, then runs mocha. Where scripts/webgpu-runtime.sh prepared
# .webgpu-runtime/, mocha runs under it (Debian 13's glibc and libstdc++), so that the
# GPU conformance suite covers webgpu (Dawn) as well as headlessgl in one process, and
# DINOTS_WEBGPU_RUNTIME=1 tells the suite that webgpu is expected to run (with CI=true a
# webgpu that cannot run is then a failure). Without a display, mocha runs under xvfb-run
# so that headless-gl has one. Extra arguments go to mocha. Under the runtime mocha gets
# --exit: Dawn keeps Node's event loop alive while its instance exists
# (https://issues.chromium.org/issues/387965810).
set -euo pipefail
cd "$(dirname "$0")/.."
npx tsc -b
node_cmd=(node)
mocha_args=()
if [ -x .webgpu-runtime/node ]; then
  node_cmd=(.webgpu-runtime/node)
  mocha_args=(--exit)
  export DINOTS_WEBGPU_RUNTIME=1
fi
display=()
if [ -z "${DISPLAY:-}" ] && command -v xvfb-run >/dev/null; then display=(xvfb-run -a); fi
exec "${display[@]}" "${node_cmd[@]}" node_modules/mocha/bin/mocha.js "${mocha_args[@]}" "$@"
