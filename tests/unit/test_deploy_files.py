"""docker-compose.yml and the services' Dockerfiles agree with the code they deploy.

No Docker engine runs here, so these check the structure: health checks and start order
in compose, environment variables that the settings models really read (and accept),
and Dockerfile commands that name modules which exist.
"""

from __future__ import annotations

import importlib.util
import inspect
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic_settings import BaseSettings

from faultline_core import settings as settings_module

ROOT = Path(__file__).resolve().parents[2]
APP_SERVICES = ("relay", "processor", "query", "web")
INFRA_SERVICES = ("postgres", "clickhouse", "kafka")
# ${NAME}, ${NAME:-default}, ${NAME:?error}: compose's interpolation forms used here.
INTERPOLATION = re.compile(r"\$\{(?P<name>\w+)(?::(?P<op>[-?])(?P<arg>[^}]*))?\}")


def load_compose() -> dict[str, Any]:
    compose: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return compose


def services() -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = load_compose()["services"]
    return found


def one_shot_services() -> set[str]:
    """Services that others wait on to *finish*: they exit, so they have no health."""
    return {
        name
        for service in services().values()
        for name, dependency in service.get("depends_on", {}).items()
        if dependency["condition"] == "service_completed_successfully"
    }


def settings_env_names() -> set[str]:
    """Every environment variable a settings model in faultline_core.settings reads."""
    names: set[str] = set()
    for model in vars(settings_module).values():
        if inspect.isclass(model) and issubclass(model, BaseSettings) and model is not BaseSettings:
            prefix = str(model.model_config.get("env_prefix", ""))
            names.update(f"{prefix}{field}".upper() for field in model.model_fields)
    return names


def interpolate(value: str) -> str:
    """Compose's interpolation with defaults; required values get a stand-in."""

    def substitute(match: re.Match[str]) -> str:
        if match["op"] == "-":
            return match["arg"]
        return f"value-of-{match['name'].lower()}"

    return INTERPOLATION.sub(substitute, value)


def test_one_shots_are_the_expected_ones() -> None:
    assert one_shot_services() == {"migrate", "kafka-init"}
    for name in one_shot_services():
        assert services()[name]["restart"] == "no"


@pytest.mark.parametrize("name", [*APP_SERVICES, *INFRA_SERVICES])
def test_long_running_services_have_a_health_check(name: str) -> None:
    healthcheck = services()[name]["healthcheck"]
    assert healthcheck["test"][0] in ("CMD", "CMD-SHELL")
    assert len(healthcheck["test"]) > 1
    assert not healthcheck.get("disable", False)


def test_every_service_is_either_healthchecked_or_one_shot() -> None:
    for name, service in services().items():
        checked = not service.get("healthcheck", {"disable": True}).get("disable", False)
        assert checked != (name in one_shot_services()), name


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_services_wait_for_migrations_and_healthy_infrastructure(name: str) -> None:
    depends_on = services()[name]["depends_on"]
    assert depends_on["migrate"] == {"condition": "service_completed_successfully"}
    assert depends_on["postgres"] == {"condition": "service_healthy"}
    for dependency, spec in depends_on.items():
        expected = (
            "service_completed_successfully"
            if dependency in one_shot_services()
            else "service_healthy"
        )
        assert spec["condition"] == expected, f"{name} -> {dependency}"


@pytest.mark.parametrize(
    ("name", "needs"),
    [
        ("relay", {"kafka", "kafka-init"}),
        ("processor", {"clickhouse", "kafka", "kafka-init"}),
        ("query", {"clickhouse"}),
        ("web", {"query"}),
    ],
)
def test_app_services_wait_for_what_they_connect_to(name: str, needs: set[str]) -> None:
    assert needs <= set(services()[name]["depends_on"])


def test_migrate_waits_for_both_databases_and_keeps_bootstrap_on_a_volume() -> None:
    migrate = services()["migrate"]
    assert set(migrate["depends_on"]) == {"postgres", "clickhouse"}
    command = " ".join(migrate["command"])
    assert "faultline_core.admin migrate" in command
    assert "faultline_core.admin bootstrap --url" in command
    volume = migrate["volumes"][0].split(":")
    assert volume[0] in load_compose()["volumes"]
    assert volume[1] == migrate_data_dir()


def migrate_data_dir() -> str:
    """FAULTLINE_DATA_DIR as the migrate image sets it (the web Dockerfile)."""
    dockerfile = (ROOT / services()["migrate"]["build"]["dockerfile"]).read_text()
    match = re.search(r"FAULTLINE_DATA_DIR=(\S+)", dockerfile)
    assert match is not None
    return match[1]


def test_every_faultline_variable_in_compose_is_a_settings_field() -> None:
    known = settings_env_names()
    used = {
        variable
        for service in services().values()
        for variable in service.get("environment", {})
        if variable.startswith("FAULTLINE_")
    }
    assert "FAULTLINE_PG_DSN" in used
    assert used - known == set()


@pytest.mark.parametrize("name", [*APP_SERVICES, "migrate"])
def test_settings_models_accept_the_compose_environment(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    environment = services()[name]["environment"]
    assert environment["FAULTLINE_ENVIRONMENT"] == "production"
    # Compose refuses to start without a secret key: no default to fall back to.
    secret_key = INTERPOLATION.fullmatch(environment["FAULTLINE_SECRET_KEY"])
    assert secret_key is not None
    assert secret_key["op"] == "?"
    for variable, value in environment.items():
        monkeypatch.setenv(variable, interpolate(str(value)))
    app = settings_module.AppSettings()
    assert app.environment == "production"
    assert settings_module.ClickHouseSettings().backend == "native"
    assert settings_module.BusSettings().backend == "kafka"
    for model in (settings_module.PostgresSettings, settings_module.KafkaSettings,
                  settings_module.RelaySettings, settings_module.ProcessorSettings,
                  settings_module.QuerySettings, settings_module.WebSettings):
        model()


def test_listeners_bind_all_interfaces_on_the_published_ports() -> None:
    relay, web = services()["relay"], services()["web"]
    assert relay["environment"]["FAULTLINE_RELAY_HOST"] == "0.0.0.0"
    assert web["environment"]["FAULTLINE_WEB_HOST"] == "0.0.0.0"
    assert services()["query"]["environment"]["FAULTLINE_QUERY_HOST"] == "0.0.0.0"
    assert relay["ports"] == ["3000:3000"]
    assert web["ports"] == ["8000:8000"]
    assert web["environment"]["FAULTLINE_WEB_QUERY_ADDRESS"] == "query:50051"


def test_kafka_is_kraft_without_auto_created_topics_and_init_creates_the_bus_topics() -> None:
    kafka = services()["kafka"]["environment"]
    assert kafka["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert kafka["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"
    assert kafka["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"] == 1
    command = " ".join(services()["kafka-init"]["command"])
    bus = settings_module.BusSettings()
    assert f"--topic {bus.events_topic} --partitions 4" in command
    assert f"--topic {bus.dlq_topic} " in command


@pytest.mark.parametrize("name", APP_SERVICES)
def test_compose_builds_each_service_from_its_dockerfile(name: str) -> None:
    build = services()[name]["build"]
    assert build == {"context": ".", "dockerfile": f"services/{name}/Dockerfile"}


def dockerfile_instructions(name: str, instruction: str) -> list[str]:
    text = (ROOT / "services" / name / "Dockerfile").read_text().replace("\\\n", " ")
    prefix = f"{instruction} "
    return [line[len(prefix):].strip() for line in text.splitlines() if line.startswith(prefix)]


@pytest.mark.parametrize("name", APP_SERVICES)
def test_dockerfile_runs_an_existing_module_as_a_non_root_user(name: str) -> None:
    (cmd,) = dockerfile_instructions(name, "CMD")
    command = json.loads(cmd)
    assert command == ["python", "-m", f"faultline_{name}"]
    assert importlib.util.find_spec(f"faultline_{name}.__main__") is not None
    assert dockerfile_instructions(name, "FROM") == ["python:3.11-slim"]
    users = dockerfile_instructions(name, "USER")
    assert users and users[-1] not in ("root", "0")
    assert dockerfile_instructions(name, "RUN")[-1] == "pip install ."
    assert len(dockerfile_instructions(name, "HEALTHCHECK")) == 1


@pytest.mark.parametrize(("name", "port"), [("relay", "3000"), ("query", "50051"),
                                            ("web", "8000"), ("processor", "9102")])
def test_dockerfile_exposes_the_service_port(name: str, port: str) -> None:
    exposed = " ".join(dockerfile_instructions(name, "EXPOSE")).split()
    assert port in exposed


def test_dockerignore_keeps_local_state_out_of_the_build_context() -> None:
    ignored = (ROOT / ".dockerignore").read_text().splitlines()
    for entry in (".git", ".venv", "data", ".infra", "**/__pycache__", "**/*.so",
                  "libs/core/faultline_core/_native_build.json"):
        assert entry in ignored
