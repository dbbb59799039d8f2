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
