// cpp-httplib as its README shows a server: httplib::Server, one handler, listen(). Every
// CPPHTTPLIB_* setting at the library's default unless the build passes one (the benchmark builds
// it once as is and once with -DCPPHTTPLIB_TCP_NODELAY=true). Built against the same httplib.h as
// the service. Answers GET / with the service's body; PORT from the environment.
#include <cstdlib>

#include "httplib.h"

int main() {
  const char* port = std::getenv("PORT");
  httplib::Server server;
  server.Get("/", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(R"({"myFavoriteAthlete":"Usain Bolt"})", "application/json");
  });
  return server.listen("127.0.0.1", port ? std::atoi(port) : 8080) ? 0 : 1;
}
