#!/usr/bin/env python3
"""shim_check.py SHIM OVERLAY...: renders each kustomize OVERLAY (kubectl kustomize), pipes it
through SHIM and compares both renders structurally. Fails if SHIM changes anything but the
version differences it is allowed to change (see tests/cluster/shim_1_20.py), or if it does not make
them. Then proves the comparison can fail: a render with one more change must be rejected."""
import copy
import os
import shutil
import subprocess
import sys

import yaml

# (kind, path, change): the only differences the shim may make. "*" matches any list index.
ALLOWED = {
    ("PodDisruptionBudget", "apiVersion", "policy/v1 -> policy/v1beta1"),
    ("PodDisruptionBudget", "spec.unhealthyPodEvictionPolicy", "dropped"),
    ("HorizontalPodAutoscaler", "apiVersion", "autoscaling/v2 -> autoscaling/v2beta2"),
    ("Deployment", "spec.template.spec.topologySpreadConstraints.*.matchLabelKeys", "dropped"),
}


def diff(a, b, path=""):
    """Yields (path, change) for every difference between a and b."""
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b), key=str):
            p = f"{path}.{k}" if path else str(k)
            if k not in b:
                yield p, "dropped"
            elif k not in a:
                yield p, f"added {b[k]!r}"
            else:
                yield from diff(a[k], b[k], p)
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b)):
            yield from diff(x, y, f"{path}.{i}")
    elif a != b:
        yield path, f"{a} -> {b}" if not isinstance(a, (dict, list)) else f"changed to {b!r}"


def key(doc):
    return (doc.get("kind"), doc.get("metadata", {}).get("namespace"), doc.get("metadata", {}).get("name"))


def generic(path):
    return ".".join("*" if part.isdigit() else part for part in path.split("."))


def violations(before, after):
    """The differences between two renders (lists of documents) that ALLOWED does not list."""
    bad, seen = [], set()
    b, a = {key(d): d for d in before}, {key(d): d for d in after}
    for k in sorted(set(b) | set(a), key=str):
        if k not in a or k not in b:
            bad.append(f"{k}: document {'dropped' if k not in a else 'added'}")
            continue
        for path, change in diff(b[k], a[k]):
            if (k[0], generic(path), change) in ALLOWED:
                seen.add((k[0], generic(path), change))
            else:
                bad.append(f"{k[0]}/{k[2]}: {path}: {change}")
    return bad, seen


def not_for_120(docs):
    """What the shimmed render still has that Kubernetes 1.20 does not serve."""
    found = []
    for d in docs:
        kind, api = d.get("kind"), d.get("apiVersion")
        if (kind, api) in {("PodDisruptionBudget", "policy/v1"), ("HorizontalPodAutoscaler", "autoscaling/v2")}:
            found.append(f"{kind} {api}")
        if kind == "PodDisruptionBudget" and "unhealthyPodEvictionPolicy" in d.get("spec", {}):
            found.append("PodDisruptionBudget spec.unhealthyPodEvictionPolicy")
        pod = d.get("spec", {}).get("template", {}).get("spec", {})
        if any("matchLabelKeys" in c for c in pod.get("topologySpreadConstraints", [])):
            found.append(f"{kind} topologySpreadConstraints[].matchLabelKeys")
    return found


def render(overlay):
    return subprocess.run(["kubectl", "kustomize", overlay], check=True, capture_output=True, text=True).stdout


def main():
    shim, overlays = sys.argv[1], sys.argv[2:]
    if not shutil.which("kubectl"):  # ctest: exit 77 is a skip; a failure under FA_TESTS_NO_SKIP=1
        print("SKIP: kubectl not found (it renders the manifests with its kustomize)")
        return 1 if os.environ.get("FA_TESTS_NO_SKIP") == "1" else 77
    failed = False
    for overlay in overlays:
        text = render(overlay)
        before = [d for d in yaml.safe_load_all(text) if d]
        out = subprocess.run([shim], input=text, check=True, capture_output=True, text=True).stdout
        after = [d for d in yaml.safe_load_all(out) if d]
        bad, seen = violations(before, after)
        missing = not_for_120(after)
        print(f"{overlay}: {len(before)} documents; shim changes: {sorted(c[0] + ' ' + c[1] + ' ' + c[2] for c in seen)}")
        for v in bad:
            print(f"  NOT ALLOWED: {v}")
        for m in missing:
            print(f"  LEFT IN (1.20 does not serve it): {m}")
        failed |= bool(bad or missing)
        # The comparison must see an extra change: drop the readiness probe on top of the shim.
        tampered = copy.deepcopy(after)
        for d in tampered:
            if d["kind"] == "Deployment":
                d["spec"]["template"]["spec"]["containers"][0].pop("readinessProbe")
        if not violations(before, tampered)[0]:
            print("  SELF-TEST FAILED: a dropped readinessProbe was not reported")
            failed = True
    print("FAIL" if failed else "ok: the shim changes only the listed 1.20 differences")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
