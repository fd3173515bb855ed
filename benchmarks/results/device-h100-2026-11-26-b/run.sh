#!/usr/bin/env bash
# Device check: GPU cases (webgpu mode) and the WebGPU conformance suite, from the bundle in .device/devb.tar.xz
set -u
T0=$(date +%s)
REPO=$PWD; mkdir -p /tmp/d && tar -xJf .device/devb.tar.xz -C /tmp/d && cp .device/lib/* /tmp/d/lib/ && cp -r benchmarks/pytorch /tmp/d/repo/benchmarks/ && cd /tmp/d/repo
echo "extracted after $(( $(date +%s) - T0 )) s"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
cat /etc/os-release | head -2; ldd --version | head -1; nproc; grep -m1 "model name" /proc/cpuinfo
for f in /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json /usr/share/vulkan/icd.d/nvidia_icd.json /etc/vulkan/icd.d/nvidia_icd.json; do [ -e "$f" ] && export VK_DRIVER_FILES=$f && break; done
echo "VK_DRIVER_FILES=${VK_DRIVER_FILES:-none}"
missing=$( (ldd node_modules/gl/build/Release/webgl.node; ldconfig -p | grep -q libvulkan.so.1 || echo "libvulkan not found") | grep -c "not found")
ldconfig -p | grep -c "libGLdispatch\|libvulkan"; [ "$missing" != 0 ] && export LD_LIBRARY_PATH=/tmp/d/lib && echo "using bundled X11/vulkan libs ($missing missing)"
python3 -c 'import torch; print("torch", torch.__version__)' 2>&1 | tail -1
DINOTS_GPU_MODE=webgpu timeout 330 ../node --expose-gc --single-threaded-gc benchmarks/dist/run.js --threads 2 --only GPU > $OUT/gpu-webgpu.md 2> $OUT/gpu-webgpu.err
echo "bench rc=$? after $(( $(date +%s) - T0 )) s"; tail -3 $OUT/gpu-webgpu.err
cp benchmarks/results/*.json $OUT/ 2>/dev/null
DINOTS_GPU_MODE=webgpu timeout 150 ../node node_modules/mocha/bin/mocha.js --no-config --exit --timeout 600000 --reporter dot packages/tensor/dist/test/gpu/conformance.test.js packages/tensor/dist/test/gpu/webgpu.test.js > $OUT/webgpu-conformance.log 2>&1
echo "conformance rc=$? after $(( $(date +%s) - T0 )) s"; tail -4 $OUT/webgpu-conformance.log
rm -f benchmarks/results/*.json
timeout 200 ../node --expose-gc --single-threaded-gc benchmarks/dist/run.js --threads 2 --only 'SGEMM (1024|ViT)|ViT train' --skip 'tfjs|naive|TS kernel' > $OUT/cpu-pytorch.md 2> $OUT/cpu-pytorch.err
echo "cpu rc=$? after $(( $(date +%s) - T0 )) s"; tail -3 $OUT/cpu-pytorch.err
mkdir -p $OUT/cpu && cp benchmarks/results/*.json $OUT/cpu/ 2>/dev/null
