# Image area: Dockerfile.alpine and proof that the static binary runs as a pod runs it.
# Run: ctest --preset <name> -L image
set(_fa_img_dir "${CMAKE_CURRENT_SOURCE_DIR}/tests/image")
set(_fa_dockerfile "${CMAKE_CURRENT_SOURCE_DIR}/Dockerfile.alpine")
set(_fa_dockerignore "${CMAKE_CURRENT_SOURCE_DIR}/.dockerignore")

if(FAVORITE_ATHLETE_STATIC)
  # This tree is the `static` preset's build, the one Dockerfile.alpine does: test its binary.
  set(_fa_static_bin "$<TARGET_FILE:favorite-athlete>")
  set(_fa_static_fixture "")
else()
  # Any other tree: image.static_build configures the `static` preset into its own directory,
  # builds it and runs the unit tests there, exactly the Dockerfile's build steps. Offline
  # FetchContent settings of this tree (FETCHCONTENT_SOURCE_DIR_*, ...) are passed on.
  set(_fa_static_dir "${CMAKE_BINARY_DIR}/image-static")
  set(_fa_static_bin "${_fa_static_dir}/favorite-athlete")
  set(_fa_forward "")
  get_cmake_property(_fa_cache_vars CACHE_VARIABLES)
  foreach(_fa_var IN LISTS _fa_cache_vars)
    if(_fa_var MATCHES "^FETCHCONTENT_(SOURCE_DIR_.+|FULLY_DISCONNECTED|UPDATES_DISCONNECTED|TRY_FIND_PACKAGE_MODE)$"
       AND NOT "${${_fa_var}}" STREQUAL "")
      list(APPEND _fa_forward "-D${_fa_var}=${${_fa_var}}")
    endif()
  endforeach()
  fa_test(image.static_build image 900 "${_fa_img_dir}/image_checks.sh" static_build
    "${CMAKE_CURRENT_SOURCE_DIR}" "${_fa_static_dir}" ${_fa_forward})
  set_tests_properties(image.static_build PROPERTIES FIXTURES_SETUP fa_image_static_binary PROCESSORS 2)
  set(_fa_static_fixture fa_image_static_binary)
endif()

# image_checks.sh CHECK ...: one shell script, one named check per test (tests/image/README.md).
fa_test(image.static_binary image 120 "${_fa_img_dir}/image_checks.sh" static_binary "${_fa_static_bin}")
fa_test(image.smoke_podman image 180 "${_fa_img_dir}/image_checks.sh" smoke_podman "${_fa_static_bin}")
fa_test(image.podman_scratch image 300
  "${_fa_img_dir}/image_checks.sh" podman_scratch "${_fa_static_bin}" "${_fa_dockerfile}")
set_tests_properties(image.static_binary image.podman_scratch image.smoke_podman
  PROPERTIES FIXTURES_REQUIRED "${_fa_static_fixture}")
set_tests_properties(image.podman_scratch image.smoke_podman PROPERTIES RESOURCE_LOCK podman)

# dockerfile_checks.js lint|policy; not run (disabled) without node, as the manifests tests.
foreach(_fa_check lint policy)
  fa_test(image.dockerfile_${_fa_check} image 60
    "${FA_NODE}" "${_fa_img_dir}/dockerfile_checks.js" ${_fa_check} "${_fa_dockerfile}" "${_fa_dockerignore}")
endforeach()
