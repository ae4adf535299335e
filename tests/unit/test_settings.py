"""The one settings class: every variable read from the environment, bad values refused at
start naming the variable and what to do, and `enroll config show` with secrets masked."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from temporalio.service import TLSConfig

from workflows.client import connect_options
from workflows.converter import KeyRing
from workflows.runtime import engine_runtime
from workflows.settings import Settings, SettingsError, env_name, load_settings

ENROLL = [sys.executable, "-m", "cli"]


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith(("ENROLL_", "TEMPORAL_")):
            monkeypatch.delenv(name)


def test_every_field_reads_its_documented_variable(monkeypatch: pytest.MonkeyPatch, tmp_path):
    cert, key, keys_file = tmp_path / "c.pem", tmp_path / "k.pem", tmp_path / "keys.json"
    for path in (cert, key):
        path.write_text("pem")
    keys_file.write_text('{"k": {"actor": "a", "role": "operator"}}')
    values = {
        "TEMPORAL_ADDRESS": "temporal.example.com:7233",
        "ENROLL_TASK_QUEUE": "q",
        "ENROLL_TEMPORAL_TLS_CERT": str(cert),
        "ENROLL_TEMPORAL_TLS_KEY": str(key),
        "ENROLL_API_KEYS_FILE": str(keys_file),
        "ENROLL_ORGANIZATION_TIME_ZONES": '{"sunrise": "America/Chicago"}',
        "ENROLL_WORKER_SHUTDOWN_GRACE_SECONDS": "12.5",
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    settings = load_settings()
    assert settings.temporal_address == "temporal.example.com:7233"
    assert settings.task_queue == "q"
    assert settings.temporal_tls_cert == cert and settings.temporal_tls_key == key
    # The keys file is read at start into the one place api/auth.py parses.
    assert settings.api_keys == keys_file.read_text()
    assert settings.time_zone_for("sunrise") == "America/Chicago"
    assert settings.time_zone_for("other") == "America/New_York"
    assert settings.worker_shutdown_grace_seconds == 12.5


def test_env_names_follow_the_prefix_and_the_temporal_cli():
    assert env_name("task_queue") == "ENROLL_TASK_QUEUE"
    assert env_name("temporal_address") == "TEMPORAL_ADDRESS"
    assert env_name("temporal_api_key") == "TEMPORAL_API_KEY"


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        (
            "TEMPORAL_ADDRESS",
            "temporal.example.com",
            "TEMPORAL_ADDRESS: 'temporal.example.com' is not host:port",
        ),
        ("ENROLL_DATABASE_URL", "mysql://x/y", "ENROLL_DATABASE_URL: is not a database URL"),
        ("ENROLL_PAYLOAD_KEYS", "nokey", "ENROLL_PAYLOAD_KEYS: "),
        (
            "ENROLL_DEFAULT_TIME_ZONE",
            "Mars/Olympus",
            "ENROLL_DEFAULT_TIME_ZONE: 'Mars/Olympus' is not an IANA",
        ),
        (
            "ENROLL_ORGANIZATION_TIME_ZONES",
            '{"a": "EST5"}',
            "ENROLL_ORGANIZATION_TIME_ZONES: organisation 'a'",
        ),
        (
            "ENROLL_ORGANIZATION_TIME_ZONES",
            "{oops",
            "ENROLL_ORGANIZATION_TIME_ZONES: is not valid JSON",
        ),
        ("ENROLL_LOG_LEVEL", "LOUD", "ENROLL_LOG_LEVEL: 'LOUD' is not a level"),
        (
            "ENROLL_WORKER_SHUTDOWN_GRACE_SECONDS",
            "-1",
            "ENROLL_WORKER_SHUTDOWN_GRACE_SECONDS: is negative",
        ),
        (
            "ENROLL_TEMPORAL_TLS_CA",
            "/nonexistent/ca.pem",
            "ENROLL_TEMPORAL_TLS_CA: /nonexistent/ca.pem is not",
        ),
        ("ENROLL_TASK_QUEUE", " ", "ENROLL_TASK_QUEUE: is empty"),
    ],
)
def test_a_bad_value_names_the_variable_and_what_to_do(monkeypatch, name, value, says):
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as refused:
        load_settings()
    assert says in str(refused.value)


def test_half_an_mtls_pair_names_the_missing_half(monkeypatch, tmp_path):
    cert = tmp_path / "c.pem"
    cert.write_text("pem")
    monkeypatch.setenv("ENROLL_TEMPORAL_TLS_CERT", str(cert))
    with pytest.raises(SettingsError, match=r"^ENROLL_TEMPORAL_TLS_KEY: mTLS needs both"):
        load_settings()


def test_two_sources_of_api_keys_are_refused(monkeypatch, tmp_path):
    keys_file = tmp_path / "keys.json"
    keys_file.write_text("{}")
    monkeypatch.setenv("ENROLL_API_KEYS_FILE", str(keys_file))
    monkeypatch.setenv("ENROLL_API_KEYS", "{}")
    with pytest.raises(SettingsError, match=r"^ENROLL_API_KEYS_FILE: ENROLL_API_KEYS is set too"):
        load_settings()


def test_a_bad_payload_key_is_never_echoed(monkeypatch):
    secret = "k1:" + "A" * 10
    monkeypatch.setenv("ENROLL_PAYLOAD_KEYS", secret)
    with pytest.raises(SettingsError) as refused:
        load_settings()
    assert "A" * 10 not in str(refused.value)


def test_connect_options_carry_tls_and_the_api_key(tmp_path):
    cert, key, ca = tmp_path / "c.pem", tmp_path / "k.pem", tmp_path / "ca.pem"
    cert.write_bytes(b"CERT")
    key.write_bytes(b"KEY")
    ca.write_bytes(b"CA")
    plain = connect_options(Settings())
    assert plain["tls"] is False and plain["api_key"] is None
    # Every client (so every worker) is on the runtime that forwards core's logs to logging
    # instead of writing them to stdout (workflows/runtime.py, issue 22).
    assert plain["runtime"] is engine_runtime()
    cloud = connect_options(Settings(temporal_api_key="cloud-key"))
    # Temporal Cloud takes API keys over TLS only.
    assert cloud["tls"] is True and cloud["api_key"] == "cloud-key"
    mtls = connect_options(
        Settings(
            temporal_tls_cert=cert,
            temporal_tls_key=key,
            temporal_tls_ca=ca,
            temporal_tls_server_name="temporal.internal",
        )
    )
    assert mtls["tls"] == TLSConfig(
        client_cert=b"CERT",
        client_private_key=b"KEY",
        server_root_ca_cert=b"CA",
        domain="temporal.internal",
    )


def _config_show(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("ENROLL_", "TEMPORAL_"))}
    return subprocess.run(
        [*ENROLL, "config", "show", *args],
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_config_show_masks_every_secret(tmp_path):
    payload = KeyRing.generate("k1").to_config()
    api_keys = json.dumps({"operator-key-" + "x" * 24: {"actor": "a", "role": "operator"}})
    shown = _config_show(
        {
            "ENROLL_PAYLOAD_KEYS": payload,
            "ENROLL_API_KEYS": api_keys,
            "TEMPORAL_API_KEY": "cloud-secret-key",
            "ENROLL_DATABASE_URL": "postgresql+psycopg://enroll:db-password@db:5432/enroll",
            "ENROLL_TASK_QUEUE": "enrollment-prod",
        },
        "--json",
    )
    assert shown.returncode == 0, shown.stderr
    config = json.loads(shown.stdout)
    for secret in (payload.split(":")[1], "operator-key", "cloud-secret-key", "db-password"):
        assert secret not in shown.stdout
    assert config["ENROLL_PAYLOAD_KEYS"] == "****"
    assert config["ENROLL_API_KEYS"] == "****"
    assert config["TEMPORAL_API_KEY"] == "****"
    assert config["ENROLL_DATABASE_URL"] == "postgresql+psycopg://enroll:***@db:5432/enroll"
    assert config["ENROLL_TASK_QUEUE"] == "enrollment-prod"
    assert set(config) == {env_name(field) for field in Settings.model_fields}


def test_config_show_refuses_a_bad_configuration_naming_it():
    shown = _config_show({"TEMPORAL_ADDRESS": "no-port"})
    assert shown.returncode == 2
    assert "TEMPORAL_ADDRESS: 'no-port' is not host:port" in shown.stderr
    assert "Traceback" not in shown.stderr


def test_the_worker_refuses_a_bad_configuration_before_connecting():
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("ENROLL_", "TEMPORAL_"))}
    started = subprocess.run(
        [sys.executable, "worker.py"],
        env={**clean, "ENROLL_DEFAULT_TIME_ZONE": "Nowhere/Land"},
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert started.returncode == 2
    assert "ENROLL_DEFAULT_TIME_ZONE: 'Nowhere/Land' is not an IANA time zone" in started.stderr


def test_shutdown_grace_defaults_to_30_seconds() -> None:
    settings = load_settings()
    assert settings.worker_shutdown_grace_seconds == 30.0
    assert settings.api_shutdown_grace_seconds == 30.0


def test_the_api_refuses_a_bad_configuration_at_start():
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("ENROLL_", "TEMPORAL_"))}
    started = subprocess.run(
        [*ENROLL, "api", "--port", "1"],
        env={**clean, "TEMPORAL_ADDRESS": "temporal"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert started.returncode == 1
    assert "TEMPORAL_ADDRESS: 'temporal' is not host:port" in started.stderr
    assert "Traceback" not in started.stderr
