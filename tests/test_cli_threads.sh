#!/usr/bin/env bash
# The decode threads of vkvit-embed and vkvit-classify (examples/cli_decode.c) change nothing but the speed:
# --threads 1 and --threads 4 give byte-identical .npy files, index and stderr (vkvit-embed, DeiT-Tiny on the
# ../shared photos with a corrupt file among them, batch 3 so that batches straddle the threads' work) and
# identical results and messages (vkvit-classify, the bundled model and images, JSON without the timings).
# Usage: test_cli_threads.sh VKVIT_EMBED VKVIT_CLASSIFY SOURCE_ROOT
set -u
embed=$1 classify=$2 root=$3
model="$root/../shared/models/deit-tiny-imagenet" photos="$root/../shared/images"
passed=0 failed=0
check() { # check "description" command...
  if "${@:2}"; then echo "ok   $1"; passed=$((passed + 1)); else echo "FAIL $1"; failed=$((failed + 1)); fi
}
tmp=$(mktemp -d) && trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/in"
cp "$photos"/*.png "$photos"/*.jpg "$tmp/in/"
printf 'not a picture\n' >"$tmp/in/broken.jpg"

for t in 1 4; do
  "$embed" --model "$model" --fp32 --batch 3 --threads $t --patch-tokens "$tmp/tok$t.npy" -o "$tmp/e$t.npy" \
           "$tmp/in" 2>"$tmp/e$t.err"
  echo $? >"$tmp/e$t.rc"
  "$classify" --json --top 3 --batch 5 --threads $t "$root"/examples/images "$tmp/in/broken.jpg" >"$tmp/c$t.json" \
              2>"$tmp/c$t.err"
  echo $? >"$tmp/c$t.rc"
done
cat "$tmp/e4.err" "$tmp/c4.err"
check "vkvit-embed skips the broken file (exit 3)" test "$(cat "$tmp/e4.rc")" -eq 3
check "vkvit-embed: the same exit status" cmp -s "$tmp/e1.rc" "$tmp/e4.rc"
check "vkvit-embed: the embeddings' .npy byte-identical" cmp "$tmp/e1.npy" "$tmp/e4.npy"
check "vkvit-embed: the tokens' .npy byte-identical" cmp "$tmp/tok1.npy" "$tmp/tok4.npy"
check "vkvit-embed: the index identical" cmp "$tmp/e1.txt" "$tmp/e4.txt"
check "vkvit-embed: the index names every photo once" test "$(wc -l <"$tmp/e4.txt")" -eq "$(ls "$photos"/*.png \
  "$photos"/*.jpg | wc -l)"
unname() { sed "s/$1\.npy/.npy/g; s/$1\.txt/.txt/g" "$tmp/e$1.err"; } # the output files' names differ
check "vkvit-embed: stderr identical (but the output's name)" cmp <(unname 1) <(unname 4)
check "vkvit-classify names the broken file (exit 1)" test "$(cat "$tmp/c4.rc")" -eq 1
check "vkvit-classify: stderr identical" cmp "$tmp/c1.err" "$tmp/c4.err"
check "vkvit-classify: results identical" python3 -c "
import json, sys
a, b = (json.load(open(f'$tmp/c{t}.json')) for t in (1, 4))
assert a['results'] == b['results'] and len(a['results']) == $(ls "$root"/examples/images/*.png | wc -l), a
assert a['images'] == b['images'] and a['failed'] == b['failed'] == 1"
"$embed" --threads 0 -o "$tmp/x.npy" "$tmp/in" 2>/dev/null; check "--threads 0: usage error (2)" test $? -eq 2
"$classify" --threads x "$tmp/in" >/dev/null 2>&1; check "vkvit-classify --threads x: usage error (2)" test $? -eq 2
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
