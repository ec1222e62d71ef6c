#!/usr/bin/env bash
# vkvit-classify end to end: the bundled model on the bundled images (each file is named after its
# class), --json, the real DeiT-Tiny on the ../shared photos (also at another --size), and bad images:
# each named on stderr with its reason while the other images still get their answers.
# Usage: test_classify.sh VKVIT_CLASSIFY SOURCE_ROOT
set -u
bin=$1 root=$2
passed=0 failed=0
check() { # check "description" command...
  if "${@:2}"; then echo "ok   $1"; passed=$((passed + 1)); else echo "FAIL $1"; failed=$((failed + 1)); fi
}
tmp=$(mktemp -d) && trap 'rm -rf "$tmp"' EXIT
[ -x "$bin" ] || { echo "FAIL: $bin is not built"; echo "0 passed, 1 failed"; exit 1; }

# 1. The bundled model and images (the default model): every top-1 names the file's class.
"$bin" --top 3 "$root"/examples/images >"$tmp/out" 2>"$tmp/err"
check "bundled images classify (exit 0)" test $? -eq 0
cat "$tmp/out"
n_images=$(ls "$root"/examples/images/*.png | wc -l)
check "one result per bundled image ($n_images)" test "$(grep -c '\.png$' "$tmp/out")" -eq "$n_images"
cat >"$tmp/top1.py" <<'PY'
import re, sys
lines = open(sys.argv[1]).read().splitlines()
bad = 0
for i, line in enumerate(lines):
    if line.endswith('.png'):
        stem = re.sub(r'-\d+$', '', line.rsplit('/', 1)[1][:-4])          # "ankle-boot-2" -> "ankle-boot"
        top1 = re.sub(r'^\s*[\d.]+%\s+', '', lines[i + 1]).lower()
        want = stem.replace('-', ' ')
        ok = re.sub(r'[^a-z]', '', top1).startswith(re.sub(r'[^a-z]', '', want)[:5])
        print(('ok  ' if ok else 'FAIL') + f' {stem}: top-1 {top1!r}')
        bad += not ok
sys.exit(1 if bad else 0)
PY
check "every bundled image's top-1 is its class" python3 "$tmp/top1.py" "$tmp/out"
grep -q '^device .* images/s' "$tmp/out"; check "summary line with images/s" test $? -eq 0

# 2. --json is valid JSON with one entry per image.
"$bin" --json --top 2 "$root"/examples/images >"$tmp/json" 2>/dev/null
check "--json parses, one result per image" python3 -c "
import json, sys; d = json.load(open('$tmp/json'))
assert len(d['results']) == $n_images and all(len(r['top']) == 2 for r in d['results']), d
assert d['images'] == $n_images and d['failed'] == 0 and d['images_per_second'] > 0
assert d['matmul_kernel'] in ('coopmat', 'tiled', 'direct'), d['matmul_kernel']"

# 3. Bad images among good ones.
good=$(ls "$root"/examples/images/*.png | head -1)
python3 - "$tmp" <<'PY'
import struct, sys, zlib
d = sys.argv[1]
def chunk(kind, data):
    return struct.pack('>I', len(data)) + kind + data + struct.pack('>I', zlib.crc32(kind + data))
def png(w, h, raw):
    return (b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, 8, 2, 0, 0, 0))
            + chunk(b'IDAT', zlib.compress(raw)) + chunk(b'IEND', b''))
open(f'{d}/tiny-1x1.png', 'wb').write(png(1, 1, b'\x00\x80\x40\x20'))
open(f'{d}/huge-20000.png', 'wb').write(png(20000, 20000, b'\x00' * 64))   # the header is what counts
open(f'{d}/empty.png', 'wb').close()
open(f'{d}/not-an-image.png', 'w').write('this is text, not a picture\n')
full = png(64, 64, b''.join(b'\x00' + bytes(range(192)) for _ in range(64)))
open(f'{d}/truncated.png', 'wb').write(full[:len(full) // 2])
PY
"$bin" --top 1 "$tmp/missing.png" "$tmp/empty.png" "$tmp/not-an-image.png" "$tmp/truncated.png" \
       "$tmp/huge-20000.png" "$tmp/tiny-1x1.png" "$good" >"$tmp/out" 2>"$tmp/err"
status=$?
cat "$tmp/err"
check "bad images make the exit status 1" test $status -eq 1
for f in missing.png empty.png not-an-image.png truncated.png huge-20000.png; do
  check "stderr names $f with a reason" grep -q "$f.*[a-z]" "$tmp/err"
done
check "huge image: its size is in the message" grep -q "20000" "$tmp/err"
check "the 1x1 image still gets an answer" grep -q "tiny-1x1.png" "$tmp/out"
check "the good image still gets an answer" grep -q "$(basename "$good")" "$tmp/out"
check "no good image reported as failed" bash -c "! grep -q -e tiny-1x1 -e '$(basename "$good")' '$tmp/err'"

# 4. Usage errors.
"$bin" >/dev/null 2>&1; check "no arguments: usage, exit 2" test $? -eq 2
"$bin" --top 0 x.png >/dev/null 2>&1; check "--top 0: exit 2" test $? -eq 2
"$bin" --model "$tmp/nowhere" "$good" 2>"$tmp/err" >/dev/null
check "missing model: exit 1 naming it" grep -q nowhere "$tmp/err"
"$bin" --size 0 x.png >/dev/null 2>&1; check "--size 0: exit 2" test $? -eq 2
"$bin" --size 30 "$good" 2>"$tmp/err" >/dev/null
check "--size 30 with the bundled model's 7-pixel patches: exit 1 naming both" \
  grep -q "image_size 30: not a multiple of the patch size.* 7" "$tmp/err"
"$bin" --size 14 --top 1 "$good" >"$tmp/out" 2>"$tmp/err"
check "--size 14 (a 2x2 grid instead of 4x4) runs, summary says 14x14" grep -q "14x14" "$tmp/out"
"$bin" --size 14x35 --top 1 "$good" >"$tmp/out" 2>"$tmp/err"
check "--size 14x35 (height x width: a 2x5 grid) runs, summary says 14x35" grep -q "14x35, " "$tmp/out"
"$bin" --size 14x30 "$good" 2>"$tmp/err" >/dev/null
check "--size 14x30: exit 1 naming the size" grep -q "image size 14x30 (height x width): not a multiple" "$tmp/err"
"$bin" --size 14x x.png >/dev/null 2>&1; check "--size 14x: exit 2" test $? -eq 2

# 5. The real DeiT-Tiny on the real photos (the README's example), with --verify.
shared="$root/../shared"
if [ -d "$shared/models/deit-tiny-imagenet" ]; then
  "$bin" --model "$shared/models/deit-tiny-imagenet" --verify "$shared"/images/*.png "$shared"/images/*.jpg \
    >"$tmp/out" 2>"$tmp/err"
  check "DeiT-Tiny on the shared photos with --verify (exit 0)" test $? -eq 0
  cat "$tmp/out"
  check "chelsea.png: Egyptian cat" bash -c "grep -A1 chelsea.png '$tmp/out' | grep -q 'Egyptian cat'"
  check "coffee.png: espresso" bash -c "grep -A1 coffee.png '$tmp/out' | grep -q espresso"
  check "verify within 1e-4" grep -q 'verify: .*(ok, bound 1e-04)' "$tmp/out"
  # The fp16 path from the command line: same labels, verify within the fp16 bound.
  "$bin" --fp16 --model "$shared/models/deit-tiny-imagenet" --verify "$shared"/images/chelsea.png \
    "$shared"/images/coffee.png >"$tmp/out" 2>"$tmp/err"
  check "--fp16 (exit 0)" test $? -eq 0
  cat "$tmp/out" "$tmp/err"
  check "--fp16: the model runs in fp16, and the summary names its matmul kernel" \
    grep -E -q 'classes, fp16, (coopmat|tiled|direct) matmuls\)' "$tmp/out"
  check "--fp16: chelsea.png: Egyptian cat" bash -c "grep -A1 chelsea.png '$tmp/out' | grep -q 'Egyptian cat'"
  check "--fp16: coffee.png: espresso" bash -c "grep -A1 coffee.png '$tmp/out' | grep -q espresso"
  check "--fp16: verify within 2e-2" grep -q 'verify: .*(ok, bound 2e-02)' "$tmp/out"
  # --size: DeiT-Tiny at 320 px (a 20x20 grid; position embedding resampled at load), both layouts: same labels.
  for layout in "" /timm; do
    "$bin" --size 320 --top 1 --verify --model "$shared/models/deit-tiny-imagenet$layout" "$shared"/images/chelsea.png \
      "$shared"/images/coffee.png >"$tmp/out" 2>"$tmp/err"
    check "--size 320 (${layout:-HF}): exit 0, runs at 320x320" grep -q "320x320, 1000 classes" "$tmp/out"
    cat "$tmp/out"
    check "--size 320 (${layout:-HF}): chelsea.png: Egyptian cat" \
      bash -c "grep -A1 chelsea.png '$tmp/out' | grep -q 'Egyptian cat'"
    check "--size 320 (${layout:-HF}): coffee.png: espresso" bash -c "grep -A1 coffee.png '$tmp/out' | grep -q espresso"
    check "--size 320 (${layout:-HF}): verify within 1e-4" grep -q 'verify: .*(ok, bound 1e-04)' "$tmp/out"
  done
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
