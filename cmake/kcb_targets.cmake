# What every target of ours shares, and the one function that declares a kcbackup library.
#
#   kcb_warnings         -Wall -Wextra -Wpedantic (-Werror with KCB_WERROR) on our own code
#   kcb_private_headers  the source tree as include root: private headers ("engine/keybag.h") are
#                        reachable from our libraries, tests, fuzz targets and benchmarks only;
#                        an installed consumer sees include/kcbackup/ alone
#   kcb_instrumentation  in a fuzz build, the sanitizer and coverage flags, for compiling AND
#                        linking: a library links it PUBLIC, so every program that links an
#                        instrumented library (the fuzz targets, the CLI, the replay mains) also
#                        gets the sanitizer runtime. Empty otherwise.
add_library(kcb_warnings INTERFACE)
target_compile_options(kcb_warnings INTERFACE -Wall -Wextra -Wpedantic
                       $<$<BOOL:${KCB_WERROR}>:-Werror>)

add_library(kcb_private_headers INTERFACE)
target_include_directories(kcb_private_headers INTERFACE ${PROJECT_SOURCE_DIR})
# Private headers use these packages directly (property_list.h includes <plist/plist.h>).
target_link_libraries(kcb_private_headers INTERFACE OpenSSL::Crypto SQLite::SQLite3 PkgConfig::PLIST)

set(KCB_FUZZ_SANITIZERS "address,undefined" CACHE STRING
    "Sanitizers for fuzz builds (empty when CMAKE_CXX_FLAGS already has them, as under OSS-Fuzz)")
add_library(kcb_instrumentation INTERFACE)
if(KCB_FUZZ AND NOT KCB_FUZZ_SANITIZERS STREQUAL "")
  # UBSan findings abort so that libFuzzer counts them as crashes.
  set(kcb_sanitize -fsanitize=${KCB_FUZZ_SANITIZERS} -fno-sanitize-recover=all)
  target_compile_options(kcb_instrumentation INTERFACE ${kcb_sanitize} -fsanitize=fuzzer-no-link
                         -fno-omit-frame-pointer)
  target_link_options(kcb_instrumentation INTERFACE ${kcb_sanitize})
  # The same sanitizers with edge coverage only: no trace-cmp hooks and no memcmp/strcmp value
  # hooks (-fsanitize=fuzzer-no-link forces both and cannot be told to drop one). For targets
  # whose input meets no comparison a spliced value could satisfy: the journey target's bytes
  # become traits, settings and lengths through FuzzedDataProvider, and everything the engine
  # compares after that is its own output (keys, DER, SQLite rows); restore's custom mutator
  # changes the fields the restore decides on itself, and its items are sealed, so no byte of
  # their DER can be steered. Measured in docs/fuzzing.md.
  set(KCB_FUZZ_EDGE_COPIES ON)
  # The ignore list is passed as a copy named by its digest: a compiler cache keys on the command
  # line, not on the list's content (and ccache's preprocessed mode ignores -D definitions).
  set(kcb_coverage_ignore ${PROJECT_SOURCE_DIR}/fuzz/coverage_ignore.txt)
  file(MD5 ${kcb_coverage_ignore} kcb_coverage_ignore_md5)
  set(kcb_coverage_ignore_copy ${CMAKE_BINARY_DIR}/coverage_ignore.${kcb_coverage_ignore_md5}.txt)
  configure_file(${kcb_coverage_ignore} ${kcb_coverage_ignore_copy} COPYONLY)
  add_library(kcb_instrumentation_edges INTERFACE)
  target_compile_options(kcb_instrumentation_edges INTERFACE ${kcb_sanitize}
                         -fsanitize-coverage=inline-8bit-counters,indirect-calls,pc-table,stack-depth
                         -fsanitize-coverage-ignorelist=${kcb_coverage_ignore_copy}
                         -fno-omit-frame-pointer)
  target_link_options(kcb_instrumentation_edges INTERFACE ${kcb_sanitize})
endif()

# In a fuzz build with our own sanitizer flags, NAME_edges: the library again, from the same
# sources, with kcb_instrumentation_edges, linked to the _edges copies of our libraries it uses.
# Built only for a program that links it (EXCLUDE_FROM_ALL); never installed or exported. What a
# CMakeLists.txt sets on NAME after kcb_library() is not copied: the libraries journey links
# (model, input, oracle, engine, harness) set nothing; render's KCB_VERSION would be missing.
function(kcb_edges_copy name sources public_deps private_deps)
  if(NOT KCB_FUZZ_EDGE_COPIES)
    return()
  endif()
  foreach(kind public private)
    set(mapped_${kind})
    foreach(dep IN LISTS ${kind}_deps)
      if(dep MATCHES "^kcb_[a-z_]+$")
        set(dep ${dep}_edges)
      endif()
      list(APPEND mapped_${kind} ${dep})
    endforeach()
  endforeach()
  add_library(${name}_edges STATIC EXCLUDE_FROM_ALL ${sources})
  target_include_directories(${name}_edges PUBLIC ${PROJECT_SOURCE_DIR}/include)
  target_link_libraries(${name}_edges PUBLIC ${mapped_public} kcb_instrumentation_edges
                        PRIVATE ${mapped_private} kcb_private_headers kcb_warnings)
endfunction()

# kcb_library(NAME EXPORT_NAME SOURCES... [PUBLIC_DEPS ...] [PRIVATE_DEPS ...])
# A static library with the public headers of include/kcbackup/, exported as kcbackup::EXPORT_NAME
# (also an ALIAS of that name in the build tree). Build-only helpers are linked as BUILD_INTERFACE
# so that the exported targets name only packages a consumer can find.
function(kcb_library name export_name)
  cmake_parse_arguments(PARSE_ARGV 2 arg "" "" "SOURCES;PUBLIC_DEPS;PRIVATE_DEPS")
  add_library(${name} STATIC ${arg_SOURCES})
  add_library(kcbackup::${export_name} ALIAS ${name})
  set_target_properties(${name} PROPERTIES EXPORT_NAME ${export_name}
                                           OUTPUT_NAME kcbackup_${export_name}
                                           POSITION_INDEPENDENT_CODE ON)
  target_include_directories(${name} PUBLIC $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>
                                            $<INSTALL_INTERFACE:include>)
  target_link_libraries(${name}
                        PUBLIC ${arg_PUBLIC_DEPS} $<BUILD_INTERFACE:kcb_instrumentation>
                        PRIVATE ${arg_PRIVATE_DEPS} $<BUILD_INTERFACE:kcb_private_headers>
                                $<BUILD_INTERFACE:kcb_warnings>)
  set_property(GLOBAL APPEND PROPERTY KCB_EXPORTED_LIBRARIES ${name})
  kcb_edges_copy(${name} "${arg_SOURCES}" "${arg_PUBLIC_DEPS}" "${arg_PRIVATE_DEPS}")
endfunction()

# kcb_test_program(NAME LIBS...): a test executable built from NAME.cc with GoogleTest's main,
# the private headers and our warnings, linked with LIBS (unit tests and property suites alike).
function(kcb_test_program name)
  add_executable(${name} ${name}.cc)
  target_link_libraries(${name} PRIVATE ${ARGN} kcb_private_headers GTest::gtest_main
                        kcb_warnings)
endfunction()
