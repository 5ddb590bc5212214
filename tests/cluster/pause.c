/* The pod sandbox's process (containerd's sandbox_image): holds the pod's namespaces and does
 * nothing else until SIGTERM or SIGINT, then exits 0. Built static so the image needs no libc.
 * Written for these tests because no registry (registry.k8s.io/pause) is reachable here. */
#include <signal.h>
#include <unistd.h>

static void on_stop(int sig) {
  (void)sig;
  _exit(0);
}

int main(void) {
  struct sigaction sa = {0};
  sa.sa_handler = on_stop;
  sigaction(SIGTERM, &sa, 0);
  sigaction(SIGINT, &sa, 0);
  for (;;) pause();
}
