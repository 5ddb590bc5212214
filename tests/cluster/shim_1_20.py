#!/usr/bin/env python3
"""shim_1_20.py: the project's rendered manifests (stdin, multi-document YAML) made acceptable to
Kubernetes 1.20 (stdout), for the cluster tests only. It changes exactly these, and nothing else
(tests/cluster/shim_check.py fails on any other difference):

  PodDisruptionBudget      policy/v1 -> policy/v1beta1 (policy/v1 is served from 1.21);
                           spec.unhealthyPodEvictionPolicy dropped (a 1.26+ field)
  HorizontalPodAutoscaler  autoscaling/v2 -> autoscaling/v2beta2 (v2 is served from 1.23;
                           same schema)
  pod templates            topologySpreadConstraints[].matchLabelKeys dropped (a 1.25+ field)

The Namespace's pod-security.kubernetes.io/* labels stay: 1.20 has no Pod Security admission
and keeps them as plain labels (enforced from 1.23 on).
Usage: kubectl kustomize manifests/overlays/minikube | tests/cluster/shim_1_20.py | kubectl apply -f -
"""
import sys

import yaml

WORKLOADS = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"}


def shim(doc):
    kind, api = doc.get("kind"), doc.get("apiVersion")
    if kind == "PodDisruptionBudget" and api == "policy/v1":
        doc["apiVersion"] = "policy/v1beta1"
        doc.get("spec", {}).pop("unhealthyPodEvictionPolicy", None)
    elif kind == "HorizontalPodAutoscaler" and api == "autoscaling/v2":
        doc["apiVersion"] = "autoscaling/v2beta2"
    elif kind in WORKLOADS:
        pod = doc.get("spec", {}).get("template", {}).get("spec", {})
        for constraint in pod.get("topologySpreadConstraints", []):
            constraint.pop("matchLabelKeys", None)
    return doc


def main():
    docs = [shim(d) for d in yaml.safe_load_all(sys.stdin) if d is not None]
    yaml.safe_dump_all(docs, sys.stdout, sort_keys=False, default_flow_style=False)


if __name__ == "__main__":
    main()
