# Deploy tests: build-and-deploy.sh, the shell scripts, the CI workflow. Included by the
# top-level CMakeLists.txt:
#   include(tests/deploy/tests.cmake OPTIONAL)
# Needs shellcheck, shfmt, bats + bats-assert + bats-support (Debian), kubectl, git,
# node and `npm ci` in tests/deploy; a test exits 77 (skipped) with a message
# when its tool is missing. No cluster, container engine or network is used:
# the bats tests put stub docker/minikube/kubectl/curl first on PATH.
# Paths from this file's own location, so it works wherever it is included from.
set(FA_DEPLOY_TEST_DIR ${CMAKE_CURRENT_LIST_DIR})
get_filename_component(FA_DEPLOY_REPO_ROOT ${CMAKE_CURRENT_LIST_DIR}/../.. ABSOLUTE)
# apt_installs_no_remove: every apt install line in the repository carries --no-remove (a grep).
foreach(check shellcheck shfmt bats actionlint bash32 apt_installs_no_remove bump_httplib)
  add_test(NAME deploy.${check}
           COMMAND bash ${FA_DEPLOY_TEST_DIR}/deploy_checks.sh ${check}
           WORKING_DIRECTORY ${FA_DEPLOY_REPO_ROOT})
  set_tests_properties(deploy.${check} PROPERTIES
    LABELS deploy
    SKIP_RETURN_CODE 77
    TIMEOUT 240)
endforeach()
# ~30 bats tests of 2-3 s each on an idle machine; a loaded 2-core machine took 8 s each and hit
# 240 s. The timeout only catches a hang: it asserts no speed.
set_tests_properties(deploy.bats PROPERTIES TIMEOUT 900)
# What --no-remove buys: scripts/lib.sh's apt_install fails, naming what apt would remove, where
# plain apt would remove Docker; and it starts no service, nor leaves one enabled for the next boot.
# An apt simulation against a crafted dpkg status (tests/deploy/apt_install_keeps_packages.sh);
# reads the system only.
add_test(NAME deploy.apt_install_keeps_packages COMMAND bash ${FA_DEPLOY_TEST_DIR}/apt_install_keeps_packages.sh)
set_tests_properties(deploy.apt_install_keeps_packages PROPERTIES LABELS deploy SKIP_RETURN_CODE 77 TIMEOUT 120)
# Offline configure: one line naming FA_DEPS_SOURCE=debian when cpp-httplib cannot be downloaded.
add_test(NAME deploy.offline_configure COMMAND bash ${FA_DEPLOY_TEST_DIR}/offline_configure.sh)
set_tests_properties(deploy.offline_configure PROPERTIES LABELS deploy SKIP_RETURN_CODE 77 TIMEOUT 120)
