#!/bin/sh
# The installed libvkvit.a exports the public API only: every global symbol it defines is vkvit_*;
# then an application defining vkvit's internal names links it and runs (test_static_lib.c).
#   tests/test_static_lib.sh LIBVKVIT.a TEST_EXE
set -eu
lib=$1
exe=$2
leaks=$(nm -g --defined-only "$lib" | awk 'NF == 3 { print $3 }' | grep -v '^vkvit_' || true)
if [ -n "$leaks" ]; then
    echo "FAIL $lib exports non-API symbols:"
    echo "$leaks" | head -20
    exit 1
fi
echo "PASS $lib exports $(nm -g --defined-only "$lib" | awk 'NF == 3' | wc -l) symbols, all vkvit_*"
exec "$exe"
