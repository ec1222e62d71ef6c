#!/bin/sh
# examples/embed_demo end to end on the Vulkan device (lavapipe in CI), with the Khronos validation
# layer on the demo's own instance (VKVIT_VALIDATION=1: any message fails the run), which also sees
# every call vkvit makes on the adopted device:
#   (a) headless: 8 frames of ../shared/images/coffee.png, DeiT-Tiny recorded into frames 0, 2, 4 and 6;
#   (b) the same in a window under xvfb-run (swapchain, presentation).
# Each run must print four classifications, all "espresso", and its last frame (--png) must be
# 640x480, show the label the demo says it drew ("espresso ...", checked pixel for pixel by
# check_embed_png) and a picture around it. ../shared is part of the CI checkout: without it, or
# without the demo (no GLFW) or xvfb-run, this test FAILS, never skips.
#
#   test_embed_demo.sh DEMO CHECKER SOURCE_ROOT
set -u
demo=$1 checker=$2 root=$3
model="$root/../shared/models/deit-tiny-imagenet"
photo="$root/../shared/images/coffee.png"
expect=espresso

fail() { echo "FAIL: $*"; exit 1; }
[ -x "$demo" ] || fail "$demo is missing (built only when libglfw3-dev is installed)"
[ -x "$checker" ] || fail "$checker is missing"
[ -d "$model" ] || fail "$model is missing (../shared/models/deit-tiny-imagenet)"
[ -f "$photo" ] || fail "$photo is missing"
command -v xvfb-run >/dev/null 2>&1 || fail "xvfb-run is missing (Debian: apt-get install xvfb xauth)"

# Under AddressSanitizer (CI's second run): lavapipe (Mesa 22.3) leaks 112 bytes once it has drawn or
# blitted anything (so does a bare program with one vkCmdBlitImage; compute and copies do not), and
# LeakSanitizer counts them when the loader unloads the driver at vkDestroyInstance. Preloaded after the
# ASan runtime, the driver stays loaded and those bytes reachable; the demo's and vkvit's own leaks are
# still reported.
preload=
asan=$(ldd "$demo" | sed -n 's/^[[:space:]]*libasan[^ ]* => \([^ ]*\) .*/\1/p')
if [ -n "$asan" ]; then
  for icd in /usr/share/vulkan/icd.d/lvp_icd.*.json; do
    lvp=$(sed -n 's/.*"library_path": *"\([^"]*\)".*/\1/p' "$icd")
  done
  [ -n "${lvp:-}" ] || fail "ASan build, but no lavapipe ICD to keep loaded"
  preload="LD_PRELOAD=$asan $lvp"
fi

tmp=$(mktemp -d) || fail "mktemp"
trap 'rm -rf "$tmp"' EXIT
export VKVIT_VALIDATION=1

# check NAME: NAME.out and NAME.png of a run.
check() {
  out="$tmp/$1.out"
  results=$(grep "^frame [0-9]* coffee.png: " "$out")
  [ "$(echo "$results" | grep -c .)" -eq 4 ] || fail "$1: expected 4 classifications (frames 0, 2, 4, 6)"
  [ "$(echo "$results" | grep -c ": $expect (")" -eq 4 ] || fail "$1: every classification should be $expect"
  geometry=$(sed -n 's/^label at \([0-9]*\) \([0-9]*\) \([0-9]*\) \([0-9]*\) scale \([0-9]*\)$/\1 \2 \3 \4 \5/p' "$out")
  title=$(sed -n 's/^label title: //p' "$out")
  detail=$(sed -n 's/^label detail: //p' "$out")
  [ -n "$geometry" ] || fail "$1: no \"label at\" line"
  case "$title" in
    "$expect "*) ;;
    *) fail "$1: the last frame's label is \"$title\", expected $expect" ;;
  esac
  # shellcheck disable=SC2086
  "$checker" "$tmp/$1.png" 640 480 $geometry "$title" "$detail" || fail "$1: the last frame ($1.png)"
}

# run NAME [LAUNCHER...] -- [OPTION...]: the demo on the photo, 8 frames, vkvit in every 2nd.
run() {
  name=$1
  shift
  launcher=
  while [ "$1" != -- ]; do launcher="$launcher $1"; shift; done
  shift
  echo "== $name"
  # shellcheck disable=SC2086
  $launcher env ${preload:+"$preload"} "$demo" "$@" --frames 8 --every 2 --model "$model" --images "$photo" \
    --png "$tmp/$name.png" >"$tmp/$name.out" 2>&1 || { cat "$tmp/$name.out"; fail "the $name run"; }
  cat "$tmp/$name.out"
  check "$name"
}

run headless -- --headless
run window xvfb-run -a --
echo "embed_demo: the headless and the windowed run passed"
