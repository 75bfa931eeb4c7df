#!/usr/bin/env bash
# Build the native core for Android (arm64-v8a, x86_64) with the NDK's CMake toolchain file.
#
#   ANDROID_NDK_HOME=/path/to/ndk [EXECUTORCH_ANDROID_DIR=/path/to/et-android] ./build_android.sh [OUT_DIR]
#
# EXECUTORCH_ANDROID_DIR is an install prefix of ExecuTorch's own Android build; a directory with one
# sub-prefix per ABI (EXECUTORCH_ANDROID_DIR/<abi>) is used per ABI when present. Without it the libraries
# are built without the ExecuTorch engine (the processor, i.e. the pre/post core for TFLite, still works).
# Outputs: OUT_DIR/<abi>/libmobilesdk_pose_jni.so and mobilesdk-runner, linked with 16 KB page alignment.
#
# NOT TESTED in this repository's CI: the machine has no NDK. The same CMakeLists.txt is used as on the host.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="${1:-$here/build-android}"
abis=(arm64-v8a x86_64)
api="${ANDROID_PLATFORM:-android-24}"

if [ -z "${ANDROID_NDK_HOME:-}" ] || [ ! -f "${ANDROID_NDK_HOME}/build/cmake/android.toolchain.cmake" ]; then
  echo "build_android.sh: ANDROID_NDK_HOME is not set to an NDK (no build/cmake/android.toolchain.cmake):" \
       "NOT built: ${abis[*]} (libmobilesdk_pose_jni.so, mobilesdk-runner)" >&2
  exit 2
fi

# Header-only dependencies from the host, copied so that no other host header reaches the Android compile.
deps="$out/deps/include"
mkdir -p "$deps"
json_h="$(find /usr/include /usr/local/include -path '*nlohmann/json.hpp' -print -quit 2>/dev/null || true)"
stb_h="$(find /usr/include /usr/local/include -name stb_image.h -print -quit 2>/dev/null || true)"
[ -n "$json_h" ] || { echo "build_android.sh: nlohmann/json.hpp not found (apt-get install nlohmann-json3-dev)" >&2; exit 2; }
[ -n "$stb_h" ] || { echo "build_android.sh: stb_image.h not found (apt-get install libstb-dev)" >&2; exit 2; }
rm -rf "$deps/nlohmann" && cp -r "$(dirname "$json_h")" "$deps/nlohmann"
cp "$stb_h" "$deps/stb_image.h"

for abi in "${abis[@]}"; do
  et=""
  if [ -n "${EXECUTORCH_ANDROID_DIR:-}" ]; then
    et="$EXECUTORCH_ANDROID_DIR"
    [ -d "$EXECUTORCH_ANDROID_DIR/$abi" ] && et="$EXECUTORCH_ANDROID_DIR/$abi"
  fi
  cmake -S "$here" -B "$out/$abi" -G Ninja \
    -DCMAKE_TOOLCHAIN_FILE="$ANDROID_NDK_HOME/build/cmake/android.toolchain.cmake" \
    -DANDROID_ABI="$abi" -DANDROID_PLATFORM="$api" -DANDROID_STL=c++_static \
    -DCMAKE_BUILD_TYPE=Release -DMSDK_BUILD_TESTS=OFF \
    -DMSDK_JSON_INCLUDE_DIR="$deps" -DMSDK_STB_INCLUDE_DIR="$deps" \
    -DEXECUTORCH_ANDROID_DIR="$et"
  cmake --build "$out/$abi" --parallel
  if [ -z "$et" ]; then
    echo "build_android.sh: $abi built WITHOUT the ExecuTorch engine (EXECUTORCH_ANDROID_DIR not set)" >&2
  fi
done
echo "build_android.sh: built ${abis[*]} into $out"
