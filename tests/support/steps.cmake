# steps.cmake: what the `cmake -P` scripts of tests share (tests/consumer/run.cmake,
# tests/go/run.cmake). Set STEP_LABEL (the name in messages) before including it.
#   require_vars(VAR...)  fails naming the first variable that is unset or empty
#   step(what CMD...)     runs CMD (in STEP_WORKING_DIRECTORY when set); its
#                         failure ends the script with an error
function(require_vars)
  foreach(var IN LISTS ARGN)
    if(NOT DEFINED ${var} OR "${${var}}" STREQUAL "")
      message(FATAL_ERROR "${STEP_LABEL}: ${var} is not set")
    endif()
  endforeach()
endfunction()

function(step what)
  message(STATUS "${STEP_LABEL}: ${what}")
  set(dir_args)
  if(STEP_WORKING_DIRECTORY)
    set(dir_args WORKING_DIRECTORY ${STEP_WORKING_DIRECTORY})
  endif()
  execute_process(COMMAND ${ARGN} ${dir_args} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${STEP_LABEL}: ${what} failed (${rc})")
  endif()
endfunction()
