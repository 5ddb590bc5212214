#!/usr/bin/env python3
"""shim_1_20.py: the project's rendered manifests (stdin, multi-document YAML) made acceptable to
Kubernetes 1.20 (stdout), for the cluster tests only:
  kubectl kustomize DIR | tests/cluster/shim_1_20.py | kubectl apply -f -   (bin/kubectl's apply -k DIR)
The Namespace's pod-security.kubernetes.io/* labels stay: 1.20 has no Pod Security admission and
keeps them as plain labels (enforced from 1.23 on).

shim_1_20.py --check OVERLAY... (ctest cluster.shim) is the proof: it renders each overlay
(kubectl kustomize), shims it and compares both renders structurally. It fails on any difference
ALLOWED does not list, and on anything 1.20 does not serve left in the output; then it proves
the comparison can fail (one more change, a dropped readinessProbe, must be reported)."""
import copy
import shutil
import subprocess
import sys

import yaml


def shim(doc):
    """policy/v1 is served from 1.21 and autoscaling/v2 from 1.23 (v2beta2 has the same schema);
    unhealthyPodEvictionPolicy is a 1.26+ field, topologySpreadConstraints' matchLabelKeys 1.25+."""
    kind = doc.get("kind")
    if kind == "PodDisruptionBudget" and doc["apiVersion"] == "policy/v1":
        doc["apiVersion"] = "policy/v1beta1"
        doc["spec"].pop("unhealthyPodEvictionPolicy", None)
    if kind == "HorizontalPodAutoscaler" and doc["apiVersion"] == "autoscaling/v2":
        doc["apiVersion"] = "autoscaling/v2beta2"
    for constraint in doc.get("spec", {}).get("template", {}).get("spec", {}).get("topologySpreadConstraints", []):
        constraint.pop("matchLabelKeys", None)
    return doc


# ---- --check -----------------------------------------------------------------------------------
# (kind, path with list indexes as "*", change): every change the shim may make, written apart
# from shim() so that --check compares the code with this list.
ALLOWED = {
    ("PodDisruptionBudget", "apiVersion", "policy/v1 -> policy/v1beta1"),
    ("PodDisruptionBudget", "spec.unhealthyPodEvictionPolicy", "dropped"),
    ("HorizontalPodAutoscaler", "apiVersion", "autoscaling/v2 -> autoscaling/v2beta2"),
    ("Deployment", "spec.template.spec.topologySpreadConstraints.*.matchLabelKeys.*", "dropped"),
}
# What Kubernetes 1.20 does not serve (apiVersions, field names): a change the shim misses is no
# difference at all, so this finds it.
NOT_IN_1_20 = {"policy/v1", "autoscaling/v2", "unhealthyPodEvictionPolicy", "matchLabelKeys"}


def leaves(node, path=""):
    """Yields (path, value) for every scalar, empty dict and empty list in node, the path dotted
    ("spec.template.spec.containers.0.name"). Both checks below walk a document this way."""
    if isinstance(node, (dict, list)) and node:
        for k, v in node.items() if isinstance(node, dict) else enumerate(node):
            yield from leaves(v, f"{path}.{k}" if path else str(k))
    else:
        yield path, node


def violations(before, after):
    """The differences between two renders (lists of documents, in the same order) ALLOWED does not
    list, and the allowed ones seen."""
    if len(before) != len(after):
        return [f"{len(before)} documents became {len(after)}"], set()
    bad, seen = [], set()
    for b, a in zip(before, after):
        kind, name = b.get("kind"), b.get("metadata", {}).get("name")
        old, new = dict(leaves(b)), dict(leaves(a))
        for path in sorted(old.keys() | new.keys()):
            if path not in new:
                change = "dropped"
            elif path not in old:
                change = f"added {new[path]!r}"
            elif old[path] != new[path]:
                change = f"{old[path]} -> {new[path]}"
            else:
                continue
            generic = ".".join("*" if part.isdigit() else part for part in path.split("."))
            if (kind, generic, change) in ALLOWED:
                seen.add(f"{kind} {generic} {change}")
            else:
                bad.append(f"{kind}/{name}: {path}: {change}")
    return bad, seen


def left_in(doc):
    """Where a shimmed document still has an apiVersion or a field 1.20 does not serve."""
    return [path for path, value in leaves(doc) if NOT_IN_1_20 & set(path.split("."))
            or (path.split(".")[-1] == "apiVersion" and value in NOT_IN_1_20)]


def check(overlays):
    if not shutil.which("kubectl"):  # ctest: exit 77 is a skip
        print("SKIP: kubectl not found (it renders the manifests with its kustomize)")
        return 77
    failed = False
    for overlay in overlays:
        text = subprocess.run(["kubectl", "kustomize", overlay], check=True, capture_output=True, text=True).stdout
        before = [d for d in yaml.safe_load_all(text) if d]
        out = subprocess.run([__file__], input=text, check=True, capture_output=True, text=True).stdout
        after = [d for d in yaml.safe_load_all(out) if d]
        bad, seen = violations(before, after)
        missing = [f"{d.get('kind')}: {m}" for d in after for m in left_in(d)]
        print(f"{overlay}: {len(before)} documents; shim changes: {sorted(seen)}")
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


def main():
    if sys.argv[1:2] == ["--check"]:
        return check(sys.argv[2:])
    docs = [shim(d) for d in yaml.safe_load_all(sys.stdin) if d is not None]
    yaml.safe_dump_all(docs, sys.stdout, sort_keys=False, default_flow_style=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
