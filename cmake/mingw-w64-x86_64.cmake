# SPDX-License-Identifier: MIT
# Cross-compiling for 64-bit Windows with Debian's mingw-w64 (gcc-mingw-w64-x86-64):
#   cmake -S . -B build-windows -DCMAKE_TOOLCHAIN_FILE=cmake/mingw-w64-x86_64.cmake
# The programs run under wine (make windows).
set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR x86_64)
set(FA_MINGW_PREFIX x86_64-w64-mingw32)
set(CMAKE_C_COMPILER ${FA_MINGW_PREFIX}-gcc)
set(CMAKE_CXX_COMPILER ${FA_MINGW_PREFIX}-g++)
set(CMAKE_RC_COMPILER ${FA_MINGW_PREFIX}-windres)
set(CMAKE_FIND_ROOT_PATH /usr/${FA_MINGW_PREFIX})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
# Programs carry the C runtime's helpers (libgcc, winpthreads for the demo)
# inside them, so that they run without mingw's DLLs on the path.
set(CMAKE_EXE_LINKER_FLAGS_INIT "-static")
set(CMAKE_SHARED_LINKER_FLAGS_INIT "-static-libgcc")
# ctest runs the programs under wine (WINEPREFIX and WINEDEBUG come from the
# caller: make windows).
set(CMAKE_CROSSCOMPILING_EMULATOR wine)
