#!/usr/bin/env bash
# Prepares .webgpu-runtime/: Debian 13 (trixie)'s glibc, libstdc++ and libgcc, unpacked
# (not installed) next to the project, and .webgpu-runtime/node, a wrapper that runs Node
# under trixie's dynamic loader with those libraries first on the search path.
#
# Why: gpu.js's WebGPU mode runs on the `webgpu` package's Dawn binary, which needs
# GLIBCXX_3.4.32 and glibc 2.38; Debian 12 has neither. Node itself and every other
# native module (headless-gl's gl.node, Mesa's Vulkan drivers) also run under the newer
# libraries, so one process can test webgpu and headlessgl together. A GPU is not needed:
# Mesa's lavapipe (mesa-vulkan-drivers) is a software Vulkan device Dawn can use.
#
# Usage: scripts/webgpu-runtime.sh [--install-vulkan]
#   --install-vulkan  also apt-get install libvulkan1 and mesa-vulkan-drivers (root or sudo)
set -euo pipefail
cd "$(dirname "$0")/.."
root=.webgpu-runtime
apt_dir=$root/apt
sudo=$([ "$(id -u)" = 0 ] || echo sudo)

if [ "${1:-}" = --install-vulkan ]; then
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y libvulkan1 mesa-vulkan-drivers
fi

mkdir -p "$apt_dir/lists/partial" "$apt_dir/debs" "$root/sysroot"
echo "deb http://deb.debian.org/debian trixie main" > "$apt_dir/sources.list"
opts=(-oDir::Etc::SourceList="$PWD/$apt_dir/sources.list" -oDir::Etc::SourceParts=/dev/null
      -oDir::State::Lists="$PWD/$apt_dir/lists" -oDir::Cache="$PWD/$apt_dir/cache"
      -oDebug::NoLocking=1)
mkdir -p "$apt_dir/cache/archives/partial"
apt-get "${opts[@]}" update
(cd "$apt_dir/debs" && apt-get "${opts[@]}" download libc6 libstdc++6 libgcc-s1)
for deb in "$apt_dir"/debs/*.deb; do dpkg -x "$deb" "$root/sysroot"; done

# Under the loader, process.execPath would be ld-linux itself; exec-path.cjs points it at
# this wrapper, so that child processes (execFileSync(process.execPath, ...)) run under the
# same runtime.
cat > "$root/node" <<'WRAPPER'
#!/bin/sh
# Node under Debian 13's glibc and libstdc++ (made by scripts/webgpu-runtime.sh).
here="$(cd "$(dirname "$0")" && pwd)"
lib="$here/sysroot/usr/lib/x86_64-linux-gnu"
exec "$lib/ld-linux-x86-64.so.2" --library-path "$lib:/usr/lib/x86_64-linux-gnu:/lib/x86_64-linux-gnu" \
  "$(command -v node)" --require "$here/exec-path.cjs" "$@"
WRAPPER
cat > "$root/exec-path.cjs" <<'PRELOAD'
process.execPath = require('node:path').join(__dirname, 'node');
PRELOAD
chmod +x "$root/node"
"$root/node" -e "process.stdout.write('webgpu runtime: node ' + process.version + ' under glibc ' + process.report.getReport().header.glibcVersionRuntime + '\n')"
