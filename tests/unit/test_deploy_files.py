"""The deployment files in deploy/ say what docs/scale-out.md says they do.

Docker, Helm and Kubernetes are not available to the tests, so each file is parsed and its facts checked: images
pinned to versions that agree with each other and with pyproject.toml, Milvus's ports on 127.0.0.1 only,
authentication on, secrets taken from the environment or a Kubernetes Secret, the KubeRay resource's shape. The
Compose file is also validated against the Compose specification's schema when check-jsonschema (which ships it)
is installed.
"""

from __future__ import annotations

import json
import re
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped]

from tests.support import ROOT

DEPLOY = ROOT / "deploy"
COMPOSE = DEPLOY / "milvus" / "docker-compose.yml"
USER_YAML = DEPLOY / "milvus" / "user.yaml"
VALUES = DEPLOY / "milvus" / "values.yaml"
RAYCLUSTER = DEPLOY / "ray" / "raycluster.yaml"
DOCKERFILE = DEPLOY / "ray" / "Dockerfile"
DOCS = (ROOT / "docs" / "scale-out.md", DEPLOY / "README.md")
MILVUS_TAG = "v2.5.16"
CHART_VERSION = "4.2.58"


def load(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def pins() -> dict[str, str]:
    """Package → version of the `==` pins in pyproject.toml (dependencies and extras)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    specs = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        specs.extend(extra)
    return {name.lower(): version for name, version in (s.split("==", 1) for s in specs if "==" in s)}


def pinned(image: str) -> bool:
    """An image reference with an explicit tag that is not `latest` (or a digest)."""
    if "@sha256:" in image:
        return True
    name, _, tag = image.rpartition(":")
    return bool(name) and "/" not in tag and tag not in ("", "latest")


def auth_enabled(config: Any) -> bool:
    return config["common"]["security"]["authorizationEnabled"] is True


# --- Milvus with Docker Compose ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def compose() -> Any:
    return load(COMPOSE)


def test_compose_runs_milvus_standalone_with_etcd_and_minio_at_pinned_versions(compose: Any) -> None:
    services = compose["services"]
    assert set(services) == {"etcd", "minio", "standalone"}
    assert "version" not in compose  # obsolete in the Compose specification
    for name, service in services.items():
        assert pinned(service["image"]), f"{name}: {service['image']} is not pinned"
    assert services["standalone"]["image"] == f"milvusdb/milvus:{MILVUS_TAG}"
    assert services["standalone"]["command"] == ["milvus", "run", "standalone"]
    assert set(services["standalone"]["depends_on"]) == {"etcd", "minio"}
    env = services["standalone"]["environment"]
    assert env["ETCD_ENDPOINTS"] == "etcd:2379" and env["MINIO_ADDRESS"] == "minio:9000"


def test_compose_publishes_milvus_on_loopback_only_and_minio_not_at_all(compose: Any) -> None:
    services = compose["services"]
    ports = services["standalone"]["ports"]
    assert ports, "Milvus must be reachable from the host"
    for port in ports:
        host, _, _ = str(port).rpartition(":")
        assert host.startswith("127.0.0.1:"), f"{port} is not bound to 127.0.0.1"
    assert "127.0.0.1:19530:19530" in ports
    assert "ports" not in services["minio"] and "ports" not in services["etcd"]


def test_compose_turns_authentication_on_and_needs_a_root_password(compose: Any) -> None:
    standalone = compose["services"]["standalone"]
    assert "./user.yaml:/milvus/configs/user.yaml:ro" in standalone["volumes"]
    assert auth_enabled(load(USER_YAML))
    password = standalone["environment"]["COMMON_SECURITY_DEFAULTROOTPASSWORD"]
    # `${VAR:?message}`: Compose refuses to start when the variable is unset or empty; no default password.
    assert re.fullmatch(r"\$\{MILVUS_ROOT_PASSWORD:\?[^}]+\}", password), password


def test_compose_file_is_valid_against_the_compose_specification(compose: Any) -> None:
    pytest.importorskip("check_jsonschema", reason="check-jsonschema ships the Compose specification's schema")
    import jsonschema  # type: ignore[import-untyped]

    vendor = resources.files("check_jsonschema.builtin_schemas.vendor")
    schema = json.loads(vendor.joinpath("compose-spec.json").read_text(encoding="utf-8"))
    validator = jsonschema.Draft202012Validator(schema)
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(compose)]
    assert errors == []
    broken = {**compose, "services": {**compose["services"], "minio": {**compose["services"]["minio"], "portz": []}}}
    assert list(validator.iter_errors(broken)), "the schema must refuse an unknown key"


# --- Milvus with Helm -------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def values() -> Any:
    return load(VALUES)


def test_helm_values_run_a_cluster_of_the_same_milvus_as_compose(values: Any, compose: Any) -> None:
    assert values["cluster"]["enabled"] is True
    image = values["image"]["all"]
    assert f"{image['repository']}:{image['tag']}" == compose["services"]["standalone"]["image"]
    assert f"--version {CHART_VERSION}" in VALUES.read_text(encoding="utf-8")
    for component in ("proxy", "mixCoordinator", "queryNode", "dataNode", "indexNode"):
        assert values[component]["enabled"] is True
        assert values[component]["replicas"] >= 1
        assert values[component]["resources"]["limits"]["memory"], component


def test_helm_values_turn_authentication_on_inside_the_cluster_only(values: Any) -> None:
    assert auth_enabled(yaml.safe_load(values["extraConfigFiles"]["user.yaml"]))
    assert values["service"]["type"] == "ClusterIP"
    assert values["ingress"]["enabled"] is False
    env = {item["name"]: item for item in values["mixCoordinator"]["extraEnv"]}
    root = env["COMMON_SECURITY_DEFAULTROOTPASSWORD"]
    assert "value" not in root, "root's password must come from a Secret, not from the values file"
    assert root["valueFrom"]["secretKeyRef"] == {"name": "milvus-root", "key": "password"}


def test_helm_values_do_not_keep_minio_default_keys(values: Any) -> None:
    for key in ("accessKey", "secretKey"):
        assert values["minio"][key] not in ("minioadmin", "", None)
    text = VALUES.read_text(encoding="utf-8")
    assert "--set minio.accessKey=" in text and "--set minio.secretKey=" in text


# --- Ray on KubeRay ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def raycluster() -> Any:
    return load(RAYCLUSTER)


def containers(group: Any) -> list[Any]:
    result: list[Any] = group["template"]["spec"]["containers"]
    return result


def test_raycluster_is_a_kuberay_v1_raycluster_of_the_pinned_ray(raycluster: Any) -> None:
    assert raycluster["apiVersion"] == "ray.io/v1"
    assert raycluster["kind"] == "RayCluster"
    assert raycluster["metadata"]["name"] == "kensaku-embed"
    spec = raycluster["spec"]
    assert spec["rayVersion"] == pins()["ray"] == "2.60.0"
    assert spec["authOptions"] == {"mode": "token"}


def test_raycluster_head_runs_no_actors_and_serves_the_ray_client(raycluster: Any) -> None:
    head = raycluster["spec"]["headGroupSpec"]
    assert head["serviceType"] == "ClusterIP"
    assert head["rayStartParams"]["num-cpus"] == "0"
    (container,) = containers(head)
    assert {p["name"]: p["containerPort"] for p in container["ports"]}["client"] == 10001


def test_raycluster_has_cpu_workers_and_an_optional_gpu_group(raycluster: Any) -> None:
    groups = {g["groupName"]: g for g in raycluster["spec"]["workerGroupSpecs"]}
    assert set(groups) == {"cpu", "gpu"}
    for name, group in groups.items():
        assert group["minReplicas"] <= group["replicas"] <= group["maxReplicas"], name
        assert "template" in group
    cpu, gpu = groups["cpu"], groups["gpu"]
    assert cpu["replicas"] >= 1
    (cpu_container,) = containers(cpu)
    assert "nvidia.com/gpu" not in cpu_container["resources"]["limits"]
    assert gpu["replicas"] == 0 and gpu["minReplicas"] == 0  # optional: no GPU is held until scaled up
    (gpu_container,) = containers(gpu)
    assert gpu_container["resources"]["limits"]["nvidia.com/gpu"] == "1"
    assert "gpu" in gpu_container["image"]


def test_raycluster_containers_use_the_kensaku_image_without_usage_stats(raycluster: Any) -> None:
    spec = raycluster["spec"]
    groups = [spec["headGroupSpec"], *spec["workerGroupSpecs"]]
    for group in groups:
        for container in containers(group):
            assert pinned(container["image"]) and "/kensaku-ray" in container["image"], container["image"]
            env = {e["name"]: e.get("value") for e in container.get("env", [])}
            assert env.get("RAY_USAGE_STATS_ENABLED") == "0", container["name"]
            limits, requests = container["resources"]["limits"], container["resources"]["requests"]
            assert limits["memory"] == requests["memory"], container["name"]


# --- The worker image -------------------------------------------------------------------------------------------


def test_dockerfile_builds_on_the_pinned_ray_and_python_with_kensakus_pins() -> None:
    text = DOCKERFILE.read_text(encoding="utf-8")
    args = dict(re.findall(r"^ARG (\w+)=(\S+)$", text, flags=re.MULTILINE))
    versions = pins()
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    python = project["requires-python"].removeprefix(">=").replace(".", "")
    assert args["RAY_IMAGE"] == f"rayproject/ray:{versions['ray']}-py{python}"
    assert re.search(r"^FROM \$\{RAY_IMAGE\}$", text, flags=re.MULTILINE)
    assert args["ONNXRUNTIME"] == f"onnxruntime=={versions['onnxruntime']}"
    assert f'"torch=={versions["torch"]}"' in text
    assert '[ray]"' in text  # the wheel with the ray extra
    assert "ensure_default_model" in text  # the model is converted at build time, not in each actor
    ignore = (DEPLOY / "ray" / ".dockerignore").read_text(encoding="utf-8").splitlines()
    assert [line for line in ignore if line and not line.startswith("#")] == ["*", "!dist/*.whl"]


# --- The documentation ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_in_the_scale_out_docs_resolve(doc: Path) -> None:
    targets = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", doc.read_text(encoding="utf-8"))
    local = [t for t in targets if not re.match(r"[a-z]+://", t)]
    assert local, doc
    missing = [t for t in local if not (doc.parent / t).exists()]
    assert missing == []


def test_scale_out_doc_quotes_the_measured_bytes_per_finding() -> None:
    """The capacity section's measured figures are the ones in bench/results/scale.json at 1M findings."""
    result = json.loads((ROOT / "bench" / "results" / "scale.json").read_text(encoding="utf-8"))
    build = result["sizes"]["1000000"]["build"]
    findings, sizes = build["findings"], build["disk_bytes"]
    text = (ROOT / "docs" / "scale-out.md").read_text(encoding="utf-8")
    assert f"{sizes['ann.faiss']:,}" in text and f"**{sizes['ann.faiss'] / findings:.0f}**" in text
    assert f"{sizes['vectors.npy']:,}" in text
    assert f"{sizes['findings.jsonl'] / findings:.1f}" in text
    assert f"**{sum(sizes.values()) / findings:,.0f}**" in text
    postings = (sizes["bm25/docs.npy"] + sizes["bm25/tfs.npy"]) / findings
    assert f"{postings:.1f}" in text
