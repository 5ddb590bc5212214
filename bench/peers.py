"""The C++ servers a user would pick instead of this service, as data: one small source file each
under bench/peers/, built from Debian's packages (the cpp-httplib ones against the same httplib.h
the service got), each answering GET / with the service's body and Content-Type on one thread,
keep-alive. build() compiles them into the work directory; specs() gives their contestant specs.
"""
import os
import re
import subprocess

HERE = os.path.dirname(os.path.abspath(__file__))
CXX = ["g++", "-std=c++17", "-O2", "-pthread"]

# key, label, source, compile command (before -o), libraries, Debian packages, uses cpp-httplib
PEERS = [
    ("h2o", "h2o's library (libh2o-evloop), C handler", "h2o.c", ["gcc", "-O2", "-DH2O_USE_LIBUV=0"],
     ["-lh2o-evloop"], "libh2o-evloop-dev", False),
    ("restinio", "RESTinio (Boost.Asio, one thread)", "restinio.cpp", CXX + ["-DRESTINIO_USE_BOOST_ASIO"],
     ["-lhttp_parser", "-lfmt"], "librestinio-dev", False),
    ("beast", "Boost.Beast, async (one io_context)", "beast_async.cpp", CXX, [], "libboost1.81-dev", False),
    ("httplib_readme", "cpp-httplib as its README shows it", "httplib_readme.cpp", CXX + ["-I@HTTPLIB@"], [],
     None, True),
    ("httplib_nodelay", "cpp-httplib as its README shows it + TCP_NODELAY", "httplib_readme.cpp",
     CXX + ["-I@HTTPLIB@", "-DCPPHTTPLIB_TCP_NODELAY=true"], [], None, True),
]
PACKAGES = sorted({p[5] for p in PEERS if p[5]})


def httplib_version(httplib_dir):
    with open(os.path.join(httplib_dir, "httplib.h")) as f:
        m = re.search(r'#define CPPHTTPLIB_VERSION "([^"]+)"', f.read())
    return m.group(1) if m else "?"


def build(workdir, httplib_dir, log):
    """Compiles every peer (in parallel); returns {key: binary} for those that built."""
    out = os.path.join(workdir, "peers")
    os.makedirs(out, exist_ok=True)
    jobs = {}
    for key, _, source, cmd, libs, _, uses_httplib in PEERS:
        if uses_httplib and not httplib_dir:
            continue
        argv = [a.replace("@HTTPLIB@", httplib_dir or "") for a in cmd]
        argv += [os.path.join(HERE, "peers", source), "-o", os.path.join(out, key), *libs]
        jobs[key] = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    built = {}
    for key, proc in jobs.items():
        err = proc.communicate()[1]
        if proc.returncode == 0:
            built[key] = os.path.join(out, key)
        else:
            log(f"warning: peer {key} did not build (Debian packages: {' '.join(PACKAGES)}):\n{err[-2000:]}")
    return built


def specs(built, base_env, httplib_dir):
    """The contestant specs (bench/servers.py) for the peers that built."""
    version = httplib_version(httplib_dir) if httplib_dir else "?"
    out = []
    for key, label, _, _, _, package, uses_httplib in PEERS:
        if key not in built:
            continue
        note = f"cpp-httplib {version}, glibc" if uses_httplib else f"Debian {package}, glibc"
        spec = {"key": key, "label": f"{label} [{note}]", "argv": [built[key]], "env": base_env, "libc": "glibc",
                "size_note": "dynamically linked, shared libraries not counted", "callgrind": True}
        out.append(dict(spec, httplib=version) if uses_httplib else spec)
    return out
