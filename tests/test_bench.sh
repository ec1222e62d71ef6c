#!/usr/bin/env bash
# vkvit-bench --model --ops end to end on the tiny preset, under the validation layer (--validate makes
# any validation message an exit status 1): one row per precision x batch, a batch the device cannot
# hold printed as skipped, and a per-op breakdown whose parts add up. Asserts no speed.
# Usage: test_bench.sh VKVIT_BENCH
set -u
bin=$1
passed=0 failed=0
check() { # check "description" command...
  if "${@:2}"; then echo "ok   $1"; passed=$((passed + 1)); else echo "FAIL $1"; failed=$((failed + 1)); fi
}
tmp=$(mktemp -d) && trap 'rm -rf "$tmp"' EXIT
[ -x "$bin" ] || { echo "FAIL: $bin is not built"; echo "0 passed, 1 failed"; exit 1; }

# Batch 4096 of test-tiny needs a 201 MB input binding: over lavapipe's 128 MiB maxStorageBufferRange.
"$bin" --model test-tiny --batch 1,2,4096 --precision fp32,fp16 --ops --runs 1 --warmup 1 --validate \
  --json "$tmp/bench.json" >"$tmp/out" 2>"$tmp/err"
check "--model test-tiny --ops --validate exits 0 (no validation message)" test $? -eq 0
cat "$tmp/out" "$tmp/err"
grep -q 'separated by barriers' "$tmp/out"; check "the legend states the timestamp caveat" test $? -eq 0

cat >"$tmp/check.py" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
bad = []
def need(cond, what):
    print(('ok  ' if cond else 'FAIL') + ' ' + what)
    if not cond:
        bad.append(what)

need(d['tool'] == 'vkvit-bench' and d['date'] and '--ops' in d['command'] and d['device']['name'],
     'tool, date, command line and device recorded')
rows = d['models']
need([(r['batch'], r['precision_asked']) for r in rows] ==
     [(b, p) for p in ('fp32', 'fp16') for b in (1, 2, 4096)], 'one row per precision x batch, in order')
for r in rows:
    name = f"{r['precision_asked']} batch {r['batch']}"
    if 'skipped' in r:
        ok = (r['batch'] == 4096 and 'maxStorageBufferRange' in r['skipped']) or \
             (r['precision_asked'] == 'fp16' and not d['device']['fp16'])
        need(ok, f"{name}: skipped for a stated reason ({r['skipped'][:80]})")
        continue
    need(r['batch'] != 4096 or d['device'].get('max_storage_buffer_range', 1 << 32) > 201326592,
         f'{name}: measured only where the device can hold it')
    L = r['config']['layers']
    need(r['precision'] == r['precision_asked'], f'{name}: ran in the precision asked')
    need(r['runs'] == 1 and r['gpu_ms']['median'] > 0 and r['wall_ms']['median'] > 0, f'{name}: timed')
    need(r['images_per_s'] > 0 and r['tflops'] > 0, f'{name}: images/s and TFLOP/s')
    mem = r['memory_bytes']
    need(mem['weights'] > 0 and mem['arena'] > 0 and mem['total'] == mem['weights'] + mem['arena'] + mem['io']
         and mem['context_allocated'] >= mem['total'], f'{name}: device memory')
    op = r.get('ops')
    need(op is not None, f'{name}: has the per-op breakdown')
    if op is None:
        continue
    cats = {c['op']: c for c in op['categories']}
    need(list(cats) == ['matmul', 'attention', 'layernorm', 'other'], f'{name}: the four op types')
    # Dispatches per forward: 4 GEMMs per layer + patch embedding + head; one attention per layer;
    # the final LayerNorm only: the encoder's are fused into the QKV and fc1 GEMMs (docs/fusion.md).
    need(cats['matmul']['count'] >= 4 * L + 2 and cats['attention']['count'] >= L and
         cats['layernorm']['count'] == 1,
         f"{name}: counts matmul {cats['matmul']['count']}, attention {cats['attention']['count']}, "
         f"layernorm {cats['layernorm']['count']} for {L} layers")
    need(op['timestamps'] == sum(c['count'] for c in cats.values()) + 1, f'{name}: one timestamp per command + begin')
    need(all(c['ms']['median'] >= 0 for c in cats.values()) and cats['matmul']['ms']['median'] > 0,
         f'{name}: op times are non-negative, matmul positive')
    total, parts = op['sum_ms']['median'], sum(c['ms']['median'] for c in cats.values())
    need(abs(parts - total) <= 1e-6 * total + 1e-9, f'{name}: op types sum to the profiled sum ({parts:.4f} vs {total:.4f} ms)')
    for c in cats:
        shaders = sum(s['ms']['median'] for s in op['shaders'] if s['op'] == c)
        need(abs(shaders - cats[c]['ms']['median']) <= 1e-6 * total + 1e-9, f'{name}: {c} shaders sum to {c}')
    span = op['total_ms']['median']
    # The marks run from vk_cmd_begin to the last copy, the plan's timestamps from just after the first
    # to just after the last: the same span but for a few microseconds.
    need(abs(total - span) <= 0.1 * span,
         f'{name}: ops add up to the GPU time of the same runs within 10% ({total:.3f} vs {span:.3f} ms)')
sys.exit(1 if bad else 0)
PY
check "the JSON holds every row and per-op sums that add up" python3 "$tmp/check.py" "$tmp/bench.json"

# --unfused: test-tiny's 2 layers with their LayerNorms as dispatches of their own, 2 per layer + the final one.
"$bin" --model test-tiny --precision fp32 --ops --runs 1 --warmup 0 --validate --unfused >"$tmp/unfused" 2>&1
check "--unfused exits 0 (no validation message)" test $? -eq 0
grep -Eq '^ +layernorm +5 ' "$tmp/unfused"; check "--unfused: 5 LayerNorm dispatches for 2 layers" test $? -eq 0

"$bin" --ops --runs 1 >/dev/null 2>&1
check "--ops without --model is refused" test $? -ne 0
"$bin" --model test-tiny --precision fp64 >/dev/null 2>&1
check "an unknown precision is refused" test $? -ne 0

# The roofline account and the host overhead: they run under the layer, and the per-forward counts are the
# plan's (test-tiny: 2 layers, fp32: 3 + 2 x 5 + 2 dispatches with the LayerNorms fused, one barrier before each,
# two more).
"$bin" --model test-tiny --roofline all --host-overhead --runs 1 --warmup 0 --validate >"$tmp/roof" 2>&1
check "--roofline all --host-overhead --validate exits 0" test $? -eq 0
grep -q 'per forward: 15 dispatches, 17 barriers' "$tmp/roof"
check "15 dispatches, 17 barriers per forward" test $? -eq 0
grep -q 'floor on Arc A770' "$tmp/roof"; check "a floor per named GPU" test $? -eq 0
grep -q 'host overhead: vkvit_run with no dispatches' "$tmp/roof"; check "the host overhead line" test $? -eq 0
"$bin" --model test-tiny --roofline b200 >/dev/null 2>&1
check "an unknown --roofline GPU is refused" test $? -ne 0

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
