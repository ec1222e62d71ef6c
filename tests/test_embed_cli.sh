#!/usr/bin/env bash
# vkvit-embed end to end with the real DeiT-Tiny on the ../shared photos (plus a generated picture in a
# subdirectory and a corrupt file): the .npy rows (embeddings, unit embeddings, all tokens) equal what
# vkvit_get_embeddings / vkvit_get_patch_tokens give for each file (check_embed_npy), the .npy headers are
# valid (parsed as numpy's format 1.0 reader does; np.load too where numpy is installed), the corrupt file is
# named and skipped (exit 3), each photo queried against its own folder finds itself first with similarity 1,
# --zero-shot with the photos' own embeddings as "text" embeddings gives each photo its own name, and a run
# killed after its first batch leaves files numpy reads, whose rows are right.
# Usage: test_embed_cli.sh VKVIT_EMBED CHECK_EMBED_NPY SOURCE_ROOT
set -u
bin=$1 checker=$2 root=$3
model="$root/../shared/models/deit-tiny-imagenet" photos="$root/../shared/images"
passed=0 failed=0
check() { # check "description" command...
  if "${@:2}"; then echo "ok   $1"; passed=$((passed + 1)); else echo "FAIL $1"; failed=$((failed + 1)); fi
}
tmp=$(mktemp -d) && trap 'rm -rf "$tmp"' EXIT
[ -x "$bin" ] || { echo "FAIL: $bin is not built"; echo "0 passed, 1 failed"; exit 1; }
[ -d "$model" ] && [ -d "$photos" ] || { echo "FAIL: $model or $photos missing"; echo "0 passed, 1 failed"; exit 1; }

# A folder: the photos, a generated gradient in a subdirectory (recursion), a corrupt PNG, a text file.
mkdir -p "$tmp/in/sub"
cp "$photos"/*.png "$photos"/*.jpg "$tmp/in/"
python3 - "$tmp/in" <<'PY'
import struct, sys, zlib
d = sys.argv[1]
def chunk(kind, data):
    return struct.pack('>I', len(data)) + kind + data + struct.pack('>I', zlib.crc32(kind + data))
def png(w, h, raw):
    return (b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, 8, 2, 0, 0, 0))
            + chunk(b'IDAT', zlib.compress(raw)) + chunk(b'IEND', b''))
raw = b''.join(b'\x00' + b''.join(bytes((x * 4, y * 4, (x + y) * 2)) for x in range(64)) for y in range(64))
open(f'{d}/sub/gradient.png', 'wb').write(png(64, 64, raw))
full = png(64, 64, raw)
open(f'{d}/corrupt.png', 'wb').write(full[:len(full) // 2])
open(f'{d}/notes.txt', 'w').write('not an image\n')
PY
n_good=$(ls "$tmp"/in/*.png "$tmp"/in/*.jpg | wc -l)   # the photos and sub/gradient.png, not corrupt.png

# The header check: numpy's format 1.0 rules (magic, version, 64-byte alignment, the dict's keys and values,
# the data at least as long as the shape says); prints the row count.
cat >"$tmp/npy.py" <<'PY'
import ast, struct, sys
path, ndim = sys.argv[1], int(sys.argv[2])
b = open(path, 'rb').read()
assert b[:8] == b'\x93NUMPY\x01\x00', 'magic / version'
hl = struct.unpack('<H', b[8:10])[0]
assert (10 + hl) % 64 == 0, 'header not 64-byte aligned'
h = b[10:10 + hl].decode('latin1')
assert h.endswith('\n'), 'header not ended by a newline'
d = ast.literal_eval(h)
assert set(d) == {'descr', 'fortran_order', 'shape'} and d['descr'] == '<f4' and d['fortran_order'] is False, d
assert len(d['shape']) == ndim and all(isinstance(s, int) and s >= 0 for s in d['shape']), d
n = 1
for s in d['shape']:
    n *= s
assert len(b) >= 10 + hl + 4 * n, f'{len(b)} bytes, the header says {10 + hl + 4 * n}'
try:
    import numpy as np
    a = np.load(path)
    assert a.shape == tuple(d['shape']) and a.dtype == np.float32 and np.isfinite(a).all()
    print('numpy loads it', file=sys.stderr)
except ImportError:
    pass
print(d['shape'][0])
PY
npy_rows() { python3 "$tmp/npy.py" "$1" "$2" 2>/dev/null || /usr/bin/python3 "$tmp/npy.py" "$1" "$2"; }
numpy_py=python3
python3 -c 'import numpy' 2>/dev/null || numpy_py=/usr/bin/python3

# 1. Unit embeddings and all tokens, batch 3 (rows in batches of 3, the last partial).
"$bin" --model "$model" --fp32 --batch 3 --normalize --patch-tokens "$tmp/tok.npy" -o "$tmp/unit.npy" "$tmp/in" \
  >"$tmp/out" 2>"$tmp/err"
status=$?
cat "$tmp/err"
check "a corrupt image makes the exit status 3 (some skipped)" test $status -eq 3
check "stderr names corrupt.png with a reason" grep -q "corrupt.png.*[a-z]" "$tmp/err"
check "the text file is not taken for an image" bash -c "! grep -q notes.txt '$tmp/err' '$tmp/unit.txt'"
check "the index names the $n_good good images, the subdirectory's too" \
  bash -c "[ \$(wc -l <'$tmp/unit.txt') -eq $n_good ] && grep -q sub/gradient.png '$tmp/unit.txt'"
check "unit.npy: a valid header, $n_good rows" test "$(npy_rows "$tmp/unit.npy" 2)" = "$n_good"
check "tok.npy: a valid header, $n_good rows" test "$(npy_rows "$tmp/tok.npy" 3)" = "$n_good"
"$checker" "$model" "$tmp/unit.npy" "$tmp/unit.txt" 1e-6 normalize tokens "$tmp/tok.npy" >"$tmp/chk"
check "unit rows and token rows == vkvit_get_embeddings / vkvit_get_patch_tokens per file (1e-6)" test $? -eq 0
cat "$tmp/chk"

# 2. Plain embeddings, batch 2.
"$bin" --model "$model" --fp32 --batch 2 -o "$tmp/emb.npy" "$tmp/in" >/dev/null 2>&1
check "batch 2: exit 3 again" test $? -eq 3
"$checker" "$model" "$tmp/emb.npy" "$tmp/emb.txt" 1e-6 >"$tmp/chk"
check "rows == vkvit_get_embeddings per file (1e-6)" test $? -eq 0
cat "$tmp/chk"

# 3. Each image queried against its own folder: itself first, similarity 1 within 1e-6.
while read -r f; do
  "$bin" --model "$model" --fp32 --query "$f" --top 3 "$tmp/emb.npy" >"$tmp/q" 2>"$tmp/err"
  check "--query $(basename "$f"): itself first, similarity 1 within 1e-6" python3 - "$tmp/q" "$f" <<'PY'
import sys
sim, path = open(sys.argv[1]).readline().rstrip('\n').split('  ', 1)
ok = path == sys.argv[2] and abs(float(sim) - 1) <= 1e-6
print(open(sys.argv[1]).read(), end='')
sys.exit(0 if ok else 1)
PY
done <"$tmp/emb.txt"

# 4. Zero-shot with the images' own unit embeddings as text embeddings and their names as labels.
sed 's|.*/||; s|\.[a-z]*$||' "$tmp/unit.txt" >"$tmp/labels.txt"
"$bin" --model "$model" --fp32 --zero-shot "$tmp/unit.npy" "$tmp/labels.txt" --top 2 $(cat "$tmp/unit.txt") \
  >"$tmp/zs" 2>"$tmp/err"
check "--zero-shot: exit 0" test $? -eq 0
cat "$tmp/zs"
check "--zero-shot: each image's own name ranks first" python3 - "$tmp/zs" <<'PY'
import sys
lines, bad, n = open(sys.argv[1]).read().splitlines(), 0, 0
for i, line in enumerate(lines):
    if not line.startswith(' '):
        n += 1
        want = line.rsplit('/', 1)[-1].rsplit('.', 1)[0]
        got = lines[i + 1].split('  ')[-1]
        bad += got != want
sys.exit(1 if bad or n == 0 else 0)
PY

# 5. Killed after its first batch: valid headers, rows that are right, nothing beyond what was synced.
mkdir -p "$tmp/many"
for i in $(seq -w 1 40); do cp "$photos/chelsea.png" "$tmp/many/p$i.png"; done
"$bin" --model "$model" --fp32 --batch 2 --patch-tokens "$tmp/ktok.npy" -o "$tmp/k.npy" "$tmp/many" \
  >/dev/null 2>&1 &
pid=$!
for _ in $(seq 600); do
  rows=$(npy_rows "$tmp/k.npy" 2 2>/dev/null) && [ "${rows:-0}" -ge 2 ] && break
  sleep 0.05
done
kill -9 $pid 2>/dev/null; killed=$?
wait $pid 2>/dev/null
rows=$(npy_rows "$tmp/k.npy" 2)
check "killed during the run (after $rows rows)" test "$killed" -eq 0 -a "${rows:-0}" -lt 40
check "killed: k.npy has a valid header and at least the first batch" test "${rows:-0}" -ge 2
check "killed: ktok.npy has a valid header" test -n "$(npy_rows "$tmp/ktok.npy" 3)"
check "killed: the index names at least the header's rows" test "$(wc -l <"$tmp/k.txt")" -ge "${rows:-1}"
"$checker" "$model" "$tmp/k.npy" "$tmp/k.txt" 1e-6 >"$tmp/chk"
check "killed: its rows == vkvit_get_embeddings" test $? -eq 0
tail -1 "$tmp/chk"
load='import numpy as np, sys; [np.load(f) for f in sys.argv[1:]]'
check "numpy loads the killed run's files where it is installed" bash -c \
  "! $numpy_py -c 'import numpy' 2>/dev/null || $numpy_py -c '$load' '$tmp/k.npy' '$tmp/ktok.npy'"

# 6. Usage.
"$bin" >/dev/null 2>&1; check "no arguments: exit 2" test $? -eq 2
"$bin" -o "$tmp/x.npy" --query a.png b.npy >/dev/null 2>&1; check "-o with --query: exit 2" test $? -eq 2
"$bin" --model "$model" --query "$photos/coffee.png" "$tmp/tok.npy" 2>"$tmp/err" >/dev/null
check "--query against a 3-D .npy: exit 1 naming it" grep -q "tok.npy" "$tmp/err"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
