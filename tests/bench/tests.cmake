# Bench area: a smoke run of bench/benchmark.py --quick (one 2 s wrk run per load shape,
# this service and one other contestant, all on 127.0.0.1; results.json, then the report from it).
# It fails when the service answers anything but 2xx, has socket errors at 50 connections, leaves
# one of 1000 connections unserved, or its stdout is not what the row says (a request line per
# response, none with ACCESS_LOG=off: also set here, where it must not reach the default row);
# performance targets are reported, not asserted.
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
