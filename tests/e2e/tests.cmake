# End-to-end tests: a fixture (stack.py) runs three replicas of the binary under test behind a
# real nginx (Debian package nginx) on 127.0.0.1, routed like the Ingress, and a steady load goes
# through it while replicas restart, get killed, or all stop (test_replicas.py, a class each).
# Each test prints its figures (`ctest -L e2e -V` shows them) and exits 77 (skipped) when nginx is
# missing. Included by the top-level CMakeLists.txt: include(tests/e2e/tests.cmake OPTIONAL).
set(_e2e ${CMAKE_CURRENT_LIST_DIR})
set(_lock RESOURCE_LOCK favorite-athlete-e2e)  # the load tests measure: never two at once
fa_python_test(e2e.contract ${_e2e}/test_contract.py e2e 120 ${_lock})
fa_python_test(e2e.rolling_restart "${_e2e}/test_replicas.py;RollingRestart" e2e 120 ${_lock})
fa_python_test(e2e.kill9 "${_e2e}/test_replicas.py;Kill9" e2e 120 ${_lock})
fa_python_test(e2e.shutdown "${_e2e}/test_replicas.py;StopAll" e2e 120 ${_lock})
fa_python_test(e2e.slow_clients ${_e2e}/test_slow_clients.py e2e 120 ${_lock})
# docker-compose.yml checked offline (no Docker engine in CI) with Debian's docker-compose and
# python3-yaml, a module of Debian's python3: that interpreter (without it, not run).
find_program(FA_E2E_COMPOSE_PYTHON NAMES python3 PATHS /usr/bin NO_DEFAULT_PATH)
fa_test(e2e.compose e2e 60 ${FA_E2E_COMPOSE_PYTHON} -B ${CMAKE_CURRENT_LIST_DIR}/test_compose.py -v)
set_tests_properties(e2e.compose PROPERTIES ENVIRONMENT "PYTHONPATH=${PROJECT_SOURCE_DIR}/tests/lib;PYTHONDONTWRITEBYTECODE=1")
