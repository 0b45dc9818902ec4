# Run by the consumer_find_package test (see CMakeLists.txt beside this file):
#   cmake -DMAIN_BUILD_DIR=... -DPROJECT_SOURCE=... -DWORK_DIR=... -DCONFIG=...
#         -DGENERATOR=... -DMAKE_PROGRAM=... -DCXX_COMPILER=... -DLIBDIR=...
#         [-DSTATIC_FROM_SOURCE=<refstore source dir>] -P run.cmake
# With STATIC_FROM_SOURCE, the library is first built from that source as
# a static library (BUILD_SHARED_LIBS=OFF, no tests, tools or benchmarks)
# and that build is installed instead of MAIN_BUILD_DIR.
# Every step must succeed; the first failure ends the script with an error.
cmake_minimum_required(VERSION 3.25)

set(STEP_LABEL consumer)
include(${CMAKE_CURRENT_LIST_DIR}/../support/steps.cmake)
require_vars(MAIN_BUILD_DIR PROJECT_SOURCE WORK_DIR GENERATOR LIBDIR)
if("${CONFIG}" STREQUAL "")
  set(CONFIG Release)
endif()

set(prefix ${WORK_DIR}/prefix)
set(build ${WORK_DIR}/build)
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})

set(installed ${MAIN_BUILD_DIR})
if(STATIC_FROM_SOURCE)
  set(installed ${WORK_DIR}/static-build)
  set(static_args -S ${STATIC_FROM_SOURCE} -B ${installed} -G ${GENERATOR}
    -DCMAKE_BUILD_TYPE=${CONFIG} -DBUILD_SHARED_LIBS=OFF -DREFSTORE_BUILD_TESTS=OFF
    -DREFSTORE_BUILD_TOOLS=OFF -DREFSTORE_BUILD_BENCH=OFF)
  if(MAKE_PROGRAM)
    list(APPEND static_args -DCMAKE_MAKE_PROGRAM=${MAKE_PROGRAM})
  endif()
  if(CXX_COMPILER)
    list(APPEND static_args -DCMAKE_CXX_COMPILER=${CXX_COMPILER})
  endif()
  step("configure a static refstore" ${CMAKE_COMMAND} ${static_args})
  step("build the static refstore" ${CMAKE_COMMAND} --build ${installed} --config ${CONFIG})
endif()
step("install ${installed} into ${prefix}"
  ${CMAKE_COMMAND} --install ${installed} --prefix ${prefix} --config ${CONFIG})

set(configure_args -S ${PROJECT_SOURCE} -B ${build} -G ${GENERATOR}
  -DCMAKE_PREFIX_PATH=${prefix} -DCMAKE_BUILD_TYPE=${CONFIG})
if(MAKE_PROGRAM)
  list(APPEND configure_args -DCMAKE_MAKE_PROGRAM=${MAKE_PROGRAM})
endif()
if(CXX_COMPILER)
  list(APPEND configure_args -DCMAKE_CXX_COMPILER=${CXX_COMPILER})
endif()
step("configure ${PROJECT_SOURCE}" ${CMAKE_COMMAND} ${configure_args})
step("build" ${CMAKE_COMMAND} --build ${build} --config ${CONFIG})

find_program(consumer NAMES consumer PATHS ${build} ${build}/${CONFIG} NO_DEFAULT_PATH REQUIRED)
step("run ${consumer}"
  ${CMAKE_COMMAND} -E env "LD_LIBRARY_PATH=${prefix}/${LIBDIR}:$ENV{LD_LIBRARY_PATH}" ${consumer})
