"""deploy/ checked with what runs here without a Docker engine: linters, schemas, and the facts
that must agree with the code (probe paths, env names, image, replicas, non-root)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

from bot.app import create_app
from bot.config import Settings
from bot.runtime import build_runtime

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
BIN = Path(sys.executable).parent
VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
IMAGE = f"djbot:{VERSION}"
# Variables that configure the other containers, not djbot.
FOREIGN_ENV = {"POSTGRES_USER", "POSTGRES_DB", "POSTGRES_PASSWORD"}


def tool(name: str) -> str:
    path = BIN / name
    if not path.exists():
        pytest.skip(f"{name} not installed: pip install -e '.[test]'")
    return str(path)


def run(*cmd: str) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60)


def compose() -> dict:
    return yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())


def k8s_documents() -> dict[str, dict]:
    docs = {}
    for path in sorted((DEPLOY / "k8s").glob("*.yaml")):
        if path.stem == "kustomization":  # a list of the others, not a resource
            continue
        for doc in yaml.safe_load_all(path.read_text()):
            docs[f"{doc['kind']}/{doc['metadata']['name']}"] = doc
    return docs


def setting_exists(env_name: str) -> bool:
    """Does DJBOT_A__B name a field of Settings (A) and of its nested section (B)?"""
    if not env_name.startswith("DJBOT_"):
        return False
    fields = Settings.model_fields
    parts = env_name.removeprefix("DJBOT_").lower().split("__")
    for i, part in enumerate(parts):
        if part not in fields:
            return False
        if i < len(parts) - 1:
            fields = fields[part].annotation.model_fields  # a nested section
    return True


def test_the_env_name_check_itself_tells_real_names_from_typos():
    assert setting_exists("DJBOT_DATABASE_URL") and setting_exists("DJBOT_WECOM__AIBOT_AES_KEY")
    assert not setting_exists("DJBOT_WECOM__AES_KEY") and not setting_exists("DJBOT_DB_URL")


# --- Dockerfile ---------------------------------------------------------------------------


def test_dockerfile_passes_hadolint():
    result = run(tool("hadolint"), "--failure-threshold", "warning", str(DEPLOY / "Dockerfile"))
    assert result.returncode == 0, result.stdout + result.stderr


def test_dockerfile_is_slim_non_root_with_a_healthcheck_on_a_real_route():
    text = (DEPLOY / "Dockerfile").read_text()
    instructions = [line.split(None, 1) for line in text.splitlines()
                    if line and not line.startswith((" ", "#"))]
    assert ["FROM", "python:3.11-slim"] in instructions
    users = [arg for op, arg in instructions if op == "USER"]
    assert users and users[-1] not in ("root", "0")
    assert "HEALTHCHECK" in [op for op, _ in instructions]
    assert "/healthz" in text
    assert 'CMD ["djbot", "serve", "--host", "0.0.0.0"' in text
    for op, arg in instructions:  # everything copied exists in the repository
        if op == "COPY":
            for source in arg.split()[:-1]:
                assert (ROOT / source).exists(), f"Dockerfile copies {source}, which the repo lacks"


@pytest.fixture(scope="module")
def app_paths(tmp_path_factory) -> set[str]:
    settings = Settings(database_url=f"sqlite:///{tmp_path_factory.mktemp('d') / 'x.db'}",
                        _env_file=None)
    app = create_app(build_runtime(settings), start_background=False)
    return {route.path for route in app.routes}


# --- docker compose ---------------------------------------------------------------------------


def test_compose_file_matches_the_compose_schema():
    result = run(tool("check-jsonschema"), "--builtin-schema", "vendor.compose-spec",
                 str(DEPLOY / "docker-compose.yml"))
    assert result.returncode == 0, result.stdout + result.stderr


def test_compose_runs_postgres_a_migration_two_replicas_and_nginx(app_paths):
    services = compose()["services"]
    assert services["db"]["image"].startswith("postgres:")
    assert services["migrate"]["command"] == ["djbot", "db", "upgrade"]
    assert services["migrate"]["image"] == services["djbot"]["image"] == IMAGE
    assert services["djbot"]["deploy"]["replicas"] == 2
    assert services["djbot"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert services["djbot"]["environment"]["DJBOT_DATABASE_URL"].startswith("postgresql://")
    mount = services["nginx"]["volumes"][0].split(":")[0]
    assert (DEPLOY / mount).is_file()
    for env in (services["djbot"]["environment"], services["db"]["environment"]):
        for name in env:
            assert name in FOREIGN_ENV or setting_exists(name), f"compose sets unknown {name}"


def test_every_setting_in_the_env_example_reaches_the_djbot_containers():
    """Before, compose handed djbot only the variables it listed: DJBOT_WEB__SECRET,
    DJBOT_LEAVE_REQUIRES_APPROVAL, the quiet hours, DJBOT_LOG_LEVEL… set in deploy/.env
    never reached `djbot serve` (a .env file only fills ${…} in the compose file)."""
    example = (DEPLOY / "djbot.env.example").read_text(encoding="utf-8")
    names = set(re.findall(r"^(DJBOT_[A-Z0-9_]+)=", example, flags=re.M))
    assert {"DJBOT_WEB__SECRET", "DJBOT_LEAVE_REQUIRES_APPROVAL", "DJBOT_QUIET_START"} <= names
    for name in ("migrate", "djbot"):
        service = compose()["services"][name]
        passed = set(service["environment"])
        if ".env" not in service.get("env_file", []):
            assert sorted(names - passed) == [], f"{name} never gets them"
    # What compose sets itself wins over .env: the database must be the db service.
    assert "@db:5432/" in compose()["services"]["djbot"]["environment"]["DJBOT_DATABASE_URL"]


def test_nginx_forwards_the_callback_paths_to_the_replicas():
    conf = (DEPLOY / "nginx.conf").read_text()
    assert "server djbot:8000" in conf
    assert re.search(r"location ~ \^/\(wecom\|dingtalk\)/", conf)
    assert "X-Request-ID $request_id" in conf


# nginx's own format when a location names none: the request line carries the query.
COMBINED = ('$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent '
            '"$http_referer" "$http_user_agent"')


def _logged(conf: str, location: str, method: str, uri: str, query: str) -> str:
    """The access-log line nginx would write for this request to `location` of the conf."""
    block = re.search(re.escape(f"location {location} ") + r"\{(.*?)\n    \}", conf, re.S)
    assert block, f"no location {location} in nginx.conf"
    named = re.search(r"^\s*access_log\s+\S+\s+(\w+)\s*;", block.group(1), re.M)
    layout = COMBINED
    if named:
        found = re.search(r"log_format\s+" + named.group(1) + r"\s+((?:'[^']*'\s*)+);", conf)
        assert found, f"log_format {named.group(1)} is not defined"
        layout = "".join(re.findall(r"'([^']*)'", found.group(1)))
    values = {"remote_addr": "203.0.113.5", "remote_user": "-", "time_local": "07/Dec/2026",
              "request": f"{method} {uri}?{query} HTTP/1.1", "request_uri": f"{uri}?{query}",
              "uri": uri, "args": query, "query_string": query, "request_method": method,
              "server_protocol": "HTTP/1.1", "status": "303", "body_bytes_sent": "0",
              "http_referer": "-", "http_user_agent": "wxwork", "request_time": "0.010",
              "request_id": "r1", "upstream_response_time": "0.009"}

    def value(match: re.Match) -> str:
        assert match.group(1) in values, f"unknown nginx variable ${match.group(1)}"
        return values[match.group(1)]

    return re.sub(r"\$(\w+)", value, layout)


def test_the_proxys_access_log_keeps_no_sign_in_link():
    """A 看板 link opens the dashboard for anyone for its 10 minutes; nginx's default log
    line carries the query, so every link opened was written to the access log, which
    whoever reads the logs could open as the leader who asked for it. The dashboard's
    requests are logged without their query (the sign-in link, the in-app sign-in's code
    and state); the callbacks are logged as before."""
    conf = (DEPLOY / "nginx.conf").read_text()
    token = "eyJleHAiOjE3OTc2MDAwMDAsIm0iOjF9.c2lnbmVk"
    line = _logged(conf, "/web/", "GET", "/web/login", f"t={token}")
    assert token not in line and "GET /web/login" in line and "303" in line
    code = _logged(conf, "/web/", "GET", "/web/oauth/wecom", "code=CODE1&state=STATE1")
    assert "CODE1" not in code and "STATE1" not in code
    # Logged as nginx logs any request: the address, the time, the page, the status.
    assert "203.0.113.5" in line and "07/Dec/2026" in line


# --- systemd --------------------------------------------------------------------------------


def test_env_example_names_only_real_settings():
    lines = (DEPLOY / "djbot.env.example").read_text().splitlines()
    names = [line.split("=", 1)[0] for line in lines if line and not line.startswith("#")]
    assert "DJBOT_DATABASE_URL" in names
    for name in names:
        assert name in FOREIGN_ENV or setting_exists(name), f"djbot.env.example sets unknown {name}"


def test_systemd_unit_verifies(tmp_path):
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze not available on this machine")
    unit = (DEPLOY / "djbot.service").read_text()
    assert "EnvironmentFile=/etc/djbot/djbot.env" in unit and "User=djbot" in unit
    # The unit names the installed path; point it at this checkout's djbot to verify it here.
    (tmp_path / "djbot.service").write_text(unit.replace("/opt/djbot/venv/bin/djbot", str(BIN / "djbot")))
    result = run("systemd-analyze", "verify", str(tmp_path / "djbot.service"))
    # Unknown keys and bad values are only warnings to systemd: any output is a failure here.
    assert result.returncode == 0 and not (result.stdout + result.stderr).strip(), result.stderr


# --- Kubernetes -------------------------------------------------------------------------------


def test_k8s_manifests_match_the_kubernetes_schemas():
    manifests = [str(p) for p in sorted((DEPLOY / "k8s").glob("*.yaml")) if p.stem != "kustomization"]
    result = run(tool("kubernetes-validate"), "--strict", "--quiet", *manifests)
    assert result.returncode == 0, result.stdout + result.stderr


def test_k8s_deployment_has_two_non_root_replicas_and_real_probes(app_paths):
    docs = k8s_documents()
    deployment = docs["Deployment/djbot"]
    pod = deployment["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert deployment["spec"]["replicas"] == 2
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert container["image"] == IMAGE
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert {"/readyz", "/healthz", "/metrics"} <= app_paths

    job = docs["Job/djbot-migrate"]["spec"]["template"]["spec"]
    assert job["containers"][0]["command"] == ["djbot", "db", "upgrade"]
    assert job["securityContext"]["runAsNonRoot"] is True

    service = docs["Service/djbot"]
    assert service["spec"]["selector"].items() <= deployment["spec"]["template"]["metadata"]["labels"].items()
    refs = {ref.get("secretRef", ref.get("configMapRef"))["name"] for ref in container["envFrom"]}
    assert refs == {"djbot"} and "Secret/djbot" in docs and "ConfigMap/djbot" in docs
    for name in [*docs["Secret/djbot"]["stringData"], *docs["ConfigMap/djbot"]["data"]]:
        assert setting_exists(name), f"k8s sets unknown {name}"
    listed = yaml.safe_load((DEPLOY / "k8s" / "kustomization.yaml").read_text())["resources"]
    assert all((DEPLOY / "k8s" / name).is_file() for name in listed)
