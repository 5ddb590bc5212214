# Bench area (bench/README.md): a smoke run of bench/benchmark.py --quick on 127.0.0.1, which fails
# where the report's smoke targets do (errors, an unserved connection, a broken access log: a
# request line from the ACCESS_LOG=off row included, which this environment must not reach the
# default row with); performance targets are reported, not asserted.
# Skips (77) without wrk or go (Debian wrk, golang-go); FA_TESTS_NO_SKIP=1 makes that a failure.
# Run: ctest -L bench
fa_test(bench.quick bench 240 "${CMAKE_CURRENT_SOURCE_DIR}/bench/benchmark.py" --quick --no-install
  --binary "$<TARGET_FILE:favorite-athlete>" --out "${CMAKE_CURRENT_BINARY_DIR}/bench-quick")
set_tests_properties(bench.quick PROPERTIES PROCESSORS 2 RUN_SERIAL TRUE
  ENVIRONMENT "PYTHONDONTWRITEBYTECODE=1;ACCESS_LOG=off")
# The reporting half and the measuring half's checks alone, no server under load, no wrk: what
# each proves is its file's docstring.
fa_python_test(bench.report ${CMAKE_CURRENT_LIST_DIR}/test_report.py bench 60)
fa_python_test(bench.measure ${CMAKE_CURRENT_LIST_DIR}/test_measure.py bench 60)
