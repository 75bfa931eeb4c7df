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
