#!/usr/bin/env bash
# Installs vkvit's Debian 12 dependencies (idempotent) and builds it into ./build.
# Usage: tools/setup.sh [extra meson options...]
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=
if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi

PACKAGES=(
  build-essential pkg-config meson ninja-build   # toolchain
  libvulkan-dev libvulkan-volk-dev glslang-tools  # Vulkan headers, volk, GLSL -> SPIR-V
  libstb-dev libcjson-dev                         # images, JSON (safetensors headers, config.json)
  libjpeg62-turbo-dev                             # JPEG files: libjpeg-turbo, Pillow's decoder
  libzip-dev                                      # Google's .npz checkpoints (zip archives)
  libvulkan1 mesa-vulkan-drivers vulkan-validationlayers  # loader, lavapipe, Khronos validation
  libglfw3-dev                                    # the viewer's window
  zlib1g-dev dataset-fashion-mnist xvfb xauth     # tests: Fashion-MNIST accuracy, windowed viewer
  python3-numpy python3-pytest python3-distributed python3-pil  # the Python package and its tests
)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${PACKAGES[@]}"
fi

if [ ! -f build/build.ninja ]; then
  meson setup build -Dbuildtype=release "$@"
fi
meson compile -C build
