#!/usr/bin/env bash
# One call on the lent NVIDIA machine (../shared/gpu/README.md): everything the GPU can answer, in
# the order that makes a partial run still useful, logs and JSON under $OUT.
#
# Here, before the call (once per session):
#   echo /.gl/ >> .git/info/exclude; mkdir -p .gl /tmp/amd64/partial
#   o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
#   apt-get $o update; (cd .gl && apt-get $o download libvulkan1 vulkan-validationlayers)
#   meson setup build-gpu -Dbuildtype=release && ninja -C build-gpu
# Then: run (device tool) with carry [".gl", "build-gpu"] and the command
#   bash bench/gpu_session.sh
# and commit $OUT's JSON as bench/results/<date>-<gpu>-*.json with the tables in bench/README.md.
#
# Steps (each logs to $OUT/<step>.log; a failing step does not stop the later ones):
#   1. the Vulkan loader from .gl, the device (vkvit-info: fp16, subgroup size, cooperative matrix)
#   2. correctness on the real driver: matmul first (it runs the cooperative-matrix kernel, never run
#      on hardware before), then the kernel and whole-forward tests, fp32 and fp16
#   3. --peak, the matmul kernels at ViT-B shapes (fp32, fp16; coopmat if present), then --tune
#   4. the model table: ViT-B/16 (and Ti, L) x batch 1..256 x fp32/fp16, --ops
#   5. PyTorch CUDA on the same card: eager fp32/fp16, torch.compile where it works
set -u
OUT=${OUT:-/tmp/vkvit-gpu-out}
B=${BUILD:-build-gpu}
mkdir -p "$OUT"
cd "$(dirname "$0")/.."
export XDG_CACHE_HOME="$OUT/cache"    # the pipeline cache and tune file come back with the results

step() { # step NAME TIMEOUT_S COMMAND...: run, log, record the exit status
    local name=$1 limit=$2
    shift 2
    echo "== $name: $*" | tee -a "$OUT/steps.txt"
    timeout "$limit" "$@" >"$OUT/$name.log" 2>&1
    local rc=$?
    echo "   exit $rc" | tee -a "$OUT/steps.txt"
    tail -3 "$OUT/$name.log"
}

# 1. loader and device
for f in .gl/*.deb; do [ -f "$f" ] && dpkg -x "$f" /; done
ldconfig
if ! "$B/examples/vkvit-info" >"$OUT/info.log" 2>&1; then
    export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
    "$B/examples/vkvit-info" >"$OUT/info.log" 2>&1
fi
cat "$OUT/info.log"
nvidia-smi >"$OUT/nvidia-smi.log" 2>&1

# 2. correctness, with the validation layer carried in .gl (the tests refuse to run without it)
step matmul 300 "$B/tests/test_matmul"
for t in gelu layernorm attention patchify; do step "$t" 200 "$B/tests/test_$t"; done
step model 200 "$B/tests/test_model" tests/data
step model_fp16 200 "$B/tests/test_model" tests/data fp16
step synthetic 300 "$B/tests/test_synthetic"
step synthetic_fp16 300 "$B/tests/test_synthetic" fp16 ti s b

# 3. ceilings, kernels, tuning
step peak 120 "$B/tools/vkvit-bench" --peak --json "$OUT/peak.json"
step kernels_fp32 300 "$B/tools/vkvit-bench" --peak --op all --batch 1,8,64 --json "$OUT/kernels.json"
# fp16 matmuls: the cooperative-matrix kernel (KHR where the build has it, else NV) against the scalar
# fp16 kernel (before, --op was fp32 only and this step timed fp32 under a coopmat label)
VKVIT_MATMUL=coopmat step matmul_coopmat 300 "$B/tools/vkvit-bench" --peak --op matmul --precision fp16 \
    --batch 1,8,64 --json "$OUT/matmul-coopmat.json"
VKVIT_MATMUL=tiled step matmul_fp16_tiled 300 "$B/tools/vkvit-bench" --op matmul --precision fp16 \
    --batch 1,8,64 --json "$OUT/matmul-fp16-tiled.json"
step tune 600 "$B/tools/vkvit-bench" --op matmul --batch 1,8,64 --tune --json "$OUT/tune.json"

# 4. whole forward pass
step models 600 "$B/tools/vkvit-bench" --peak --model vit-b16 --batch 1,8,32,64,256 --precision fp32,fp16 \
    --ops --json "$OUT/models-vit-b16.json"
step models_small_large 600 "$B/tools/vkvit-bench" --model vit-ti16,vit-s16,vit-l16 --batch 1,64 \
    --precision fp16 --json "$OUT/models-others.json"

# 5. the peer
step torch 600 python3 tools/bench_torch.py --device cuda --model vit-b16 --batch 1,8,32,64,256 \
    --precision fp32,fp16 --mode eager,compile --json "$OUT/torch-cuda.json"

echo "done: $OUT"
