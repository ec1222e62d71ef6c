#!/usr/bin/env bash
# The Debian 13 stage: vkvit built and tested on Mesa 26's lavapipe, which has VK_KHR_cooperative_matrix,
# with Debian 13's glslang 15 (which compiles GL_KHR_cooperative_matrix). Everything happens in a Debian
# 13 root kept in a cache directory outside the checkout; the host's own packages and Vulkan drivers
# are never touched.
#
#   tools/debian13.sh                 create (or reuse) the root, build with --werror into build-deb13/,
#                                     run the whole suite with the validation layer, synchronization
#                                     validation, and the cooperative-matrix kernel forced on
#                                     (VKVIT_EXPECT_COOPMAT=khr: a test that does not get it fails)
#   tools/debian13.sh -- CMD ARGS...  run CMD in the root instead, from the checkout (e.g. a shell:
#                                     tools/debian13.sh -- bash)
#
# Environment: VKVIT_DEB13_ROOT (default /var/cache/vkvit/debian13; reused while its package list is
# unchanged), VKVIT_DEB13_MIRROR (default http://deb.debian.org/debian), MESON_TEST_ARGS (extra
# arguments for meson test, e.g. a test name). Needs root (debootstrap, chroot, mounts) and Debian's
# debootstrap, which it installs on the host if missing (the only host package it installs).
#
# The checkout is bind-mounted at /src/vkvit and ../shared beside it at /src/shared, in a private mount
# namespace (unshare), so nothing stays mounted when the script ends, however it ends.
set -euo pipefail
cd "$(dirname "$0")/.."
SRC=$PWD
SHARED=$(cd .. && pwd)/shared
ROOT=${VKVIT_DEB13_ROOT:-/var/cache/vkvit/debian13}
MIRROR=${VKVIT_DEB13_MIRROR:-http://deb.debian.org/debian}

if [ "$(id -u)" != 0 ]; then
  echo "tools/debian13.sh: needs root (debootstrap, chroot, bind mounts); run it with sudo" >&2
  exit 1
fi

# Mesa 26 (lavapipe with VK_KHR_cooperative_matrix) comes from trixie-backports; the rest from trixie.
BACKPORTS=(mesa-vulkan-drivers)
PACKAGES=(
  build-essential pkg-config meson ninja-build
  libvulkan-dev libvulkan-volk-dev glslang-tools spirv-tools vulkan-tools
  libstb-dev libjpeg62-turbo-dev libcjson-dev libzip-dev libvulkan1 vulkan-validationlayers
  libglfw3-dev zlib1g-dev dataset-fashion-mnist xvfb xauth
  python3-numpy python3-pytest python3-distributed python3-pil
)
STAMP="debian13 v1: backports ${BACKPORTS[*]}; ${PACKAGES[*]}"

in_root() {  # in_root CMD...: run CMD in the root with /proc, /dev, /sys and the sources mounted
  unshare --mount --propagation private bash -c '
    set -e
    R=$1; SRC=$2; SHARED=$3; shift 3
    mount --bind /proc "$R/proc"
    mount --rbind /dev "$R/dev"
    mount --bind /sys "$R/sys"
    mkdir -p "$R/src/vkvit" "$R/src/shared"
    mount --bind "$SRC" "$R/src/vkvit"
    if [ -d "$SHARED" ]; then mount --bind "$SHARED" "$R/src/shared"; fi
    cp /etc/resolv.conf "$R/etc/resolv.conf" 2>/dev/null || true
    exec chroot "$R" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
      DEBIAN_FRONTEND=noninteractive CI="${CI:-}" TERM="${TERM:-dumb}" MESON_TEST_ARGS="${MESON_TEST_ARGS:-}" \
      "$@"' in_root "$ROOT" "$SRC" "$SHARED" "$@"
}

make_root() {
  local tmp="$ROOT.tmp"
  command -v debootstrap >/dev/null || {
    echo "== debian13: installing debootstrap on the host"
    apt-get install -y -q --no-install-recommends debootstrap || { apt-get update -q && apt-get install -y -q --no-install-recommends debootstrap; }
  }
  rm -rf "$tmp"
  mkdir -p "$(dirname "$ROOT")"
  echo "== debian13: debootstrap trixie into $tmp"
  debootstrap --variant=minbase trixie "$tmp" "$MIRROR" > "$(dirname "$ROOT")/debootstrap.log" 2>&1 || {
    tail -20 "$(dirname "$ROOT")/debootstrap.log"; echo "FATAL: debootstrap failed"; return 1; }
  rm -f "$tmp/etc/apt/sources.list"
  cat > "$tmp/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $MIRROR
Suites: trixie trixie-updates trixie-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  echo "== debian13: installing Mesa 26 (trixie-backports) and the build dependencies"
  ROOT=$tmp in_root bash -c "apt-get update -q &&
    apt-get install -y -q --no-install-recommends -t trixie-backports ${BACKPORTS[*]} &&
    apt-get install -y -q --no-install-recommends ${PACKAGES[*]} && apt-get clean" \
    > "$(dirname "$ROOT")/debian13-apt.log" 2>&1 || {
    tail -30 "$(dirname "$ROOT")/debian13-apt.log"; echo "FATAL: installing into the Debian 13 root failed"; return 1; }
  echo "$STAMP" > "$tmp/.vkvit-stamp"
  rm -rf "$ROOT"
  mv "$tmp" "$ROOT"
}

if [ ! -f "$ROOT/.vkvit-stamp" ] || [ "$(cat "$ROOT/.vkvit-stamp")" != "$STAMP" ]; then
  make_root
else
  echo "== debian13: reusing $ROOT"
fi

if [ "${1:-}" = "--" ]; then
  shift
  in_root bash -c 'cd /src/vkvit && exec "$@"' cmd "$@"
  exit $?
fi

# Build and test. The build directory is inside the checkout (ignored by git), configured for the
# root's own toolchain; a directory configured elsewhere (another meson) is set up anew.
in_root bash -c '
  set -uo pipefail
  cd /src/vkvit
  echo "== debian13: $(. /etc/os-release; echo "$PRETTY_NAME"), Mesa $(dpkg-query -W -f="\${Version}" mesa-vulkan-drivers), $(glslangValidator --version | head -1)"
  if [ -f build-deb13/build.ninja ] && ! meson introspect build-deb13 --projectinfo >/dev/null 2>&1; then rm -rf build-deb13; fi
  # -Dcoopmat_khr=enabled: a glslang or header that cannot build the KHR kernel is an error here.
  opts="-Dbuildtype=release -Dwerror=true -Dcoopmat_khr=enabled"
  if [ -f build-deb13/build.ninja ]; then
    meson configure build-deb13 $opts > /tmp/setup.log 2>&1 || { cat /tmp/setup.log; exit 1; }
  else
    meson setup build-deb13 $opts > /tmp/setup.log 2>&1 || { cat /tmp/setup.log; exit 1; }
    grep -i "cooperative" /tmp/setup.log || true
  fi
  meson compile -C build-deb13 || exit 1
  export VKVIT_DEVICE=llvmpipe XDG_CACHE_HOME=/src/vkvit/build-deb13/cache
  export VKVIT_MATMUL=coopmat VKVIT_EXPECT_COOPMAT=khr
  # The encoder LayerNorms fused into the matmuls, as on GPUs (lavapipe alone would run them unfused).
  export VKVIT_LAYERNORM=fused
  # Synchronization validation on (test_sync proves the setting reaches the layer).
  export VK_LAYER_ENABLES=VK_VALIDATION_FEATURE_ENABLE_SYNCHRONIZATION_VALIDATION_EXT
  echo "== debian13: the device, its cooperative-matrix shapes and the one chosen"
  build-deb13/examples/vkvit-info || exit 1
  meson test -C build-deb13 --print-errorlogs $MESON_TEST_ARGS
'
