#!/usr/bin/env bash
# One command sets up everything mobilesdk needs on a fresh machine (Debian 12 with Python 3.11, a JDK 17,
# Maven, CMake, g++): the system packages the native core and its tests use, a virtualenv in .venv with the
# pinned Python stack (constraints.txt) and mobilesdk in editable mode, and the Maven downloads of the Kotlin
# toolchain and the Android/TFLite jars (into ~/.m2, so later Maven runs work offline).
# Re-running is cheap: each step skips what is already there.
set -euo pipefail
cd "$(dirname "$0")"

# 1. System packages (Debian): the C++ core's JSON parser and image decoder, GoogleTest, clang for the
#    libFuzzer target and its sanitizer runtime, CMake + Ninja; for the phone's side: the aarch64 cross
#    toolchain and its glibc/libstdc++ (the arm64 runner bundle), patchelf (bundle RUNPATHs), qemu-user (runs
#    the bundle here) and the platform tool adb (the real client the tests drive an emulated phone with).
APT_PACKAGES=(cmake ninja-build g++ libgtest-dev nlohmann-json3-dev libstb-dev clang libclang-rt-14-dev clang-format
  g++-aarch64-linux-gnu libc6-arm64-cross libc6-dev-arm64-cross libstdc++6-arm64-cross patchelf qemu-user adb)
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "install.sh: missing Debian packages: ${missing[*]} (run as root, or: sudo apt-get install ${missing[*]})" >&2
    exit 1
  fi
fi

# 1b. qemu's TCG plugin header (`mobilesdk bench --emulate arm64` compiles its instruction-counting plugin
#    against it): Debian ships no -dev package for it, so fetch the qemu source package matching the installed
#    qemu-user once (a deb-src entry of its own) and keep only include/qemu/qemu-plugin.h and the licence.
QEMU_SRC_VERSION="$(dpkg-query -W -f='${source:Version}' qemu-user 2>/dev/null || true)"
QEMU_UPSTREAM="${QEMU_SRC_VERSION#*:}"; QEMU_UPSTREAM="${QEMU_UPSTREAM%%+*}"; QEMU_UPSTREAM="${QEMU_UPSTREAM%%-*}"
QEMU_HEADER_DIR="/usr/local/share/mobilesdk/qemu-plugin/${QEMU_UPSTREAM}"
if [ -n "$QEMU_UPSTREAM" ] && [ ! -f "$QEMU_HEADER_DIR/qemu-plugin.h" ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "install.sh: qemu's plugin header is missing (run as root to fetch it into $QEMU_HEADER_DIR)" >&2
    exit 1
  fi
  SRC_LIST=/etc/apt/sources.list.d/mobilesdk-deb-src.sources
  if ! apt-cache showsrc qemu >/dev/null 2>&1 || ! apt-cache showsrc qemu | grep -q '^Package: qemu$'; then
    printf '%s\n' 'Types: deb-src' 'URIs: http://deb.debian.org/debian' 'Suites: bookworm bookworm-updates' \
      'Components: main' 'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg' '' \
      'Types: deb-src' 'URIs: http://deb.debian.org/debian-security' 'Suites: bookworm-security' 'Components: main' \
      'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg' >"$SRC_LIST"
    apt-get update -qq
  fi
  QEMU_SRC_CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/mobilesdk/qemu-source"
  mkdir -p "$QEMU_SRC_CACHE"
  # The exact Debian revision first; any 7.2 revision carries the same plugin API (its header is upstream's).
  (cd "$QEMU_SRC_CACHE" && { apt-get source -qq --download-only "qemu=$QEMU_SRC_VERSION" 2>/dev/null ||
    apt-get source -qq --download-only qemu; })
  ORIG="$(ls "$QEMU_SRC_CACHE"/qemu_"$QEMU_UPSTREAM"*.orig.tar.* | head -n 1)"
  TMP_HDR="$(mktemp -d)"
  tar -xf "$ORIG" -C "$TMP_HDR" --wildcards --strip-components=1 '*/include/qemu/qemu-plugin.h' '*/COPYING'
  mkdir -p "$QEMU_HEADER_DIR"
  cp "$TMP_HDR/COPYING" "$QEMU_HEADER_DIR/COPYING"
  cp "$TMP_HDR/include/qemu/qemu-plugin.h" "$QEMU_HEADER_DIR/qemu-plugin.h.tmp"
  mv "$QEMU_HEADER_DIR/qemu-plugin.h.tmp" "$QEMU_HEADER_DIR/qemu-plugin.h"
  rm -rf "$TMP_HDR" "$QEMU_SRC_CACHE"
fi

# 2. Python: .venv with the pinned stack.
PYTHON="${PYTHON:-python3.11}"
command -v "$PYTHON" >/dev/null || PYTHON=python3
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
# torch from PyPI is the CUDA build (several GB); pip's cache (~/.cache/pip) makes reinstalls fast.
.venv/bin/python -m pip install --quiet -c constraints.txt -e ".[dev]"

# 3. Maven: the Kotlin compiler, kotlin-stdlib, Robolectric's Android framework jars, the TFLite API and JUnit,
#    resolved once so that builds and tests run with `mvn -o` afterwards.
if [ -x android_template/maven-offline.sh ]; then
  android_template/maven-offline.sh
fi

.venv/bin/mobilesdk --version
