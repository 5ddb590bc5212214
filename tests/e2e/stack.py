"""End-to-end fixture: three replicas of the binary under test on free 127.0.0.1 ports behind a real
nginx routed like the Ingress (nginx/favorite-athlete.conf.template, the file docker-compose.yml
uses); fa_load.Load puts a steady load through nginx that counts every request.

The fixture plays only the parts of Kubernetes the tests check the service against: it starts the
replicas, records every exit (pid, code), restarts one on its port (the kubelet's restart) and
stops them all in the pod's order (replicas drain first, then nginx); test_replicas.py rolls
the three one at a time as the Deployment's rollout does. Standard library only; each replica is
a fa_test.Server (the binary from $FA_BIN, which ctest sets). A test whose tool is missing exits
77 (ctest: skipped). Everything a test starts is stopped when it ends.
"""
import json
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from fa_test import free_ports, get, Server, wait_until

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
TEMPLATE = os.path.join(ROOT, "nginx", "favorite-athlete.conf.template")
HOST = "favorite-athlete.127.0.0.1.nip.io"
SKIP = 77
# nginx's passive health (nginx/favorite-athlete.conf.template): a failed replica gets no
# traffic for at most this long (fail_timeout=1s, counted in whole seconds), then rejoins.
FAIL_TIMEOUT = 2.0
PATH = os.environ.get("PATH", "") + ":/usr/sbin:/sbin"  # Debian's nginx is in /usr/sbin


def skip(reason):
    print(f"SKIP: {reason}", flush=True)
    sys.exit(SKIP)


def require(tool, package):
    if shutil.which(tool, path=PATH) is None:
        skip(f"{tool} not found (Debian package {package})")


def render_template(values):
    """The template with its $FA_* names replaced from values, as the nginx image's envsubst does
    with NGINX_ENVSUBST_FILTER=^FA_ (every other $name stays an nginx variable)."""
    with open(TEMPLATE) as f:
        return re.sub(r"\$\{(FA_[A-Za-z0-9_]*)\}|\$(FA_[A-Za-z0-9_]*)",
                      lambda m: values[m.group(1) or m.group(2)], f.read())


def write_nginx_config(directory, values):
    """A private, unprivileged nginx's main config in directory (pid, temp paths, the rendered
    template included): the path of its nginx.conf."""
    # Workers run as nobody when the master is root: they must reach their temp directories.
    os.chmod(directory, 0o755)
    with open(os.path.join(directory, "favorite-athlete.conf"), "w") as f:
        f.write(render_template(values))
    conf = os.path.join(directory, "nginx.conf")
    with open(conf, "w") as f:
        f.write(f"""worker_processes auto;
pid {directory}/nginx.pid;
error_log stderr notice;
# Thousands of slow or idle clients must cost nginx only memory (ingress-nginx allows 16384).
worker_rlimit_nofile 16384;
events {{ worker_connections 8192; }}
http {{
    access_log off;
    client_body_temp_path {directory}/client_body;
    proxy_temp_path {directory}/proxy;
    fastcgi_temp_path {directory}/fastcgi;
    uwsgi_temp_path {directory}/uwsgi;
    scgi_temp_path {directory}/scgi;
    include {directory}/favorite-athlete.conf;
}}
""")
    return conf


def status_of(port, path, host=HOST):
    """The status of a GET of path, or None if nothing answers."""
    try:
        return get(port, path, host=host, timeout=1)[0]
    except (OSError, EOFError):
        return None


class Stack:
    """Three replicas (ACCESS_LOG=on, /metrics on a free port of each, never routed) and nginx in
    front of them, each on its own free port; nginx's config and logs in a temporary directory.
    replicas[n] is the fa_test.Server of replica n's current process; exits[n] lists how its
    earlier ones ended: (epoch seconds, pid, exit code; -N for signal N)."""

    def __init__(self, drain_seconds=1, shutdown_timeout_seconds=5):
        require("nginx", "nginx")
        self.env = {"METRICS_PORT": "0", "ACCESS_LOG": "on", "DRAIN_SECONDS": str(drain_seconds),
                    "SHUTDOWN_TIMEOUT_SECONDS": str(shutdown_timeout_seconds)}
        self.stop_within = drain_seconds + shutdown_timeout_seconds + 5  # s, for a replica to exit
        self.tmp = tempfile.mkdtemp(prefix="e2e-", dir="/tmp")
        self.port, *self.replica_ports = free_ports(4)
        self.replicas, self.exits, self.nginx = {}, {n: [] for n in (1, 2, 3)}, None
        try:
            for n in (1, 2, 3):
                self._start_replica(n)
            self._start_nginx()
        except BaseException:
            self.close()
            raise

    def file(self, name):
        return os.path.join(self.tmp, name)

    def restart(self, n, sig):
        """sig to replica n's process; once it has exited (recorded in exits), starts it again on
        its port, as the kubelet restarts a pod's container. Returns the exit code."""
        self.replicas[n].proc.send_signal(sig)
        code = self._reap(n)
        self._start_replica(n)
        return code

    def _start_replica(self, n):
        self.replicas[n] = Server(env=dict(self.env, PORT=str(self.replica_ports[n - 1])))

    def _reap(self, n):
        """Waits for replica n's process to exit and records how: its exit code."""
        server = self.replicas[n]
        code = server.proc.wait(timeout=self.stop_within)
        self.exits[n].append((time.time(), server.proc.pid, code))
        server.stop()  # its output read to the end, and no sanitizer report in it
        return code

    def _start_nginx(self):
        values = {"FA_LISTEN": f"127.0.0.1:{self.port}", "FA_HOST": HOST,
                  "FA_NGINX_ACCESS_LOG": self.file("nginx-access.log")}
        values.update({f"FA_UPSTREAM_{n}": f"127.0.0.1:{p}" for n, p in enumerate(self.replica_ports, 1)})
        conf = write_nginx_config(self.tmp, values)
        with open(self.file("nginx.log"), "ab") as log:
            # Its own session, so that close() can stop its workers with it.
            self.nginx = subprocess.Popen(
                [shutil.which("nginx", path=PATH), "-p", self.tmp, "-c", conf, "-e", "stderr", "-g", "daemon off;"],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        # The routed host answers as soon as nginx and one replica do.
        wait_until(lambda: self.nginx.poll() is not None or status_of(self.port, "/healthz") == 200, 10,
                   f"nginx to answer on port {self.port}")
        if self.nginx.poll() is not None:
            raise AssertionError(f"nginx exited with {self.nginx.returncode}:\n{self.nginx_log()}")

    def nginx_log(self):
        with open(self.file("nginx.log"), errors="replace") as f:
            return f.read()

    def access_log(self, routed=True):
        """nginx's access log lines (JSON): for the routed host, or (routed=False) for any other."""
        with open(self.file("nginx-access.log")) as f:
            return [r for r in map(json.loads, f) if (r["host"] == HOST) == routed]

    def served(self, n):
        """True if the current process of replica n logs a GET / (within 1 s): the load's, through
        nginx (the tests' own probes ask /readyz)."""
        try:
            while self.replicas[n].next_log(msg="request", timeout=1)["path"] != "/":
                pass
            return True
        except queue.Empty:
            return False

    def stop(self, sig=signal.SIGTERM):
        """Stops everything in the pod's order: sig to every replica (they drain, then exit; their
        exits are recorded), then SIGQUIT to nginx (it finishes what it has in flight). Returns
        nginx's exit code."""
        for server in self.replicas.values():
            server.proc.send_signal(sig)
        for n in (1, 2, 3):
            self._reap(n)
        self.nginx.send_signal(signal.SIGQUIT)
        return self.nginx.wait(timeout=10)

    def close(self):
        """Kills whatever is still running, however the test ended."""
        if self.nginx and self.nginx.poll() is None:
            os.killpg(self.nginx.pid, signal.SIGKILL)
            self.nginx.wait(timeout=5)
        shutil.rmtree(self.tmp, ignore_errors=True)
        for server in self.replicas.values():
            server.proc.kill()  # all of them before stop() may raise on a sanitizer report
        for server in self.replicas.values():
            server.stop()

    def __enter__(self):
        return self

    def __exit__(self, kind, value, tb):
        if kind is not None:
            print(f"--- nginx log ---\n{self.nginx_log()}", flush=True)
        self.close()


def retried(access_log):
    """Requests nginx had to send to more than one replica (connect error, closed connection, 5xx)."""
    return sum(1 for r in access_log if "," in r["upstream_addr"])


def figures(name, total, window, extra):
    """One line of measured figures, printed (ctest -V shows it) as well as asserted."""
    print(f"FIGURES {name}: {total['line']} | during: {window['line']} | {extra}", flush=True)
