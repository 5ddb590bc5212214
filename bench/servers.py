"""The contestants and how to start them: a spec (a dict) per server, Server to run one pinned to a
CPU, and get_one, a GET / through the tests' raw HTTP client (tests/lib/fa_test.py) to check answers.
Shared by bench/measure.py and tests/conformance/differential.py. Python standard library only.

A spec: key, label, argv and env ("@PORT@" filled in), "unset" (names removed from the
environment), "setup" (called with the port before a start), "stdout_file" (stdout is a file of
its own, as a container runtime keeps a pod's log), "load_only" (no start time, idle RSS, size),
"callgrind" (instructions per request measured), and for favorite-athlete rows "httplib" and "libc".
"""
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time

import peers

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "lib"))
from fa_test import Reader, free_port  # noqa: E402  (the tests' raw HTTP client and free ports)

HERE = os.path.dirname(os.path.abspath(__file__))
BODY = b'{"myFavoriteAthlete":"Usain Bolt"}'
REQUEST = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"

FLASK_PACKAGES = ["python3.11-minimal", "libpython3.11-minimal", "libpython3.11-stdlib", "python3-flask",
                  "python3-werkzeug", "python3-jinja2", "python3-click", "python3-itsdangerous",
                  "python3-markupsafe", "gunicorn"]


def get_one(reader):
    """Sends GET / on the reader's connection and reads one response: (status 200, keep-alive, body).
    EOFError when the server closed the connection, ValueError when the answer is malformed."""
    reader.sock.sendall(REQUEST)
    status, headers, body = reader.response()
    return status == 200, headers.get("connection", "").lower() != "close", body


def http_get_ok(port, timeout=1.0):
    """(GET / answered 200, its body); (False, b"") when nothing answers yet."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            ok, _, body = get_one(Reader(s))
            return ok, body
    except (OSError, EOFError, ValueError):
        return False, b""


def spec_env(spec, port):
    """A contestant's environment: this one less spec["unset"], plus spec["env"] (@PORT@ filled in)."""
    env = {k: v for k, v in os.environ.items() if k not in spec.get("unset", ())}
    env.update({k: v.replace("@PORT@", str(port)) for k, v in spec.get("env", {}).items()})
    return env


class Server:
    """A contestant's process group on a free port, pinned to `cpu`; ready_ms is the time from
    exec to the first 200 on GET /.

    stderr (and stdout, unless the spec has "stdout_file") goes to <logdir>/<key>.log. With
    "stdout_file", stdout is a regular file of its own, <logdir>/<key>.<tag>.stdout, as a container
    runtime writes a pod's log to a file: the access log's cost includes a real consumer's writes.
    """

    def __init__(self, spec, cpu, logdir, tag):
        self.spec = spec
        self.port = free_port()
        argv = [a.replace("@PORT@", str(self.port)) for a in spec["argv"]]
        env = spec_env(spec, self.port)
        if "setup" in spec:
            spec["setup"](self.port)
        self.logf = open(os.path.join(logdir, spec["key"] + ".log"), "ab")
        self.stdout_path = None
        out = self.logf
        if spec.get("stdout_file"):
            self.stdout_path = os.path.join(logdir, f"{spec['key']}.{tag}.stdout")
            out = open(self.stdout_path, "wb")
        t0 = time.monotonic()
        try:
            # No preexec_fn: it would make Python fork instead of vfork, and the start time would
            # include copying this process. Pinned right after the spawn instead.
            self.proc = subprocess.Popen(argv, env=env, stdout=out, stderr=self.logf, stdin=subprocess.DEVNULL,
                                         start_new_session=True)
        finally:
            if out is not self.logf:
                out.close()  # the child has its own descriptor
        if cpu is not None:
            os.sched_setaffinity(self.proc.pid, {cpu})
        while True:
            ok, body = http_get_ok(self.port)
            if ok:
                self.ready_ms = (time.monotonic() - t0) * 1000
                if BODY not in body:  # Flask's jsonify adds a newline
                    self.kill()
                    raise RuntimeError(f"{spec['key']}: GET / did not return the service's body: {body[:300]!r}")
                break
            if self.proc.poll() is not None or time.monotonic() - t0 > 20:
                self.kill()
                raise RuntimeError(f"{spec['key']} did not answer 200 (see {self.logf.name})")
            time.sleep(0.0001)

    def kill(self):
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait()
        self.logf.close()
        time.sleep(0.2)  # let the port go

    def stop(self):
        """Where stdout is a log file, SIGTERM first: a graceful stop writes what the event loops
        still hold (SIGKILL loses up to 100 ms of lines and may cut a write short). SIGKILL after
        15 s, and for everything else. Returns whether the process exited 0 on SIGTERM."""
        graceful = False
        if self.stdout_path:
            try:
                os.kill(self.proc.pid, signal.SIGTERM)
                graceful = self.proc.wait(timeout=15) == 0
            except (ProcessLookupError, subprocess.TimeoutExpired):
                pass
        self.kill()
        return graceful

    def discard(self):
        """stop(), and delete the stdout file: for starts whose log nobody counts."""
        self.stop()
        if self.stdout_path:
            os.remove(self.stdout_path)


def package_kb(packages):
    total = 0
    for p in packages:
        r = subprocess.run(["dpkg-query", "-W", "-f=${Installed-Size}", p], capture_output=True, text=True)
        if r.returncode == 0 and r.stdout.strip().isdigit():
            total += int(r.stdout)
    return total


def build_of(binary, libc):
    """What a favorite-athlete binary runs: its cpp-httplib (from --version) and libc, and
    "+ mimalloc" where it links it."""
    v = subprocess.run([binary, "--version"], capture_output=True, text=True).stdout
    m = re.search(r"cpp-httplib ([^)\s]+)", v)
    with open(binary, "rb") as f:
        alloc = " + mimalloc" if b"mimalloc" in f.read() else ""
    return {"httplib": m.group(1) if m else "?", "libc": libc + alloc}


def service(key, what, binary, libc, **spec):
    """A favorite-athlete row; its label names what it runs, and with which cpp-httplib and libc."""
    build = build_of(binary, libc)
    # Every setting the binary reads (its --help names them, from service/config.hpp's table) is
    # unset but those the row sets, so "default" means default whatever the caller's shell exports.
    usage = subprocess.run([binary, "--help"], capture_output=True, text=True).stdout
    unset = re.findall(r"^  --\S+=VALUE  \((\w+)\)$", usage, re.M)
    if "PORT" not in unset:
        raise RuntimeError(f"{binary} --help names no settings as 'option=VALUE  (NAME)': read them how?")
    return dict(spec, key=key, argv=[binary], unset=unset, **build,
                label=f"favorite-athlete, {what} [cpp-httplib {build['httplib']}, {build['libc']}]")


def contestants(args, workdir, httplib_dir=None, log=print):
    """The specs of a run: args has binary, static_binary, musl_binary, go_server (paths or None),
    quick and peers (bools)."""
    base_env = {"PORT": "@PORT@", "BIND_ADDRESS": "127.0.0.1", "DRAIN_SECONDS": "0"}
    # favorite-athlete as users get it: every setting at its default but the address, the port and
    # the drain (DRAIN_SECONDS only delays a stop). The access log is on by default: its stdout is a
    # file, as a container runtime keeps a pod's log.
    default = {"env": base_env, "stdout_file": True, "callgrind": True}
    nolog = dict(default, env=dict(base_env, ACCESS_LOG="off"), stdout_file=False, load_only=True)
    fa = []
    # The headline: the image's binary (static musl), default settings; the glibc builds beside it.
    if args.musl_binary:
        fa.append(service("fa_musl", "static musl (the image's libc), default", args.musl_binary, "musl",
                          size_note="static musl + libc++ (zig 0.11), stripped: the image's libc", **default))
        fa.append(service("fa_musl_nolog", "static musl, ACCESS_LOG=off", args.musl_binary, "musl", **nolog))
    if args.static_binary:
        fa.append(service("fa_static", "static glibc, default", args.static_binary, "glibc",
                          size_note="static glibc + libstdc++, stripped", **default))
    fa.append(service("fa", "default: access log on", args.binary, "glibc",
                      size_note="Release binary, dynamically linked", **default))
    fa.append(service("fa_nolog", "ACCESS_LOG=off", args.binary, "glibc", **nolog))
    if not args.quick:
        fa.append(service("fa_t2", "THREADS=2 (two event loops on one CPU), access log on", args.binary, "glibc",
                          **dict(default, env=dict(base_env, THREADS="2"), load_only=True, callgrind=False)))
    others = []
    nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)
    if nginx:
        prefix = os.path.join(workdir, "nginx")

        def setup(port, prefix=prefix):
            os.makedirs(prefix, exist_ok=True)
            with open(os.path.join(HERE, "contestants/nginx/nginx.conf.in")) as f:
                conf = f.read().replace("@PREFIX@", prefix).replace("@PORT@", str(port))
            with open(os.path.join(prefix, "nginx.conf"), "w") as f:
                f.write(conf)
        others.append({"key": "nginx", "label": "nginx return 200", "setup": setup,
                       "argv": [nginx, "-p", prefix, "-c", os.path.join(prefix, "nginx.conf")],
                       "size_note": "nginx binary, shared libraries not counted"})
    if args.go_server:
        others.append({"key": "go", "label": "Go net/http", "argv": [args.go_server], "env": base_env,
                       "size_note": "static, stripped (-s -w)"})
    gunicorn = shutil.which("gunicorn")
    if gunicorn:
        others.append({"key": "flask", "label": "Flask + gunicorn (2 sync workers)",
                       "argv": [gunicorn, "--workers", "2", "--worker-class", "sync", "--bind", "127.0.0.1:@PORT@",
                                "--backlog", "1024", "--chdir", os.path.join(HERE, "contestants/flask"),
                                "--log-level", "warning", "app:app"],
                       "size_bytes": package_kb(FLASK_PACKAGES) * 1024,
                       "size_note": "installed Debian packages: python3.11, flask and its deps, gunicorn"})
    if args.quick:
        others = others[:1]
    elif args.peers:
        others += peers.specs(peers.build(workdir, httplib_dir, log), base_env, httplib_dir)
    specs = fa + others
    for s in specs:
        if not s.get("load_only"):
            s.setdefault("size_bytes", os.path.getsize(s["argv"][0]))
    return specs
