# `cmake --install`: the libraries, the public headers (include/kcbackup/) and a CMake package, so
# another project can write
#   find_package(kcbackup 0.2 REQUIRED)
#   target_link_libraries(app PRIVATE kcbackup::oracle kcbackup::engine)
# tests/consumer/ is such a project; ctest builds it against an installed copy of this tree.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

get_property(kcb_libraries GLOBAL PROPERTY KCB_EXPORTED_LIBRARIES)
install(TARGETS ${kcb_libraries} EXPORT kcbackupTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/kcbackup DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})

set(kcb_cmake_dir ${CMAKE_INSTALL_LIBDIR}/cmake/kcbackup)
install(EXPORT kcbackupTargets NAMESPACE kcbackup:: DESTINATION ${kcb_cmake_dir})
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/kcbackupConfig.cmake.in
                              ${PROJECT_BINARY_DIR}/kcbackupConfig.cmake
                              INSTALL_DESTINATION ${kcb_cmake_dir})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/kcbackupConfigVersion.cmake
                                 COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/kcbackupConfig.cmake
              ${PROJECT_BINARY_DIR}/kcbackupConfigVersion.cmake
        DESTINATION ${kcb_cmake_dir})
if(TARGET kcbackup)
  install(TARGETS kcbackup RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
endif()

# The program's man page and shell completions (docs/cli.md, "Installing"). The man page is
# written by help2man from the program's own --help and --version, with man/kcbackup.h2m for the
# sections --help does not have, so it cannot drift from the program.
if(TARGET kcbackup)
  find_program(KCB_HELP2MAN help2man REQUIRED)
  set(kcb_man_page ${PROJECT_BINARY_DIR}/man/kcbackup.1)
  add_custom_command(
    OUTPUT ${kcb_man_page}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${PROJECT_BINARY_DIR}/man
    COMMAND ${CMAKE_COMMAND} -E env NO_COLOR=1
            ${KCB_HELP2MAN} --no-info --section=1
            --include=${PROJECT_SOURCE_DIR}/man/kcbackup.h2m --output=${kcb_man_page}
            $<TARGET_FILE:kcbackup>
    DEPENDS kcbackup ${PROJECT_SOURCE_DIR}/man/kcbackup.h2m
    COMMENT "help2man: kcbackup.1"
    VERBATIM)
  add_custom_target(kcbackup_man ALL DEPENDS ${kcb_man_page})
  install(FILES ${kcb_man_page} DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
  install(FILES ${PROJECT_SOURCE_DIR}/completions/kcbackup.bash
          DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions RENAME kcbackup)
  install(FILES ${PROJECT_SOURCE_DIR}/completions/_kcbackup
          DESTINATION ${CMAKE_INSTALL_DATADIR}/zsh/site-functions)
  install(FILES ${PROJECT_SOURCE_DIR}/completions/kcbackup.fish
          DESTINATION ${CMAKE_INSTALL_DATADIR}/fish/vendor_completions.d)
endif()
