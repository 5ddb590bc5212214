"""docker-compose.yml, checked offline (this project's CI has no Docker engine, so `docker compose
config`/`up` cannot run): valid for Debian's docker-compose (`docker-compose config`, which needs
no engine), three hardened replicas of the image with healthchecks, and nginx fed the same template
as the other e2e tests' nginx, which the real nginx accepts once rendered with the compose file's
values.

Needs Debian's python3-yaml, docker-compose and nginx (exit 77 without them).
"""
import os
import re
import shutil
import subprocess
import tempfile
import unittest

from stack import HOST, PATH, ROOT, TEMPLATE, render_template, require, skip, write_nginx_config

try:
    import yaml
except ImportError as e:
    skip(f"{e.name} missing (Debian package python3-yaml)")
# Here, not in a test: unittest reports a test's sys.exit(77) as an error, not a skip.
require("docker-compose", "docker-compose")
require("nginx", "nginx")

COMPOSE = os.path.join(ROOT, "docker-compose.yml")
REPLICAS = ["favorite-athlete-1", "favorite-athlete-2", "favorite-athlete-3"]


def config(path):
    """`docker-compose config` of path: Debian's docker-compose validates the file against its
    Compose schema and resolves it (variables with their defaults, paths), with no Docker engine."""
    return subprocess.run([shutil.which("docker-compose", path=PATH), "-f", path, "--project-directory", ROOT, "config"],
                          capture_output=True, text=True, timeout=60, env={"PATH": PATH})


class ComposeFile(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        res = config(COMPOSE)
        assert res.returncode == 0, res.stderr
        cls.services = yaml.safe_load(res.stdout)["services"]

    def test_docker_compose_refuses_an_unknown_key(self):
        # The check above does catch mistakes.
        with open(COMPOSE) as f:
            text = f.read()
        with tempfile.NamedTemporaryFile("w", suffix=".yml", dir="/tmp", prefix="e2e-") as broken:
            broken.write(text.replace("cap_drop:", "cap_dorp:", 1))
            broken.flush()
            self.assertNotEqual(config(broken.name).returncode, 0)

    def test_three_replicas_of_the_image_hardened_with_healthchecks(self):
        self.assertEqual(sorted(self.services), sorted(REPLICAS + ["nginx"]))
        for name in REPLICAS:
            with self.subTest(service=name):
                s = self.services[name]
                self.assertEqual(s["image"], "favorite-athlete:local")
                self.assertEqual(s["build"]["context"], ROOT)  # "." resolved
                self.assertTrue(os.path.isfile(os.path.join(ROOT, s["build"]["dockerfile"])), s["build"])
                self.assertEqual(s["healthcheck"]["test"],
                                 ["CMD", "/favorite-athlete", "--check", "http://127.0.0.1:8080/healthz"])
                self.assertEqual(s["user"], "65532:65532")
                self.assertIs(s["read_only"], True)
                self.assertEqual(s["cap_drop"], ["ALL"])
                self.assertIn("no-new-privileges:true", s["security_opt"])
                self.assertNotIn("ports", s, "replicas are reached through nginx only")
                env = s["environment"]
                self.assertEqual(env["PORT"], "8080")
                # /metrics only on its own port, which nginx never proxies to.
                self.assertNotIn(env["METRICS_PORT"], ("8080", "off"))
                self.assertEqual(env["BIND_ADDRESS"], "0.0.0.0")
                grace = int(s["stop_grace_period"].rstrip("s"))
                self.assertGreater(grace, int(env["DRAIN_SECONDS"]) + int(env["SHUTDOWN_TIMEOUT_SECONDS"]))
                self.assertEqual(s.get("stop_signal", "SIGTERM"), "SIGTERM")

    def test_nginx_pinned_waits_for_healthy_replicas_and_is_hardened(self):
        s = self.services["nginx"]
        self.assertRegex(s["image"], r"^nginx:\d+\.\d+\.\d+-alpine(-slim)?(@sha256:[0-9a-f]{64})?$")
        self.assertEqual(s["depends_on"], {name: {"condition": "service_healthy"} for name in REPLICAS})
        self.assertEqual(s["ports"], ["127.0.0.1:8088:8080/tcp"])  # "127.0.0.1:8088:8080" resolved
        self.assertEqual(s["user"], "101:101")
        self.assertIs(s["read_only"], True)
        self.assertEqual(s["cap_drop"], ["ALL"])
        for path in ("/etc/nginx/conf.d", "/var/cache/nginx", "/run"):
            self.assertTrue(any(t.split(":")[0] == path for t in s["tmpfs"]), path)

    def test_nginx_gets_the_one_shared_template(self):
        s = self.services["nginx"]
        [mount] = s["volumes"]
        self.assertEqual((mount["type"], mount["target"], mount["read_only"]), ("bind", "/etc/nginx/templates", True))
        self.assertEqual(os.path.realpath(os.path.join(ROOT, mount["source"])), os.path.dirname(TEMPLATE))
        self.assertEqual(sorted(os.listdir(os.path.dirname(TEMPLATE))), ["favorite-athlete.conf.template"])
        env = s["environment"]
        self.assertEqual(env["NGINX_ENVSUBST_FILTER"], "^FA_")
        # Each replica's PORT (8080), never its METRICS_PORT (not 8080: the replicas' test).
        self.assertEqual([env[f"FA_UPSTREAM_{i}"] for i in (1, 2, 3)], [f"{name}:8080" for name in REPLICAS])
        self.assertEqual(env["FA_HOST"], HOST)
        with open(TEMPLATE) as f:
            used = set(re.findall(r"\$\{(FA_[A-Z0-9_]+)\}", f.read()))
        self.assertEqual(used, {k for k in env if k.startswith("FA_")}, "template and compose disagree")

    def test_the_rendered_template_passes_nginx_t(self):
        env = dict(self.services["nginx"]["environment"])
        # Replica names resolve only inside compose's network; nginx -t resolves upstream hosts.
        for i in (1, 2, 3):
            env[f"FA_UPSTREAM_{i}"] = f"127.0.0.1:{18080 + i}"
        rendered = render_template(env)
        self.assertNotRegex(rendered, r"\$\{?FA_")
        with tempfile.TemporaryDirectory(prefix="e2e-", dir="/tmp") as tmp:
            conf = write_nginx_config(tmp, env)
            res = subprocess.run(["nginx", "-t", "-p", tmp, "-c", conf, "-e", "stderr"],
                                 capture_output=True, text=True, timeout=30, env=dict(os.environ, PATH=PATH))
            self.assertEqual(res.returncode, 0, res.stderr)


if __name__ == "__main__":
    unittest.main()
