// RESTinio 0.6 (Debian's librestinio-dev, over Boost.Asio): one thread, keep-alive, GET / answered
// with the service's body and Content-Type, anything else 404. PORT from the environment.
#include <cstdlib>
#include <restinio/all.hpp>

int main() {
  const char* port = std::getenv("PORT");
  auto handler = [](const restinio::request_handle_t& req) {
    if (req->header().method() != restinio::http_method_get() || req->header().path() != "/") {
      return restinio::request_rejected();
    }
    return req->create_response()
        .append_header(restinio::http_field::content_type, "application/json")
        .set_body(R"({"myFavoriteAthlete":"Usain Bolt"})")
        .done();
  };
  restinio::run(restinio::on_this_thread<restinio::default_single_thread_traits_t>()
                    .address("127.0.0.1")
                    .port(static_cast<std::uint16_t>(port ? std::atoi(port) : 8080))
                    .request_handler(handler));
  return 0;
}
