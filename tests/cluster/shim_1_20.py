#!/usr/bin/env python3
"""shim_1_20.py: the project's rendered manifests (stdin, multi-document YAML) made acceptable to
Kubernetes 1.20 (stdout), for the cluster tests only:
  kubectl kustomize DIR | tests/cluster/shim_1_20.py | kubectl apply -f -   (bin/kubectl's apply -k DIR)
The Namespace's pod-security.kubernetes.io/* labels stay: 1.20 has no Pod Security admission and
keeps them as plain labels (enforced from 1.23 on).

shim_1_20.py --check OVERLAY... (ctest cluster.shim) is the proof: it renders each overlay
(kubectl kustomize), shims it and compares both renders structurally. It fails on any difference
ALLOWED does not list, and where a path ALLOWED lists does not have its 1.20 value (1.20 would not
serve it); then it proves the comparison can fail (one more change, a dropped readinessProbe,
must be reported)."""
import copy
import difflib
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
# Every change the shim may make, written apart from shim() so that --check compares the code with
# this list: (kind, dotted path, "*" for every item of a list) -> what 1.20 gets there.
DROPPED = "(dropped)"
ALLOWED = {
    ("PodDisruptionBudget", "apiVersion"): "policy/v1beta1",
    ("PodDisruptionBudget", "spec.unhealthyPodEvictionPolicy"): DROPPED,
    ("HorizontalPodAutoscaler", "apiVersion"): "autoscaling/v2beta2",
    ("Deployment", "spec.template.spec.topologySpreadConstraints.*.matchLabelKeys"): DROPPED,
}


def pop(doc, path):
    """Removes path from doc; returns what was there, DROPPED where it was absent."""
    *parents, last = path.split(".")
    nodes = [doc]
    for key in parents:
        nodes = [c for n in nodes for c in (n if key == "*" else [n.get(key)]) if c is not None]
    return [n.pop(last, DROPPED) for n in nodes]


def violations(before, after):
    """What the shim changed in a render (lists of documents, in the same order) but ALLOWED, and an
    ALLOWED path that did not get its value: 1.20 would not serve what is left."""
    if len(before) != len(after):
        return [f"{len(before)} documents became {len(after)}"]
    bad = []
    for b, a in zip(copy.deepcopy(before), copy.deepcopy(after)):
        kind, name = b.get("kind"), b.get("metadata", {}).get("name")
        for (allowed_kind, path), want in ALLOWED.items():
            if kind == allowed_kind:
                pop(b, path)
                bad += [f"{kind}/{name}: {path} is {got!r}, want {want!r}" for got in pop(a, path) if got != want]
        if a != b:
            diff = difflib.unified_diff(yaml.safe_dump(b).splitlines(), yaml.safe_dump(a).splitlines(), "rendered", "shimmed", lineterm="")
            bad.append(f"{kind}/{name}: NOT ALLOWED:\n" + "\n".join(diff))
    return bad


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
        bad = violations(before, after)
        print(f"{overlay}: {len(before)} documents, changed {'as ALLOWED' if not bad else 'otherwise:'}")
        for v in bad:
            print(f"  {v}")
        failed |= bool(bad)
        # The comparison must see an extra change: drop the readiness probe on top of the shim.
        tampered = copy.deepcopy(after)
        for d in tampered:
            if d["kind"] == "Deployment":
                d["spec"]["template"]["spec"]["containers"][0].pop("readinessProbe")
        if not violations(before, tampered):
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
