// The one doctest main of test_transport: the unit tests of the transport headers, one file
// beside each (test_connection_stream.cpp, test_deadlines.cpp, test_event_loop.cpp,
// test_access_log.cpp, test_logging.cpp).
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
