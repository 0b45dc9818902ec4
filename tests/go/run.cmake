# Run by the go_bindings test (see CMakeLists.txt beside this file):
#   cmake -DMAIN_BUILD_DIR=... -DPACKAGE_DIR=<source>/bindings/go
#         -DWORK_DIR=... -DCONFIG=... -DLIBDIR=... -DGO=... -P run.cmake
# Installs MAIN_BUILD_DIR into WORK_DIR/prefix, then in PACKAGE_DIR runs
# `go vet ./...`, `go test -count=1 -v ./...` and the same tests
# under the race detector, with pkg-config finding refstore.pc in the
# prefix. Go's caches and GOPATH stay under WORK_DIR (nothing relies on
# HOME), no module is downloaded (GOPROXY=off: the package uses only the
# standard library). Every step must succeed; the first failure ends the
# script with an error.
cmake_minimum_required(VERSION 3.25)

set(STEP_LABEL go_bindings)
include(${CMAKE_CURRENT_LIST_DIR}/../support/steps.cmake)
require_vars(MAIN_BUILD_DIR PACKAGE_DIR WORK_DIR LIBDIR GO)
if("${CONFIG}" STREQUAL "")
  set(CONFIG Release)
endif()

set(prefix ${WORK_DIR}/prefix)
file(REMOVE_RECURSE ${prefix})
file(MAKE_DIRECTORY ${WORK_DIR})

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

set(STEP_WORKING_DIRECTORY ${PACKAGE_DIR})
step("go vet" ${go} vet ./...)
step("go test" ${go} test -count=1 -v ./...)
step("go test -race" ${go} test -count=1 -race -v ./...)
