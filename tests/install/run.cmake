# SPDX-License-Identifier: MIT
# The install contract (DESIGN.md §3): installs the built library into a
# scratch prefix, moves the prefix (the package must be relocatable), then
# builds and runs programs outside the tree against it, each with nothing
# but libc, pthreads and a compiler: with pkg-config (shared, and a static
# program from `pkg-config --static`), with find_package(framealloc), and
# by hand (-I -L -lframealloc -lpthread); the C++17 consumer of
# framealloc.hpp too when CXX_COMPILER is given. libnuma must be on no link
# line and needed by no binary. Last, a project that builds framealloc as a
# subproject (add_subdirectory), which must build the library alone.
set(work ${BUILD_DIR}/install-test)
file(REMOVE_RECURSE ${work})
set(staging ${work}/staging)
set(prefix ${work}/prefix)
unset(ENV{LD_LIBRARY_PATH})
unset(ENV{PKG_CONFIG_PATH})

function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed (${rc}): ${ARGN}\n${out}\n${err}")
  endif()
  set(last_output "${out}" PARENT_SCOPE)
endfunction()

# Fails when `text` (what `what` is) names libnuma.
function(no_numa what text)
  if(text MATCHES "numa")
    message(FATAL_ERROR "${what} names libnuma:\n${text}")
  endif()
endfunction()

find_program(readelf NAMES readelf)
find_program(ldd NAMES ldd)
if(NOT readelf OR NOT ldd)
  message(FATAL_ERROR "needs readelf (binutils) and ldd (libc-bin)")
endif()
# Fails unless the ELF file `binary` needs no library beyond libc, pthreads
# and framealloc, and `ldd` finds all of them.
function(needs_only_libc binary)
  run(${readelf} -d ${binary})
  string(REGEX MATCHALL "\\(NEEDED\\)[^\n]*" needed "${last_output}")
  foreach(entry ${needed})
    if(NOT entry MATCHES "\\[(libc|libpthread|libframealloc)\\.so\\.[0-9]+\\]$")
      message(FATAL_ERROR "${binary} needs more than libc and pthreads: ${entry}")
    endif()
  endforeach()
  run(${CMAKE_COMMAND} -E env LD_LIBRARY_PATH=${libdir} ${ldd} ${binary})
  no_numa("ldd ${binary}" "${last_output}")
  if(last_output MATCHES "not found")
    message(FATAL_ERROR "ldd ${binary}: a library is missing\n${last_output}")
  endif()
endfunction()

# ---- install, check the tree, move it ----
run(${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${staging})
file(GLOB_RECURSE package_files ${staging}/*.pc ${staging}/*.cmake)
foreach(file ${package_files})
  file(READ ${file} text)
  no_numa(${file} "${text}")
  string(FIND "${text}" "${staging}" at)
  if(NOT at EQUAL -1)
    message(FATAL_ERROR "${file} holds the absolute install path, so the package cannot move")
  endif()
endforeach()
file(RENAME ${staging} ${prefix})
foreach(dir lib lib64 lib/x86_64-linux-gnu)
  if(EXISTS ${prefix}/${dir}/pkgconfig/framealloc.pc)
    set(libdir ${prefix}/${dir})
  endif()
endforeach()
if(NOT libdir)
  message(FATAL_ERROR "no framealloc.pc under ${prefix}")
endif()
foreach(file include/framealloc.h include/framealloc.hpp include/framealloc_tracy.h bin/fa-report
    share/doc/framealloc/LICENSE share/doc/framealloc/README.md share/doc/framealloc/getting-started.md)
  if(NOT EXISTS ${prefix}/${file})
    message(FATAL_ERROR "not installed: ${file}")
  endif()
endforeach()
file(STRINGS ${libdir}/pkgconfig/framealloc.pc licence REGEX "^License: MIT$")
if(NOT licence)
  message(FATAL_ERROR "framealloc.pc carries no 'License: MIT'")
endif()
file(GLOB shared_library ${libdir}/libframealloc.so.*.*)
needs_only_libc(${shared_library})

set(strict -Wall -Wextra -Wpedantic -Werror)
set(consumer_c ${SOURCE_DIR}/tests/install/consumer.c)

# ---- pkg-config: shared, then a static program ----
set(ENV{PKG_CONFIG_PATH} ${libdir}/pkgconfig)
run(pkg-config --cflags --libs framealloc)
no_numa("pkg-config --libs" "${last_output}")
separate_arguments(flags UNIX_COMMAND "${last_output}")
run(${C_COMPILER} -std=c11 ${strict} ${consumer_c} ${flags} -o ${work}/consumer-pkgconfig)
needs_only_libc(${work}/consumer-pkgconfig)
run(${CMAKE_COMMAND} -E env LD_LIBRARY_PATH=${libdir} ${work}/consumer-pkgconfig)
if(CXX_COMPILER) # the C++ header, installed next to the C one
  run(${CXX_COMPILER} -std=c++17 ${strict} ${SOURCE_DIR}/tests/install/consumer.cpp
      ${flags} -o ${work}/consumer-cxx-pkgconfig)
  run(${CMAKE_COMMAND} -E env LD_LIBRARY_PATH=${libdir} ${work}/consumer-cxx-pkgconfig)
endif()
# Every library a static link needs is in the .pc file: the program links
# with -static and runs on its own.
run(pkg-config --static --cflags --libs framealloc)
no_numa("pkg-config --static --libs" "${last_output}")
separate_arguments(flags UNIX_COMMAND "${last_output}")
run(${C_COMPILER} -std=c11 ${strict} -static ${consumer_c} ${flags} -o ${work}/consumer-static)
run(${work}/consumer-static)

# ---- by hand: only the include and library directories, and pthreads ----
# With an rpath, the program runs without LD_LIBRARY_PATH (README, Installing).
run(${C_COMPILER} -std=c11 ${strict} ${consumer_c} -I${prefix}/include -L${libdir} -lframealloc -lpthread
    -Wl,-rpath,${libdir} -o ${work}/consumer-by-hand)
needs_only_libc(${work}/consumer-by-hand)
run(${work}/consumer-by-hand)

# ---- find_package ----
set(cxx_flag)
if(CXX_COMPILER)
  set(cxx_flag -DCMAKE_CXX_COMPILER=${CXX_COMPILER})
endif()
run(${CMAKE_COMMAND} -S ${SOURCE_DIR}/tests/install -B ${work}/cmake-build -G "Unix Makefiles"
    -DCMAKE_C_COMPILER=${C_COMPILER} ${cxx_flag} -DCMAKE_PREFIX_PATH=${prefix})
run(${CMAKE_COMMAND} --build ${work}/cmake-build)
file(GLOB link_lines ${work}/cmake-build/CMakeFiles/*/link.txt)
if(NOT link_lines)
  message(FATAL_ERROR "no link line found under ${work}/cmake-build")
endif()
foreach(file ${link_lines})
  file(READ ${file} text)
  no_numa(${file} "${text}")
endforeach()
needs_only_libc(${work}/cmake-build/consumer)
run(${work}/cmake-build/consumer) # CMake's build rpath finds the library
if(CXX_COMPILER)
  run(${work}/cmake-build/consumer_cxx)
endif()

# ---- add_subdirectory ----
run(${CMAKE_COMMAND} -S ${SOURCE_DIR}/tests/install/subproject -B ${work}/sub-build
    -DCMAKE_C_COMPILER=${C_COMPILER} -DFRAMEALLOC_SOURCE=${SOURCE_DIR})
run(${CMAKE_COMMAND} --build ${work}/sub-build --target consumer)
run(${work}/sub-build/consumer)
foreach(extra tests examples bench)
  if(EXISTS ${work}/sub-build/framealloc/${extra})
    message(FATAL_ERROR "a subproject build configured framealloc's ${extra}")
  endif()
endforeach()
file(REMOVE_RECURSE ${work})
