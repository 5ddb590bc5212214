// Boost.Beast (Debian's libboost1.81-dev), asynchronous: one io_context on one thread, a session
// per connection that reads a request, writes the reply and reads the next (keep-alive). GET /
// gets the service's body and Content-Type, anything else 404. PORT from the environment.
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cstdlib>
#include <memory>

namespace asio = boost::asio;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;

class Session : public std::enable_shared_from_this<Session> {
 public:
  explicit Session(tcp::socket socket) : socket_(std::move(socket)) {}

  void Read() {
    request_ = {};
    http::async_read(socket_, buffer_, request_, [self = shared_from_this()](boost::beast::error_code ec, std::size_t) {
      if (!ec) self->Reply();
    });
  }

 private:
  void Reply() {
    const bool found = request_.method() == http::verb::get && request_.target() == "/";
    response_ = {found ? http::status::ok : http::status::not_found, request_.version()};
    response_.set(http::field::content_type, "application/json");
    response_.body() = found ? R"({"myFavoriteAthlete":"Usain Bolt"})" : R"({"error":"not found"})";
    response_.keep_alive(request_.keep_alive());
    response_.prepare_payload();
    http::async_write(socket_, response_, [self = shared_from_this()](boost::beast::error_code ec, std::size_t) {
      if (!ec && self->response_.keep_alive()) self->Read();
    });
  }

  tcp::socket socket_;
  boost::beast::flat_buffer buffer_;
  http::request<http::empty_body> request_;
  http::response<http::string_body> response_;
};

void Accept(tcp::acceptor& acceptor) {
  acceptor.async_accept([&acceptor](boost::beast::error_code ec, tcp::socket socket) {
    if (!ec) {
      socket.set_option(tcp::no_delay(true));
      std::make_shared<Session>(std::move(socket))->Read();
    }
    Accept(acceptor);
  });
}

int main() {
  const char* port = std::getenv("PORT");
  asio::io_context io{1};
  tcp::acceptor acceptor{
      io, {asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port ? std::atoi(port) : 8080)}};
  acceptor.listen(1024);
  Accept(acceptor);
  io.run();
  return 0;
}
