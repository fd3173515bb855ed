#!/usr/bin/env bash
# Packs what the GPU conformance suite needs on a machine without npm access (e.g. a GPU
# box that can reach nothing) into .device/ (about 37 MB): the node_modules of mocha, chai,
# fast-check and gpu.js (with only the linux-x64 Dawn binary of the webgpu package), and
# .device/run.sh, which runs the suite in one mode. Carry .device/, packages/tensor/dist and,
# for webgpu on an older glibc, .webgpu-runtime/{node,exec-path.cjs,sysroot}; then
#   bash .device/run.sh webgpu
# The machine needs Node >= 20.16 and, for webgpu, a Vulkan driver (libvulkan1 and the
# GPU's ICD, e.g. NVIDIA's nvidia_icd.json).
set -euo pipefail
cd "$(dirname "$0")/.."
npx tsc -b
rm -rf .device && mkdir -p .device/node_modules
modules=$(node -e "
  const lock = require('./package-lock.json').packages;
  const seen = new Set();
  const walk = (name) => {
    if (seen.has(name) || !lock['node_modules/' + name]) return;
    seen.add(name);
    for (const d of Object.keys(lock['node_modules/' + name].dependencies ?? {})) walk(d);
  };
  ['mocha', 'chai', 'fast-check', 'gpu.js'].forEach(walk);
  console.log([...seen].filter((m) => m !== 'webgpu').join(' '));")
for m in $modules; do mkdir -p ".device/node_modules/$(dirname "$m")" && cp -r "node_modules/$m" ".device/node_modules/$m"; done
mkdir -p .device/node_modules/webgpu/dist
cp node_modules/webgpu/{index.js,package.json} .device/node_modules/webgpu/
cp node_modules/webgpu/dist/linux-x64.dawn.node .device/node_modules/webgpu/dist/
cat > .device/run.sh <<'RUN'
#!/usr/bin/env bash
# bash .device/run.sh MODE: the GPU conformance suite in one gpu.js mode (see scripts/gpu-test-bundle.sh).
set -uo pipefail
cd "$(dirname "$0")/.."
[ -e node_modules ] || ln -s .device/node_modules node_modules
node_cmd=node
[ -x .webgpu-runtime/node ] && node_cmd=.webgpu-runtime/node
files=(packages/tensor/dist/test/backends/conformance.test.js)
[ "$1" = webgpu ] && files+=(packages/tensor/dist/test/gpu/webgpu.test.js)
DINOTS_GPU_MODE=$1 $node_cmd node_modules/mocha/bin/mocha.js --no-config --exit --timeout 600000 --reporter spec "${files[@]}"
RUN
du -sh .device
