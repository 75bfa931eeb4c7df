# CMake toolchain file: arm64 Linux (glibc) with Debian's cross compiler (apt-get install g++-aarch64-linux-gnu),
# for the NDK-free arm64 runner bundle (mobilesdk runner build --target arm64; see README.md).
#
#   cmake -S android_template/native -B build-arm64 -DCMAKE_TOOLCHAIN_FILE=android_template/native/cmake/aarch64-linux-gnu.cmake ...
#
# Searches for headers, libraries and packages are re-rooted into the cross sysroot, so host-only header
# libraries (nlohmann-json, stb) must be given explicitly (MSDK_JSON_INCLUDE_DIR, MSDK_STB_INCLUDE_DIR: a directory
# holding only those headers, never /usr/include, whose glibc headers are the host's), and ExecuTorch as
# MSDK_EXECUTORCH_DIR (the aarch64 wheel's executorch/ directory; found there with NO_CMAKE_FIND_ROOT_PATH).
# MSDK_CROSS_PREFIX overrides the tool prefix (default aarch64-linux-gnu-), e.g. a path to another toolchain.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)

if(NOT DEFINED MSDK_CROSS_PREFIX)
  set(MSDK_CROSS_PREFIX "aarch64-linux-gnu-")
endif()
if(NOT CMAKE_CXX_COMPILER)
  set(CMAKE_CXX_COMPILER "${MSDK_CROSS_PREFIX}g++")
endif()
if(NOT CMAKE_C_COMPILER)
  set(CMAKE_C_COMPILER "${MSDK_CROSS_PREFIX}gcc")
endif()

set(CMAKE_FIND_ROOT_PATH /usr/aarch64-linux-gnu)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
# Debian's aarch64 linker aligns LOAD segments to 64 KB by default (max-page-size=65536): loadable on 4, 16 and
# 64 KB page kernels, so nothing is forced here; the bundle check verifies 16 KB alignment of every ELF.
