# Run by the go_bindings test (see CMakeLists.txt beside this file):
#   cmake -DMAIN_BUILD_DIR=... -DPACKAGE_DIR=<source>/bindings/go
#         -DWORK_DIR=... -DCONFIG=... -DLIBDIR=... -DGO=... -P run.cmake
# Installs MAIN_BUILD_DIR into WORK_DIR/prefix, then in PACKAGE_DIR runs
# `go vet ./...`, `go test -count=1 -v ./...` and the concurrency tests
# under the race detector, with pkg-config finding refstore.pc in the
# prefix. Go's caches and GOPATH stay under WORK_DIR (nothing relies on
# HOME), no module is downloaded (GOPROXY=off: the package uses only the
# standard library). Every step must succeed; the first failure ends the
# script with an error.
cmake_minimum_required(VERSION 3.25)

foreach(var MAIN_BUILD_DIR PACKAGE_DIR WORK_DIR LIBDIR GO)
  if(NOT DEFINED ${var} OR "${${var}}" STREQUAL "")
    message(FATAL_ERROR "run.cmake: ${var} is not set")
  endif()
endforeach()
if("${CONFIG}" STREQUAL "")
  set(CONFIG Release)
endif()

set(prefix ${WORK_DIR}/prefix)
file(REMOVE_RECURSE ${prefix})
file(MAKE_DIRECTORY ${WORK_DIR})

function(step what)
  message(STATUS "go_bindings: ${what}")
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "go_bindings: ${what} failed (${rc})")
  endif()
endfunction()

step("install ${MAIN_BUILD_DIR} into ${prefix}"
  ${CMAKE_COMMAND} --install ${MAIN_BUILD_DIR} --prefix ${prefix} --config ${CONFIG})

set(pc ${prefix}/${LIBDIR}/pkgconfig/refstore.pc)
if(NOT EXISTS ${pc})
  message(FATAL_ERROR "go_bindings: the install made no ${pc}")
endif()

# Go's build cache does not see changes of C headers outside the package
# (golang/go#24355): c.h's hash in CGO_CFLAGS makes a changed c.h rebuild
# the package instead of reusing objects compiled against the old one.
file(SHA256 ${prefix}/include/refstore/c.h c_h_sha256)

set(go_env
  "PKG_CONFIG_PATH=${prefix}/${LIBDIR}/pkgconfig"
  "LD_LIBRARY_PATH=${prefix}/${LIBDIR}:$ENV{LD_LIBRARY_PATH}"
  "CGO_ENABLED=1"
  "CGO_CFLAGS=-O2 -g -DREFSTORE_C_H_SHA256=${c_h_sha256}"
  "GOCACHE=${WORK_DIR}/gocache"
  "GOPATH=${WORK_DIR}/gopath"
  "GOENV=off"
  "GOFLAGS="
  "GOPROXY=off"
  "GO111MODULE=on"
  "GOTOOLCHAIN=local"
  "TMPDIR=${WORK_DIR}")
set(go ${CMAKE_COMMAND} -E env ${go_env} ${GO})

execute_process(COMMAND ${go} version)
step("pkg-config refstore" ${CMAKE_COMMAND} -E env ${go_env} pkg-config --cflags --libs refstore)

function(go_step what)
  message(STATUS "go_bindings: ${what}")
  execute_process(COMMAND ${go} ${ARGN} WORKING_DIRECTORY ${PACKAGE_DIR} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "go_bindings: ${what} failed (${rc})")
  endif()
endfunction()

go_step("go vet" vet ./...)
go_step("go test" test -count=1 -v ./...)
go_step("go test -race" test -count=1 -race -v ./...)
