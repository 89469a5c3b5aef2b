# What `cmake --install` puts where, and the Debian package built from it (cpack -G DEB).
# Installed programs find their model and resources relative to PREFIX/bin, so the package is
# relocatable and holds no path of the build machine.
include(GNUInstallDirs)

set(CMEDIT_PROGRAMS cmedit-cli cmedit-train)
if(CMEDIT_GUI)
  list(APPEND CMEDIT_PROGRAMS cmedit)
endif()
install(TARGETS ${CMEDIT_PROGRAMS} RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
# Camera RAW's decoder runs as a child process (core/imageio/raw_codec.h); the programs look for
# it in ../libexec/cmedit (a helper, not a command: no man page, not on PATH).
if(TARGET cmedit-raw-decoder)
  install(TARGETS cmedit-raw-decoder RUNTIME DESTINATION libexec/cmedit)
endif()

if(EXISTS ${CMAKE_SOURCE_DIR}/models/default/model.json)
  install(DIRECTORY ${CMAKE_SOURCE_DIR}/models/default DESTINATION ${CMAKE_INSTALL_DATADIR}/cmedit/models)
endif()
# The sample photo and where it comes from (CC0-1.0).
install(FILES ${CMAKE_SOURCE_DIR}/resources/samples/dandelion.jpg ${CMAKE_SOURCE_DIR}/resources/samples/README.md
        DESTINATION ${CMAKE_INSTALL_DATADIR}/cmedit/samples)

if(CMEDIT_GUI)
  install(FILES ${CMAKE_SOURCE_DIR}/packaging/cmedit.desktop DESTINATION ${CMAKE_INSTALL_DATADIR}/applications)
  install(FILES ${CMAKE_SOURCE_DIR}/packaging/io.github.cmedit.metainfo.xml DESTINATION ${CMAKE_INSTALL_DATADIR}/metainfo)
  install(FILES ${CMAKE_SOURCE_DIR}/resources/icons/cmedit.svg DESTINATION ${CMAKE_INSTALL_DATADIR}/icons/hicolor/scalable/apps)
  if(EXISTS ${CMAKE_SOURCE_DIR}/resources/icons/cmedit-256.png)
    install(FILES ${CMAKE_SOURCE_DIR}/resources/icons/cmedit-256.png DESTINATION ${CMAKE_INSTALL_DATADIR}/icons/hicolor/256x256/apps
            RENAME cmedit.png)
  endif()
endif()

# Man pages and the changelog go in gzip-compressed (Debian policy), made reproducibly (-n).
find_program(GZIP_PROGRAM gzip REQUIRED)
set(cmedit_pages cmedit-cli.1 cmedit-train.1)
if(CMEDIT_GUI)
  list(APPEND cmedit_pages cmedit.1)
endif()
set(cmedit_compressed)
foreach(page ${cmedit_pages} changelog)
  if(page STREQUAL "changelog")
    set(source ${CMAKE_SOURCE_DIR}/packaging/changelog)
  else()
    set(source ${CMAKE_SOURCE_DIR}/packaging/man/${page})
  endif()
  set(out ${CMAKE_BINARY_DIR}/packaging/${page}.gz)
  add_custom_command(OUTPUT ${out} COMMAND ${GZIP_PROGRAM} -9nc ${source} > ${out} DEPENDS ${source}
                     COMMENT "gzip ${page}" VERBATIM)
  list(APPEND cmedit_compressed ${out})
endforeach()
add_custom_target(cmedit_compressed_docs ALL DEPENDS ${cmedit_compressed})
foreach(page ${cmedit_pages})
  install(FILES ${CMAKE_BINARY_DIR}/packaging/${page}.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
endforeach()
install(FILES ${CMAKE_BINARY_DIR}/packaging/changelog.gz DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(FILES ${CMAKE_SOURCE_DIR}/packaging/copyright DESTINATION ${CMAKE_INSTALL_DOCDIR})

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME cmedit)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_VENDOR "cmedit developers")
set(CPACK_PACKAGE_CONTACT "cmedit developers <dev@cmedit.invalid>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "photo editor driven by consistency models")
# The extended description (the summary is the synopsis line); CPack indents each line.
set(CPACK_PACKAGE_DESCRIPTION "cmedit inpaints a painted mask, follows coloured strokes, colorizes
grey photos (optionally from colour hints), super-resolves a selection and
shows variations, with a live preview computed in the background by a
consistency model, one network evaluation per preview. Unmasked pixels stay
bit-identical and colorizing keeps the luma. Includes the command-line tools
cmedit-cli (the same edits in scripts) and cmedit-train (consistency
training and distillation), and a small built-in model.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION graphics)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_HOMEPAGE "${PROJECT_HOMEPAGE_URL}")
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)  # Depends from the libraries the binaries link (dpkg-shlibdeps)
# LibTorch's CPU inference is ~3× faster on OpenBLAS than on the reference BLAS (build-environment.md).
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "libopenblas0-openmp")
set(CPACK_DEBIAN_COMPRESSION_TYPE xz)
set(CPACK_STRIP_FILES ON)
set(CPACK_THREADS 0)
include(CPack)
