"""deploy/k3s builds with `kubectl kustomize`, every object validates against the Kubernetes schema
(kubernetes-validate, strict: unknown fields are errors), selectors match their pods, and the least-privilege and
network rules the README promises are in the objects."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
K8S_VERSION = "1.31.0"


@pytest.fixture(scope="module")
def objects() -> list[dict[str, Any]]:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.fail("kubectl is needed (scripts/install-system.sh installs it)")
    built = subprocess.run([kubectl, "kustomize", str(ROOT / "deploy" / "k3s")], capture_output=True, text=True)
    assert built.returncode == 0, built.stderr
    return [o for o in yaml.safe_load_all(built.stdout) if o]


def by_kind(objects: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: o for o in objects if o["kind"] == kind}


def test_every_object_validates_against_the_schema(objects: list[dict[str, Any]]) -> None:
    assert len(objects) >= 15
    for obj in objects:
        kubernetes_validate.validate(obj, K8S_VERSION, strict=True)


def test_workload_selectors_match_their_pods_and_services_find_them(objects: list[dict[str, Any]]) -> None:
    workloads = {**by_kind(objects, "Deployment"), **by_kind(objects, "StatefulSet")}
    assert set(workloads) == {"web", "ray-head", "sandbox-worker", "redis", "postgres"}
    for name, workload in workloads.items():
        selector = workload["spec"]["selector"]["matchLabels"]
        labels = workload["spec"]["template"]["metadata"]["labels"]
        assert selector.items() <= labels.items(), name
    pods = {name: w["spec"]["template"]["metadata"]["labels"] for name, w in workloads.items()}
    for name, service in by_kind(objects, "Service").items():
        matched = [p for p, labels in pods.items() if service["spec"]["selector"].items() <= labels.items()]
        assert matched == [name], (name, matched)
    hpa = by_kind(objects, "HorizontalPodAutoscaler")["sandbox-worker"]
    assert hpa["spec"]["scaleTargetRef"]["name"] in workloads
    backend = by_kind(objects, "Ingress")["classroom"]["spec"]["rules"][0]["http"]["paths"][0]["backend"]
    assert backend["service"]["name"] == "web"


def test_network_policies_select_pods_and_keep_workers_to_ray_peers(objects: list[dict[str, Any]]) -> None:
    workloads = {**by_kind(objects, "Deployment"), **by_kind(objects, "StatefulSet")}
    pods = {name: w["spec"]["template"]["metadata"]["labels"] for name, w in workloads.items()}
    policies = by_kind(objects, "NetworkPolicy")
    for name, policy in policies.items():
        selector = policy["spec"]["podSelector"].get("matchLabels", {})
        assert any(selector.items() <= labels.items() for labels in pods.values()), name
    ray_peers = {p for p, labels in pods.items() if labels.get("ray-node") == "true"}
    assert ray_peers == {"web", "ray-head", "sandbox-worker"}
    worker = policies["sandbox-worker"]["spec"]
    assert {"Ingress", "Egress"} <= set(worker["policyTypes"])
    for rule in worker["egress"]:
        for peer in rule["to"]:
            # no ipBlock (no internet), only Ray nodes of this deployment (kustomize adds the part-of label)
            assert set(peer) == {"podSelector"}
            assert (
                peer["podSelector"]["matchLabels"].items()
                <= {"ray-node": "true", "app.kubernetes.io/part-of": "classroom"}.items()
            )
            assert peer["podSelector"]["matchLabels"].get("ray-node") == "true"
        assert all(not (p["port"] <= 8000 <= p.get("endPort", p["port"])) for p in rule["ports"])  # not HTTP
    dns = policies["dns"]["spec"]["egress"][0]["ports"]
    assert {p["port"] for p in dns} == {53}
    assert "default-deny" in policies and policies["default-deny"]["spec"]["podSelector"] == {}


def test_least_privilege_per_pod(objects: list[dict[str, Any]]) -> None:
    workloads = {**by_kind(objects, "Deployment"), **by_kind(objects, "StatefulSet")}
    for name, workload in workloads.items():
        spec = workload["spec"]["template"]["spec"]
        assert spec.get("automountServiceAccountToken") is False, name
        for container in spec["containers"]:
            context = container["securityContext"]
            assert context["allowPrivilegeEscalation"] is False and context.get("privileged") is not True, name
            added = context["capabilities"].get("add", [])
            assert context["capabilities"]["drop"] == ["ALL"], name
            if name == "sandbox-worker":
                assert added == ["SYS_ADMIN"]  # bubblewrap's namespaces and mounts; nothing else
            else:
                assert added == [] and spec["securityContext"]["runAsNonRoot"] is True, name
    web = workloads["web"]["spec"]["template"]["spec"]["containers"][0]
    assert web["readinessProbe"]["httpGet"]["path"] == "/readyz"
    config = by_kind(objects, "ConfigMap")["classroom-config"]["data"]
    assert config["CLASSROOM_EXECUTION"] == "cluster" and config["CLASSROOM_RAY_ADDRESS"] == "ray-head:6379"


def test_ingress_keeps_websockets_open_and_rooms_sticky(objects: list[dict[str, Any]]) -> None:
    annotations = by_kind(objects, "Ingress")["classroom"]["metadata"]["annotations"]
    assert int(annotations["nginx.ingress.kubernetes.io/proxy-read-timeout"]) >= 3600
    assert int(annotations["nginx.ingress.kubernetes.io/proxy-send-timeout"]) >= 3600
    assert annotations["nginx.ingress.kubernetes.io/upstream-hash-by"] == "$uri"
