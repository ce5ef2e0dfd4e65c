# Installs the built library into a scratch prefix, then builds and runs two
# programs outside the tree against it: one with pkg-config only, one with
# find_package(framealloc), each also as C++17 over framealloc.hpp when
# CXX_COMPILER is given; then a third that builds framealloc as a
# subproject (add_subdirectory), which must build the library alone.
set(work ${BUILD_DIR}/install-test)
file(REMOVE_RECURSE ${work})
set(prefix ${work}/prefix)

function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed (${rc}): ${ARGN}\n${out}\n${err}")
  endif()
  set(last_output "${out}" PARENT_SCOPE)
endfunction()

run(${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${prefix})

# pkg-config
set(ENV{PKG_CONFIG_PATH} ${prefix}/lib/pkgconfig:${prefix}/lib64/pkgconfig)
foreach(dir lib lib64 lib/x86_64-linux-gnu)
  if(EXISTS ${prefix}/${dir}/pkgconfig/framealloc.pc)
    set(ENV{PKG_CONFIG_PATH} ${prefix}/${dir}/pkgconfig)
    set(libdir ${prefix}/${dir})
  endif()
endforeach()
run(pkg-config --cflags --libs framealloc)
string(STRIP "${last_output}" flags)
separate_arguments(flags UNIX_COMMAND "${flags}")
run(${C_COMPILER} -std=c11 -Wall -Wextra -Wpedantic -Werror ${SOURCE_DIR}/tests/install/consumer.c
    ${flags} -o ${work}/consumer-pkgconfig)
set(ENV{LD_LIBRARY_PATH} ${libdir})
run(${work}/consumer-pkgconfig)
if(CXX_COMPILER) # the C++ header, installed next to the C one
  run(${CXX_COMPILER} -std=c++17 -Wall -Wextra -Wpedantic -Werror ${SOURCE_DIR}/tests/install/consumer.cpp
      ${flags} -o ${work}/consumer-cxx-pkgconfig)
  run(${work}/consumer-cxx-pkgconfig)
endif()

# find_package
set(cxx_flag)
if(CXX_COMPILER)
  set(cxx_flag -DCMAKE_CXX_COMPILER=${CXX_COMPILER})
endif()
run(${CMAKE_COMMAND} -S ${SOURCE_DIR}/tests/install -B ${work}/cmake-build
    -DCMAKE_C_COMPILER=${C_COMPILER} ${cxx_flag} -DCMAKE_PREFIX_PATH=${prefix})
run(${CMAKE_COMMAND} --build ${work}/cmake-build)
run(${work}/cmake-build/consumer)
if(CXX_COMPILER)
  run(${work}/cmake-build/consumer_cxx)
endif()

# add_subdirectory
run(${CMAKE_COMMAND} -S ${SOURCE_DIR}/tests/install/subproject -B ${work}/sub-build
    -DCMAKE_C_COMPILER=${C_COMPILER} -DFRAMEALLOC_SOURCE=${SOURCE_DIR})
run(${CMAKE_COMMAND} --build ${work}/sub-build)
run(${work}/sub-build/consumer)
foreach(extra tests examples bench)
  if(EXISTS ${work}/sub-build/framealloc/${extra})
    message(FATAL_ERROR "a subproject build configured framealloc's ${extra}")
  endif()
endforeach()
file(REMOVE_RECURSE ${work})
