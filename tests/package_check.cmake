# ctest package.* (label unit): the libraries as another project sees them.
#   MODE=consumer      install BUILD_DIR into WORK/prefix, then configure, build and run
#                      tests/consumer against it with find_package(kcbackup)
#   MODE=oracle-alone  build model/ and oracle/ alone (tests/oracle_alone): no engine target
#                      exists in that project, and only the vocabulary and oracle headers are on
#                      its include path, so an oracle that reached into the engine fails here
# Arguments: -DMODE= -DSOURCE_DIR= -DBUILD_DIR= -DWORK= -DCXX=
foreach(var MODE SOURCE_DIR BUILD_DIR WORK CXX)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "package_check: -D${var}= is required")
  endif()
endforeach()

function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    string(REPLACE ";" " " shown "${ARGN}")
    message(FATAL_ERROR "package_check: failed (${rc}): ${shown}")
  endif()
endfunction()

file(REMOVE_RECURSE ${WORK})
if(MODE STREQUAL "consumer")
  run(${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${WORK}/prefix)
  run(${CMAKE_COMMAND} -S ${SOURCE_DIR}/tests/consumer -B ${WORK}/build
      -DCMAKE_CXX_COMPILER=${CXX} -DCMAKE_PREFIX_PATH=${WORK}/prefix -DCMAKE_BUILD_TYPE=Release)
  run(${CMAKE_COMMAND} --build ${WORK}/build)
  run(${WORK}/build/consumer)
elseif(MODE STREQUAL "oracle-alone")
  run(${CMAKE_COMMAND} -S ${SOURCE_DIR}/tests/oracle_alone -B ${WORK}/build
      -DCMAKE_CXX_COMPILER=${CXX} -DKCB_SOURCE_DIR=${SOURCE_DIR} -DCMAKE_BUILD_TYPE=Release)
  run(${CMAKE_COMMAND} --build ${WORK}/build)
  run(${WORK}/build/oracle_alone)
else()
  message(FATAL_ERROR "package_check: unknown MODE '${MODE}'")
endif()
