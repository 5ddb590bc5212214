# Deploy tests: build-and-deploy.sh, the shell scripts, the CI workflow. Needs shellcheck, shfmt,
# bats + bats-assert + bats-support (Debian), kubectl, git, node and `npm ci --prefix tests`; a
# test exits 77 (skipped) with a message when its tool is missing. No cluster, container engine or
# network is used: the bats tests put stub docker/minikube/kubectl/curl first on PATH.
# apt_installs_no_remove: every apt install line in the repository carries --no-remove (a grep).
foreach(check shellcheck shfmt bats actionlint bash32 apt_installs_no_remove bump_httplib)
  fa_test(deploy.${check} deploy 240 bash ${CMAKE_CURRENT_LIST_DIR}/deploy_checks.sh ${check})
  set_tests_properties(deploy.${check} PROPERTIES WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
endforeach()
# ~30 bats tests of 2-3 s each on an idle machine; a loaded 2-core machine took 8 s each and hit
# 240 s. The timeout only catches a hang: it asserts no speed.
set_tests_properties(deploy.bats PROPERTIES TIMEOUT 900)
# What --no-remove buys: scripts/lib.sh's apt_install fails, naming what apt would remove, where
# plain apt would remove Docker; and it starts no service, nor leaves one enabled for the next boot.
# An apt simulation against a crafted dpkg status (tests/deploy/apt_install_keeps_packages.sh);
# reads the system only.
fa_test(deploy.apt_install_keeps_packages deploy 120 bash ${CMAKE_CURRENT_LIST_DIR}/apt_install_keeps_packages.sh)
# Offline configure: one line naming FA_DEPS_SOURCE=debian when cpp-httplib cannot be downloaded.
fa_test(deploy.offline_configure deploy 120 bash ${CMAKE_CURRENT_LIST_DIR}/offline_configure.sh)
