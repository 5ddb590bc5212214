"""The contestants and how to start and load them: a spec (a dict) per server (the C++ peers built
here from PEERS), Server to run one pinned to a CPU, and clients, keep-alive connections whose
responses are counted per connection. Shared by bench/measure.py, bench/instructions.py and
tests/conformance/differential.py. Python standard library only.

A spec: key, label, argv and env ("@PORT@" filled in; a contestant's environment is PATH and
env alone, so nothing the caller's shell exports reaches it), "setup" (called with the port before a
start), "stdout_file" (Server), "size_note" (what the size means; a row without one has no start
time, idle RSS or size) and "size_bytes" (where argv[0]'s size is not it), "callgrind"
(instructions per request measured), "httplib" and "libc".
"""
import math
import os
import re
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "lib"))
from fa_test import GREETING as BODY, free_port, get  # noqa: E402  (the tests' raw HTTP client, body, ports)

HERE = os.path.dirname(os.path.abspath(__file__))
REQUEST = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
CXX = ["g++", "-std=c++17", "-O2", "-pthread"]

# The C++ servers a user would pick instead (bench/peers/, one small source each, built from
# Debian's packages; the cpp-httplib ones against the same httplib.h the service got), each
# answering GET / with the service's body and Content-Type on one thread, keep-alive:
# key, label, source, compile command (before -o), libraries, Debian package (None: cpp-httplib's header).
PEERS = [
    ("h2o", "h2o's library (libh2o-evloop), C handler", "h2o.c", ["gcc", "-O2", "-DH2O_USE_LIBUV=0"],
     ["-lh2o-evloop"], "libh2o-evloop-dev"),
    ("restinio", "RESTinio (Boost.Asio, one thread)", "restinio.cpp", CXX + ["-DRESTINIO_USE_BOOST_ASIO"],
     ["-lhttp_parser", "-lfmt"], "librestinio-dev"),
    ("beast", "Boost.Beast, async (one io_context)", "beast_async.cpp", CXX, [], "libboost1.81-dev"),
    ("httplib_readme", "cpp-httplib as its README shows it", "httplib_readme.cpp", CXX + ["-I@HTTPLIB@"], [], None),
    ("httplib_nodelay", "cpp-httplib as its README shows it + TCP_NODELAY", "httplib_readme.cpp",
     CXX + ["-I@HTTPLIB@", "-DCPPHTTPLIB_TCP_NODELAY=true"], [], None),
]

# favorite-athlete as users get it: every setting at its default (Server passes no other) but the
# address, the port and the drain (DRAIN_SECONDS only delays a stop); its stdout a file, as a
# container runtime keeps a pod's log (with ACCESS_LOG=off, it shows that nothing was logged).
# key, label, binary (an option of bench/benchmark.py), libc, settings, size note (None: measured
# under load only). The headline first: the image's binary. THREADS=2 is not run under callgrind.
BASE_ENV = {"PORT": "@PORT@", "BIND_ADDRESS": "127.0.0.1", "DRAIN_SECONDS": "0"}
SERVICE = [
    ("fa_musl", "static musl (the image's libc), default", "musl_binary", "musl", {},
     "static musl + libc++ (zig 0.11), stripped: the image's libc"),
    ("fa_musl_nolog", "static musl, ACCESS_LOG=off", "musl_binary", "musl", {"ACCESS_LOG": "off"}, None),
    ("fa_static", "static glibc, default", "static_binary", "glibc", {}, "static glibc + libstdc++, stripped"),
    ("fa", "default: access log on", "binary", "glibc", {}, "Release binary, dynamically linked"),
    ("fa_nolog", "ACCESS_LOG=off", "binary", "glibc", {"ACCESS_LOG": "off"}, None),
    ("fa_t2", "THREADS=2 (two event loops on one CPU), access log on", "binary", "glibc", {"THREADS": "2"}, None),
]

FLASK_PACKAGES = ["python3.11-minimal", "libpython3.11-minimal", "libpython3.11-stdlib", "python3-flask",
                  "python3-werkzeug", "python3-jinja2", "python3-click", "python3-itsdangerous",
                  "python3-markupsafe", "gunicorn"]


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


class Server:
    """A contestant's process group on a free port, pinned to `cpu`; ready_ms is the time from
    exec to the first 200 on GET /. `wrap` runs it under another program (valgrind), which makes it
    about 50 times slower: it gets longer to answer.

    stderr (and stdout, unless the spec has "stdout_file") goes to <logdir>/<key>.log. With
    "stdout_file", stdout is a regular file of its own, <logdir>/<key>.stdout (emptied at each start),
    as a container runtime writes a pod's log to a file: the access log's cost includes a real
    consumer's writes.
    """

    def __init__(self, spec, cpu, logdir, wrap=()):
        self.port = free_port()
        argv = [a.replace("@PORT@", str(self.port)) for a in [*wrap, *spec["argv"]]]
        env = {"PATH": os.environ["PATH"]}  # and the spec's settings: none of the caller's reaches it
        env.update((k, v.replace("@PORT@", str(self.port))) for k, v in spec.get("env", {}).items())
        if "setup" in spec:
            spec["setup"](self.port)
        self.logf = open(os.path.join(logdir, spec["key"] + ".log"), "ab")
        self.stdout_path = os.path.join(logdir, spec["key"] + ".stdout") if spec.get("stdout_file") else None
        out = open(self.stdout_path, "wb") if self.stdout_path else self.logf
        t0 = time.monotonic()
        try:
            # No preexec_fn: it would make Python fork instead of vfork, and the start time would
            # include copying this process. Pinned right after the spawn instead.
            self.proc = subprocess.Popen(argv, env=env, stdout=out, stderr=self.logf, stdin=subprocess.DEVNULL,
                                         start_new_session=True)
        finally:
            if self.stdout_path:
                out.close()  # the child has its own descriptor
        if cpu is not None:
            os.sched_setaffinity(self.proc.pid, {cpu})
        patience, answer_s = (120, 30) if wrap else (20, 1)
        while True:
            try:
                status, _, body = get(self.port, host="127.0.0.1", timeout=answer_s)
            except (OSError, EOFError, ValueError):
                status = None
            if status == 200:
                self.ready_ms = (time.monotonic() - t0) * 1000
                if BODY not in body:  # Flask's jsonify adds a newline
                    self.kill()
                    raise RuntimeError(f"{spec['key']}: GET / did not return the service's body: {body[:300]!r}")
                break
            if self.proc.poll() is not None or time.monotonic() - t0 > patience:
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

    def stop(self, wait=None):
        """SIGTERM, then SIGKILL to the group after `wait` s (default: 15 where stdout is a log file,
        else at once): a graceful stop writes what the event loops still hold (SIGKILL loses up to
        100 ms of lines and may cut a write short), and callgrind its profile. Returns whether the
        process exited 0 on SIGTERM."""
        graceful = False
        wait = (15 if self.stdout_path else 0) if wait is None else wait
        if wait:
            try:
                os.kill(self.proc.pid, signal.SIGTERM)
                graceful = self.proc.wait(timeout=wait) == 0
            except (ProcessLookupError, subprocess.TimeoutExpired):
                pass
        self.kill()
        return graceful


def clients(port, connections, seconds, quota=math.inf, timeout=2.0):
    """`connections` connections to 127.0.0.1:port, each sending GET / one at a time (a new
    connection where the server closes one) for `seconds`, or until each has `quota` responses: the
    responses counted per connection (which wrk cannot count: bench/README.md), errors and timeouts
    (no response in `timeout` s). One thread and selectors, no thread per connection."""
    sel = selectors.DefaultSelector()
    counts, socks, bufs, since = [0] * connections, [None] * connections, [b""] * connections, [0.0] * connections
    tally = dict.fromkeys(("tcp_connections_opened", "replies_with_connection_close", "non_200", "errors",
                           "timeouts"), 0)

    def connect(i):
        s = socks[i] = socket.socket()
        s.setblocking(False)
        s.connect_ex(("127.0.0.1", port))  # writable once connected (or failed)
        bufs[i], since[i] = b"", time.monotonic()
        sel.register(s, selectors.EVENT_WRITE, i)

    def reconnect(i, why=None):
        sel.unregister(socks[i])
        socks[i].close()
        if why:
            tally[why] += 1
        if counts[i] < quota:
            connect(i)
        else:
            since[i] = math.inf  # done: no new connection for nothing

    def send(i):  # the next request, unless the connection has its quota (then it idles)
        if counts[i] < quota:
            socks[i].send(REQUEST)
            since[i] = time.monotonic()
        else:
            since[i] = math.inf

    def on_event(i, s, events):
        if events & selectors.EVENT_WRITE:
            if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR):
                raise ConnectionRefusedError
            tally["tcp_connections_opened"] += 1
            sel.modify(s, selectors.EVENT_READ, i)
            return send(i)
        data = s.recv(4096)
        if not data:
            raise EOFError  # closed by the server with a request unanswered
        data = bufs[i] = bufs[i] + data
        head_end = data.find(b"\r\n\r\n") + 4
        head = data[:head_end].lower()
        length = re.search(rb"\r\ncontent-length: *(\d+)", head)
        if head_end < 4 or len(data) < head_end + (int(length[1]) if length else 0):
            return  # the rest of the response is still to come
        counts[i] += 1
        tally["non_200"] += data[9:12] != b"200"
        if b"\r\nconnection: close" in head:
            tally["replies_with_connection_close"] += 1
            return reconnect(i)
        bufs[i] = b""
        send(i)

    for i in range(connections):
        connect(i)
    start = next_check = time.monotonic()
    while time.monotonic() < start + seconds and min(counts) < quota:
        for key, events in sel.select(0.05):
            try:
                on_event(key.data, key.fileobj, events)
            except (OSError, EOFError):
                reconnect(key.data, "errors")
        now = time.monotonic()
        if now >= next_check:  # every 0.1 s: a request unanswered for `timeout` s, a new connection
            next_check = now + 0.1
            for i in range(connections):
                if now - since[i] > timeout:
                    reconnect(i, "timeouts")
    elapsed = time.monotonic() - start
    for s in socks:
        s.close()
    sel.close()
    c = sorted(counts)
    return dict(tally, connections=connections, seconds=elapsed, responses=sum(c), requests_per_sec=sum(c) / elapsed,
                per_connection_min=c[0], per_connection_p1=c[len(c) // 100], per_connection_median=c[len(c) // 2],
                per_connection_max=c[-1], connections_with_no_response=c.count(0))


def package_kb(packages):
    """Installed size of the packages (those not installed count 0: dpkg-query names them on stderr)."""
    sizes = subprocess.run(["dpkg-query", "-W", "-f=${Installed-Size}\n", *packages], capture_output=True, text=True)
    return sum(int(kb) for kb in sizes.stdout.split() if kb.isdigit())


def build_of(binary, libc):
    """What a favorite-athlete binary runs: its cpp-httplib (from --version) and libc, and
    "+ mimalloc" where it links it."""
    v = subprocess.run([binary, "--version"], capture_output=True, text=True).stdout
    m = re.search(r"cpp-httplib ([^)\s]+)", v)
    with open(binary, "rb") as f:
        alloc = " + mimalloc" if b"mimalloc" in f.read() else ""
    return {"httplib": m.group(1) if m else "?", "libc": libc + alloc}


def contestants(args, workdir):
    """The specs of a run: args has binary, static_binary, musl_binary, go_server (paths or None),
    quick and peers (bools)."""
    specs = []
    for key, what, binary, libc, settings, size_note in SERVICE:
        path = getattr(args, binary)
        if path and not (args.quick and "THREADS" in settings):  # a quick run: default and log off
            build = build_of(path, libc)
            specs.append({"key": key, "argv": [path], "env": dict(BASE_ENV, **settings), "stdout_file": True,
                          "size_note": size_note, "callgrind": "THREADS" not in settings, **build,
                          "label": f"favorite-athlete, {what} [cpp-httplib {build['httplib']}, {build['libc']}]"})
    others = []
    nginx = shutil.which("nginx", path=os.environ["PATH"] + ":/usr/sbin")  # not on a user's PATH
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
        others.append({"key": "go", "label": "Go net/http", "argv": [args.go_server], "env": BASE_ENV,
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
        httplib = build_of(args.binary, "glibc")["httplib"]
        others += peers(workdir, httplib_dir_of(os.path.dirname(args.binary)), httplib)
    return specs + others


def httplib_dir_of(build):
    """The directory of the httplib.h a build directory's service was compiled with."""
    found = os.path.join(build, "_deps", "httplib-download")
    try:
        with open(os.path.join(build, "CMakeCache.txt")) as f:
            for line in f:
                if line.startswith("FETCHCONTENT_SOURCE_DIR_HTTPLIB:"):
                    found = line.split("=", 1)[1].strip() or found
    except OSError:
        pass
    return found


def peers(workdir, httplib_dir, httplib):
    """Compiles the PEERS into the work directory, one after another; the specs of those that built.
    The cpp-httplib ones against the header the service was built with (httplib_dir, version httplib)."""
    out = os.path.join(workdir, "peers")
    os.makedirs(out, exist_ok=True)
    specs = []
    for key, label, source, cmd, libs, package in PEERS:
        argv = [a.replace("@HTTPLIB@", httplib_dir) for a in cmd]
        argv += [os.path.join(HERE, "peers", source), "-o", os.path.join(out, key), *libs]
        built = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if built.returncode:  # httplib.h not found included: the compiler says so
            packages = " ".join(sorted({p[5] for p in PEERS if p[5]}))
            log(f"warning: peer {key} did not build (Debian packages: {packages}):\n{built.stderr[-2000:]}")
            continue
        note = f"Debian {package}, glibc" if package else f"cpp-httplib {httplib}, glibc"
        spec = {"key": key, "label": f"{label} [{note}]", "argv": [os.path.join(out, key)], "env": BASE_ENV,
                "libc": "glibc", "size_note": "dynamically linked, shared libraries not counted", "callgrind": True}
        specs.append(spec if package else dict(spec, httplib=httplib))
    return specs
