#!/bin/sh
# The installed libvkvit.a: every object of the build's internal static library (vkvit's own and
# volk's) linked into one relocatable object whose hidden symbols are then made local, so that an
# application linking it sees only the public vkvit_* API. Its own `fail`, `plan_create`, `volkInitialize`
# or `vkCreateInstance` cannot clash with vkvit's (tests/test_static_lib.sh).
#   tools/localize_static.sh INTERNAL.a OUTPUT.a
set -eu
in=$1
out=$2
obj="$out.vkvit.o"
rm -f "$out" "$obj"
${LD:-ld} -r --whole-archive "$in" -o "$obj"
${OBJCOPY:-objcopy} --localize-hidden "$obj"
${AR:-ar} rcs "$out" "$obj"
rm -f "$obj"
