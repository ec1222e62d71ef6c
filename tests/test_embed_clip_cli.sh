#!/usr/bin/env bash
# vkvit-embed with the tiny CLIP towers (HF's, and timm's at an image-tower tag, whose head is the projection) and
# the SigLIP tower of tests/data (tools/make_clip_fixtures.py) on five generated pictures: the unit .npy rows
# equal vkvit_get_embeddings (check_embed_npy); --zero-shot against "text"
# embeddings made so the ranking is known (the images' own unit embeddings under their names, each also with a
# near copy, plus random distractors, shuffled) ranks the labels exactly as the cosines computed here in double
# from the .npy (own name first, similarity 1 within 1e-5); --query finds each image itself first (similarity 1
# within 1e-6) and ranks the folder as those cosines do.
# Usage: test_embed_clip_cli.sh VKVIT_EMBED CHECK_EMBED_NPY TESTS_DATA_DIR
set -u
bin=$1 checker=$2 data=$3
passed=0 failed=0
check() { # check "description" command...
  if "${@:2}"; then echo "ok   $1"; passed=$((passed + 1)); else echo "FAIL $1"; failed=$((failed + 1)); fi
}
tmp=$(mktemp -d) && trap 'rm -rf "$tmp"' EXIT
[ -x "$bin" ] || { echo "FAIL: $bin is not built"; echo "0 passed, 1 failed"; exit 1; }

# Five pictures (PNG by hand: no imaging library needed), distinct patterns and sizes.
mkdir -p "$tmp/in"
python3 - "$tmp/in" <<'PY'
import math, struct, sys, zlib
d = sys.argv[1]
def chunk(kind, data):
    return struct.pack('>I', len(data)) + kind + data + struct.pack('>I', zlib.crc32(kind + data))
def png(path, w, h, f):
    raw = b''.join(b'\x00' + b''.join(bytes(f(x, y)) for x in range(w)) for y in range(h))
    open(path, 'wb').write(b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, 8, 2, 0, 0, 0))
                           + chunk(b'IDAT', zlib.compress(raw)) + chunk(b'IEND', b''))
png(f'{d}/gradient.png', 48, 40, lambda x, y: (x * 5, y * 6, (x + y) * 2))
png(f'{d}/checker.png', 40, 40, lambda x, y: (255, 255, 255) if (x // 5 + y // 5) % 2 else (20, 20, 90))
png(f'{d}/rings.png', 44, 52, lambda x, y: (int(127 + 127 * math.sin(math.hypot(x - 22, y - 26) / 2)), 90, 30))
png(f'{d}/stripes.png', 64, 36, lambda x, y: (0, 200 if (x // 3) % 2 else 40, 120))
png(f'{d}/noise.png', 36, 36, lambda x, y: ((x * 7919 + y * 104729) % 251, (x * y * 31) % 253, (x + 3 * y) * 3 % 256))
PY

# .npy (format 1.0, <f4) read and written in plain Python; the ranking computed in double.
cat >"$tmp/npy.py" <<'PY'
import array, ast, math, random, struct, sys

def read(path):
    b = open(path, 'rb').read()
    hl = struct.unpack('<H', b[8:10])[0]
    h = ast.literal_eval(b[10:10 + hl].decode('latin1'))
    rows, cols = h['shape']
    a = array.array('f')
    a.frombytes(b[10 + hl:10 + hl + 4 * rows * cols])
    return [list(a[r * cols:(r + 1) * cols]) for r in range(rows)]

def write(path, rows):
    h = "{'descr': '<f4', 'fortran_order': False, 'shape': (%d, %d), }" % (len(rows), len(rows[0]))
    h += ' ' * (63 - (10 + len(h)) % 64) + '\n'
    a = array.array('f', [v for r in rows for v in r])
    open(path, 'wb').write(b'\x93NUMPY\x01\x00' + struct.pack('<H', len(h)) + h.encode('latin1') + a.tobytes())

def unit(v):
    n = math.sqrt(sum(x * x for x in v))
    return [x / n for x in v]

def cos(a, b):
    return sum(x * y for x, y in zip(a, b)) / math.sqrt(sum(x * x for x in a) * sum(y * y for y in b))

def ranking(q, rows, names):
    """(similarity, name) best first; ties in row order, as vkvit-embed ranks."""
    s = [(cos(q, r), i) for i, r in enumerate(rows)]
    s.sort(key=lambda t: (-t[0], t[1]))
    return [(v, names[i]) for v, i in s]

def parse(lines):
    """vkvit-embed's '  SIM  NAME' / 'SIM  NAME' lines -> [(sim, name)]."""
    return [(float(l.split()[0]), l.strip().split('  ', 1)[1]) for l in lines]

mode = sys.argv[1]
if mode == 'text':  # images.npy index.txt -> text.npy labels.txt
    emb, names = read(sys.argv[2]), [l.rstrip('\n') for l in open(sys.argv[3])]
    rng = random.Random(1313)
    rows = []
    for e, n in zip(emb, names):
        base = n.rsplit('/', 1)[-1].rsplit('.', 1)[0]
        rows.append((unit(e), base))
        near = unit([x + 0.35 * rng.gauss(0, 1) / math.sqrt(len(e)) for x in e])  # close, never the same
        rows.append((near, base + '-near'))
    for k in range(7):
        rows.append((unit([rng.gauss(0, 1) for _ in emb[0]]), f'distractor-{k}'))
    rng.shuffle(rows)
    write(sys.argv[4], [r for r, _ in rows])
    open(sys.argv[5], 'w').write(''.join(n + '\n' for _, n in rows))
elif mode == 'zero-shot':  # out text.npy labels.txt images.npy index.txt top
    out = open(sys.argv[2]).read().splitlines()
    text, labels = read(sys.argv[3]), [l.rstrip('\n') for l in open(sys.argv[4])]
    emb, names = read(sys.argv[5]), [l.rstrip('\n') for l in open(sys.argv[6])]
    top, bad, seen = int(sys.argv[7]), 0, 0
    for i, line in enumerate(out):
        if line.startswith(' '):
            continue
        seen += 1
        got = parse(out[i + 1:i + 1 + top])
        want = ranking(emb[names.index(line)], text, labels)[:top]
        own = line.rsplit('/', 1)[-1].rsplit('.', 1)[0]
        ok = [n for _, n in got] == [n for _, n in want] and got[0][1] == own and abs(got[0][0] - 1) <= 1e-5 \
            and all(abs(g - w) <= 1e-5 for (g, _), (w, _) in zip(got, want))
        print(('ok  ' if ok else 'BAD ') + line, got[:2], 'want', [(round(v, 6), n) for v, n in want[:2]])
        bad += not ok
    sys.exit(1 if bad or seen != len(names) else 0)
elif mode == 'query':  # out image images.npy index.txt
    got = parse(open(sys.argv[2]).read().splitlines())
    emb, names = read(sys.argv[4]), [l.rstrip('\n') for l in open(sys.argv[5])]
    want = ranking(emb[names.index(sys.argv[3])], emb, names)[:len(got)]
    ok = got[0][1] == sys.argv[3] and abs(got[0][0] - 1) <= 1e-6 and [n for _, n in got] == [n for _, n in want]
    print(got, 'want', [(round(v, 6), n) for v, n in want])
    sys.exit(0 if ok else 1)
PY

for fixture in clip/quickgelu clip/quickgelu/timm-tower siglip/tower; do
  model="$data/$fixture" out="$tmp/${fixture//\//-}"
  "$bin" --model "$model" --fp32 --batch 2 --normalize -o "$out.npy" "$tmp/in" >/dev/null 2>"$out.err"
  check "$fixture: embeds the 5 pictures (exit 0)" test $? -eq 0
  cat "$out.err"
  "$checker" "$model" "$out.npy" "$out.txt" 1e-6 normalize >"$out.chk"
  check "$fixture: unit rows == vkvit_get_embeddings per file (1e-6)" test $? -eq 0
  python3 "$tmp/npy.py" text "$out.npy" "$out.txt" "$out.text.npy" "$out.labels.txt"
  "$bin" --model "$model" --fp32 --batch 3 --zero-shot "$out.text.npy" "$out.labels.txt" --top 4 \
    $(cat "$out.txt") >"$out.zs" 2>"$out.err"
  check "$fixture: --zero-shot exit 0" test $? -eq 0
  python3 "$tmp/npy.py" zero-shot "$out.zs" "$out.text.npy" "$out.labels.txt" "$out.npy" "$out.txt" 4
  check "$fixture: --zero-shot: own name first (similarity 1 within 1e-5), the top 4 as the cosines rank them" \
    test $? -eq 0
  while read -r f; do
    "$bin" --model "$model" --fp32 --query "$f" --top 5 "$out.npy" >"$out.q" 2>"$out.err"
    python3 "$tmp/npy.py" query "$out.q" "$f" "$out.npy" "$out.txt"
    check "$fixture: --query $(basename "$f"): itself first (similarity 1 within 1e-6), the folder as ranked" \
      test $? -eq 0
  done <"$out.txt"
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
