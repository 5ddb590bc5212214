// h2o's library (Debian's libh2o-evloop-dev, its own event loop), a C handler: one thread,
// keep-alive, GET / answered with the service's body and Content-Type, anything else 404.
// PORT from the environment.
#include <h2o.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>

#define BODY "{\"myFavoriteAthlete\":\"Usain Bolt\"}"

static h2o_globalconf_t config;
static h2o_context_t context;
static h2o_accept_ctx_t accept_context;

static int on_request(h2o_handler_t* self, h2o_req_t* req) {
  (void)self;
  if (!h2o_memis(req->method.base, req->method.len, H2O_STRLIT("GET")) ||
      !h2o_memis(req->path_normalized.base, req->path_normalized.len, H2O_STRLIT("/"))) {
    return -1;  // h2o answers 404
  }
  static h2o_generator_t generator = {NULL, NULL};
  h2o_iovec_t body = h2o_iovec_init(H2O_STRLIT(BODY));
  req->res.status = 200;
  req->res.reason = "OK";
  req->res.content_length = body.len;
  h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, H2O_STRLIT("application/json"));
  h2o_start_response(req, &generator);
  h2o_send(req, &body, 1, H2O_SEND_STATE_FINAL);
  return 0;
}

static void on_accept(h2o_socket_t* listener, const char* err) {
  if (err != NULL) return;
  h2o_socket_t* sock = h2o_evloop_socket_accept(listener);
  if (sock != NULL) h2o_accept(&accept_context, sock);
}

int main(void) {
  const char* port = getenv("PORT");
  struct sockaddr_in addr = {.sin_family = AF_INET};
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons((uint16_t)(port ? atoi(port) : 8080));
  int fd = socket(AF_INET, SOCK_STREAM, 0), on = 1;
  if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) != 0 ||
      bind(fd, (struct sockaddr*)&addr, sizeof(addr)) != 0 || listen(fd, 1024) != 0) {
    return 1;
  }
  h2o_config_init(&config);
  h2o_hostconf_t* host = h2o_config_register_host(&config, h2o_iovec_init(H2O_STRLIT("default")), 65535);
  h2o_pathconf_t* path = h2o_config_register_path(host, "/", 0);
  h2o_create_handler(path, sizeof(h2o_handler_t))->on_req = on_request;
  h2o_context_init(&context, h2o_evloop_create(), &config);
  accept_context.ctx = &context;
  accept_context.hosts = config.hosts;
  h2o_socket_t* listener = h2o_evloop_socket_create(context.loop, fd, H2O_SOCKET_FLAG_DONT_READ);
  h2o_socket_read_start(listener, on_accept);
  while (h2o_evloop_run(context.loop, INT32_MAX) == 0) {
  }
  return 1;
}
