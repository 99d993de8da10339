# What `ferry` installs, and its Debian package (CPack DEB):
#
#   cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release
#   cmake --build build/release --target deb -j2
#   → build/release/ferry_<version>_amd64.deb
#
# (`deb` builds only what the package holds, then runs cpack; after a full build,
# `cmake --build build/release --target package` or `cd build/release && cpack` do the same.)
#
# The package holds /usr/bin/ferry, its man page, /usr/libexec/ferry/ferry-job, the systemd
# units, the Grafana dashboard and Prometheus alert rules under /usr/share/ferry, and the README
# and an example environment file under /usr/share/doc/ferry. Its dependencies come from
# dpkg-shlibdeps. tests/integration/packaging_deb_test.cpp builds it, installs it into a
# temporary root, runs it and removes it again.

include(GNUInstallDirs)
# Installing (and so packaging) needs only what is installed, not every test and benchmark.
set(CMAKE_SKIP_INSTALL_ALL_DEPENDENCY ON)
set(ferry_deploy ${PROJECT_SOURCE_DIR}/deploy)

# The man page: the written parts of deploy/man/ferry.1.in, with the synopsis, commands and
# options taken from the binary's own --help (make_man), compressed as Debian's policy asks.
add_executable(ferry_make_man ${ferry_deploy}/man/make_man.cpp)
find_program(FERRY_GZIP gzip REQUIRED)
add_custom_command(
  OUTPUT ${PROJECT_BINARY_DIR}/man/ferry.1
  COMMAND ${CMAKE_COMMAND} -E make_directory ${PROJECT_BINARY_DIR}/man
  COMMAND ferry_make_man $<TARGET_FILE:ferry> ${ferry_deploy}/man/ferry.1.in
          ${PROJECT_BINARY_DIR}/man/ferry.1 ${PROJECT_VERSION}
  DEPENDS ferry ferry_make_man ${ferry_deploy}/man/ferry.1.in
  COMMENT "Writing the man page from ferry --help")
add_custom_command(
  OUTPUT ${PROJECT_BINARY_DIR}/man/ferry.1.gz
  COMMAND ${FERRY_GZIP} -9n -c ${PROJECT_BINARY_DIR}/man/ferry.1 > ${PROJECT_BINARY_DIR}/man/ferry.1.gz
  DEPENDS ${PROJECT_BINARY_DIR}/man/ferry.1
  COMMENT "Compressing the man page")
add_custom_target(ferry_man ALL DEPENDS ${PROJECT_BINARY_DIR}/man/ferry.1.gz)

install(TARGETS ferry RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(PROGRAMS ${ferry_deploy}/bin/ferry-job DESTINATION ${CMAKE_INSTALL_LIBEXECDIR}/ferry)
install(FILES ${PROJECT_BINARY_DIR}/man/ferry.1.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
install(FILES ${ferry_deploy}/systemd/ferry-copy@.service ${ferry_deploy}/systemd/ferry-sync@.service
        DESTINATION lib/systemd/system)
install(FILES ${ferry_deploy}/grafana/ferry-dashboard.json
        DESTINATION ${CMAKE_INSTALL_DATADIR}/ferry/grafana)
install(FILES ${ferry_deploy}/prometheus/ferry-alerts.yml
        DESTINATION ${CMAKE_INSTALL_DATADIR}/ferry/prometheus)
install(FILES ${PROJECT_SOURCE_DIR}/README.md DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/ferry)
install(FILES ${ferry_deploy}/systemd/ferry.env
        DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/ferry/examples)

set(FERRY_PACKAGE_MAINTAINER "ferry maintainers <ferry@localhost>"
    CACHE STRING "The Maintainer field of ferry's Debian package")
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME ferry)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "copies and replicates Redis datasets exactly, fast and resumably")
set(CPACK_PACKAGE_DESCRIPTION
    "ferry copies a Redis dataset from a source (self-hosted Redis or Valkey, Azure Cache for "
    "Redis, ElastiCache, standalone or OSS cluster) into a target (Azure Managed Redis or any "
    "Redis) exactly: every key with its type, value and absolute expiry, over TLS, with bounded "
    "memory, and proves the copy (ferry verify).")
string(JOIN "" CPACK_PACKAGE_DESCRIPTION ${CPACK_PACKAGE_DESCRIPTION})
set(CPACK_PACKAGE_CONTACT "${FERRY_PACKAGE_MAINTAINER}")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION database)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# TLS to a service with a public CA (Azure Managed Redis) is verified with the system's store.
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS ca-certificates)
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA ${ferry_deploy}/debian/postinst ${ferry_deploy}/debian/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION TRUE)
set(CPACK_INSTALL_DEFAULT_DIRECTORY_PERMISSIONS
    OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)
include(CPack)

add_custom_target(deb
  COMMAND ${CMAKE_CPACK_COMMAND} -G DEB --config ${PROJECT_BINARY_DIR}/CPackConfig.cmake
  WORKING_DIRECTORY ${PROJECT_BINARY_DIR}
  DEPENDS ferry ferry_man
  COMMENT "Building ferry_${PROJECT_VERSION}_amd64.deb"
  VERBATIM)
