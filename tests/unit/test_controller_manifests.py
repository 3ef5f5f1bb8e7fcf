"""The rendering of upstream controllers' manifests for a local member (computenet.testing.controllers)."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from computenet.testing import controllers, pki

CA = b"-----BEGIN CERTIFICATE-----\nfake\n-----END CERTIFICATE-----\n"
CA_B64 = base64.b64encode(CA).decode()
BASE = "https://127.0.0.1:9443"


def _hook(name: str, path: str) -> dict[str, Any]:
    return {
        "name": name,
        "admissionReviewVersions": ["v1"],
        "clientConfig": {"service": {"name": "webhook-service", "namespace": "system", "path": path}},
        "sideEffects": "None",
    }


@pytest.mark.parametrize(
    ("doc", "ops", "expected"),
    [
        pytest.param(
            {"webhooks": [{"a": 1}, {"b": 2}]},
            [{"op": "replace", "path": "/webhooks/1", "value": {"c": 3}}],
            {"webhooks": [{"a": 1}, {"c": 3}]},
            id="replace swaps one list item, as upstream's pod webhook patches do",
        ),
        pytest.param(
            {"metadata": {}},
            [{"op": "add", "path": "/metadata/labels", "value": {"x": "y"}}],
            {"metadata": {"labels": {"x": "y"}}},
            id="add to a map sets the key",
        ),
        pytest.param(
            {"items": [1, 3]},
            [{"op": "add", "path": "/items/1", "value": 2}, {"op": "add", "path": "/items/-", "value": 4}],
            {"items": [1, 2, 3, 4]},
            id="add to a list inserts at the index or appends at -",
        ),
        pytest.param(
            {"metadata": {"annotations": {"a/b": "1", "c": "2"}}},
            [{"op": "remove", "path": "/metadata/annotations/a~1b"}],
            {"metadata": {"annotations": {"c": "2"}}},
            id="remove unescapes ~1 in a key",
        ),
    ],
)
def test_json_patch(doc: dict[str, Any], ops: list[dict[str, Any]], expected: dict[str, Any]) -> None:
    assert controllers.json_patch(doc, ops) == expected


def test_json_patch_names_an_operation_it_cannot_apply() -> None:
    with pytest.raises(ValueError, match="'move' at /a"):
        controllers.json_patch({"a": 1}, [{"op": "move", "from": "/b", "path": "/a"}])


def test_json_patch_leaves_its_input_alone() -> None:
    doc = {"webhooks": [{"a": 1}]}
    controllers.json_patch(doc, [{"op": "replace", "path": "/webhooks/0", "value": {}}])
    assert doc == {"webhooks": [{"a": 1}]}


def test_webhooks_point_at_the_local_process_with_its_ca() -> None:
    config = {"kind": "MutatingWebhookConfiguration", "webhooks": [_hook("m.kb.io", "/mutate-x")]}
    out = controllers.point_webhooks(config, BASE, CA)
    assert out["webhooks"][0]["clientConfig"] == {"url": f"{BASE}/mutate-x", "caBundle": CA_B64}
    assert out["webhooks"][0]["name"] == "m.kb.io"


def test_conversion_webhook_points_at_the_local_process() -> None:
    crd = {
        "spec": {"conversion": {"strategy": "Webhook", "webhook": {"clientConfig": {"service": {"path": "/convert"}}}}}
    }
    out = controllers.point_conversion(crd, BASE, CA)
    assert out["spec"]["conversion"]["webhook"]["clientConfig"] == {"url": f"{BASE}/convert", "caBundle": CA_B64}


def test_a_crd_without_conversion_webhook_is_unchanged() -> None:
    crd = {"spec": {"group": "g"}}
    assert controllers.point_conversion(crd, BASE, CA) == crd


def _write(path: Path, *docs: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump_all(docs))


def test_render_applies_upstream_patches_and_prefixes_the_configurations(tmp_path: Path) -> None:
    ctl = controllers.Controller(
        name="demo",
        crds=("crd/bases/demo.yaml",),
        crd_patches=("crd/patches/webhook_in_demo.yaml",),
        webhooks="webhook/manifests.yaml",
        webhook_patches=(("ValidatingWebhookConfiguration", "webhook/validating-patch.yaml"),),
        kinds=(("demo.io", "Demo"),),
        argv=lambda launch: [str(launch.binary)],
    )
    _write(
        tmp_path / "crd/bases/demo.yaml",
        {"kind": "CustomResourceDefinition", "metadata": {"name": "demos.demo.io"}, "spec": {"group": "demo.io"}},
    )
    _write(
        tmp_path / "crd/patches/webhook_in_demo.yaml",
        {
            "metadata": {"name": "demos.demo.io"},
            "spec": {
                "conversion": {"strategy": "Webhook", "webhook": {"clientConfig": {"service": {"path": "/convert"}}}}
            },
        },
    )
    _write(
        tmp_path / "webhook/manifests.yaml",
        {
            "kind": "MutatingWebhookConfiguration",
            "metadata": {"name": "mutating-webhook-configuration"},
            "webhooks": [_hook("m", "/m")],
        },
        {
            "kind": "ValidatingWebhookConfiguration",
            "metadata": {"name": "validating-webhook-configuration"},
            "webhooks": [_hook("v", "/v"), _hook("vpod", "/vpod")],
        },
    )
    selector = {"matchExpressions": [{"key": "demo.io/name", "operator": "Exists"}]}
    _write(
        tmp_path / "webhook/validating-patch.yaml",
        [{"op": "replace", "path": "/webhooks/1", "value": {**_hook("vpod", "/vpod"), "objectSelector": selector}}],
    )

    out = controllers.render(ctl, tmp_path, BASE, CA)

    assert [c["spec"]["group"] for c in out.crds] == ["demo.io"]
    assert out.crds[0]["spec"]["conversion"]["webhook"]["clientConfig"]["url"] == f"{BASE}/convert"
    names = [w["metadata"]["name"] for w in out.webhooks]
    assert names == ["demo-mutating-webhook-configuration", "demo-validating-webhook-configuration"]
    validating = out.webhooks[1]["webhooks"]
    assert validating[1]["objectSelector"] == selector
    assert [h["clientConfig"]["url"] for h in validating] == [f"{BASE}/v", f"{BASE}/vpod"]


def test_render_leaves_the_parsed_upstream_files_alone(tmp_path: Path) -> None:
    crd = {"kind": "CustomResourceDefinition", "metadata": {"name": "demos.demo.io"}, "spec": {"group": "demo.io"}}
    _write(tmp_path / "crd/bases/demo.yaml", crd)
    _write(
        tmp_path / "crd/patches/webhook_in_demo.yaml",
        {"metadata": {"name": "demos.demo.io"}, "spec": {"conversion": {"webhook": {"clientConfig": {"service": {}}}}}},
    )
    _write(
        tmp_path / "webhook/manifests.yaml",
        {"kind": "MutatingWebhookConfiguration", "metadata": {"name": "m"}, "webhooks": [_hook("m", "/m")]},
    )
    ctl = controllers.Controller(
        name="demo",
        crds=("crd/bases/demo.yaml",),
        crd_patches=("crd/patches/webhook_in_demo.yaml",),
        webhooks="webhook/manifests.yaml",
        webhook_patches=(),
        kinds=(("demo.io", "Demo"),),
        argv=lambda launch: [str(launch.binary)],
    )
    first = controllers.render(ctl, tmp_path, BASE, CA)
    second = controllers.render(ctl, tmp_path, "https://127.0.0.1:1", CA)  # from the parse cache
    assert first.webhooks[0]["metadata"]["name"] == second.webhooks[0]["metadata"]["name"] == "demo-m"
    assert second.webhooks[0]["webhooks"][0]["clientConfig"]["url"] == "https://127.0.0.1:1/m"
    assert first.webhooks[0]["webhooks"][0]["clientConfig"]["url"] == f"{BASE}/m"
    assert second.crds[0]["spec"]["group"] == "demo.io"


def test_render_names_a_file_the_module_does_not_ship(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"webhook_in_jobsets\.yaml"):
        controllers.render(controllers.JOBSET, tmp_path, BASE, CA)


def test_kuberay_reaches_ray_dashboards_through_the_api_servers_service_proxy(tmp_path: Path) -> None:
    launch = controllers.Launch(Path("kuberay"), Path("kubeconfig"), tmp_path, tmp_path, controllers.Ports(1, 2, 3))
    argv = controllers.KUBERAY.argv(launch)
    assert "--use-kubernetes-proxy" in argv, "a loopback process outside the pod network resolves no cluster DNS"
    assert "--metrics-addr=127.0.0.1:3" in argv


def test_an_unknown_controller_names_the_known_ones() -> None:
    with pytest.raises(KeyError, match="jobset, lws, kuberay"):
        controllers.controller("volcano")


@pytest.mark.parametrize(
    ("crd", "established"),
    [
        pytest.param(
            {"status": {"conditions": [{"type": "Established", "status": "True"}]}}, True, id="Established True"
        ),
        pytest.param(
            {"status": {"conditions": [{"type": "Established", "status": "False"}]}}, False, id="Established False"
        ),
        pytest.param({}, False, id="no status yet"),
        pytest.param({"status": {"conditions": None}}, False, id="conditions not written yet"),
    ],
)
def test_crd_established(crd: dict[str, Any], established: bool) -> None:
    assert controllers.crd_established(crd) is established


REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name", sorted(controllers.CONTROLLERS))
def test_every_controller_is_built_with_its_manifests(name: str) -> None:
    assert (REPO / "hack" / "tools" / name / "go.mod").exists()
    script = (REPO / "hack" / "build-binaries.sh").read_text()
    target = next((line for line in script.splitlines() if line.strip().startswith(f'"{name}|')), None)
    assert target is not None, f"hack/build-binaries.sh builds no {name}"
    assert target.rstrip('"').count("|") == 5, f"{name}'s step copies no manifests"


def test_the_trainers_webhook_pki_is_what_its_rotator_keeps(tmp_path: Path) -> None:
    """cert-controller v0.12.0 (rotator.go) keeps a Secret whose CA is valid for its CAName, whose CA key
    is PKCS #1, and whose serving certificate verifies for the Service's DNS name: then it rotates nothing."""
    files = pki.write_webhook_pki(tmp_path / "webhook", pki=controllers.TRAINER_PKI)
    ca = x509.load_pem_x509_certificate(files.ca.read_bytes())
    serving = x509.load_pem_x509_certificate((files.cert_dir / "tls.crt").read_bytes())
    assert ca.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(
        x509.DNSName
    ) == ["kubeflow-trainer-ca"]
    assert (files.cert_dir / "ca.key").read_text().startswith("-----BEGIN RSA PRIVATE KEY-----")
    names = serving.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "kubeflow-trainer-controller-manager.kubeflow-system.svc" in names.get_values_for_type(x509.DNSName)
    assert [str(ip) for ip in names.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"], "what the API server calls"
    usage = serving.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert ExtendedKeyUsageOID.SERVER_AUTH in usage
    serving.verify_directly_issued_by(ca)
    lookahead = 90  # days: the rotator renews what expires within them (defaultLookaheadInterval)
    assert (serving.not_valid_after_utc - serving.not_valid_before_utc).days > lookahead


def test_the_trainer_keeps_its_webhook_configurations_name_and_gets_its_secret_first(tmp_path: Path) -> None:
    config_dir = tmp_path / "trainer.config"
    webhook = config_dir / "base" / "webhook"
    webhook.mkdir(parents=True)
    (webhook / "manifests.yaml").write_text(
        yaml.safe_dump(
            {
                "apiVersion": "admissionregistration.k8s.io/v1",
                "kind": "ValidatingWebhookConfiguration",
                "metadata": {"name": "validating-webhook-configuration"},
                "webhooks": [{"name": "v", "clientConfig": {"service": {"name": "s", "path": "/validate"}}}],
            }
        )
    )
    (webhook / "patch.yaml").write_text(
        yaml.safe_dump([{"op": "replace", "path": "/metadata/name", "value": "validator.trainer.kubeflow.org"}])
    )
    crds = config_dir / "base" / "crds"
    crds.mkdir(parents=True)
    for rel in controllers.TRAINER.crds:
        name = Path(rel).name.removesuffix(".yaml")
        (config_dir / rel).write_text(yaml.safe_dump({"kind": "CustomResourceDefinition", "metadata": {"name": name}}))
    manifests = controllers.render(controllers.TRAINER, config_dir, "https://127.0.0.1:9443", b"CA")
    (config,) = manifests.webhooks
    assert config["metadata"]["name"] == "validator.trainer.kubeflow.org", "the name its rotator looks up"
    assert config["webhooks"][0]["clientConfig"]["url"] == "https://127.0.0.1:9443/validate"

    files = pki.write_webhook_pki(tmp_path / "webhook", pki=controllers.TRAINER_PKI)
    launch = controllers.Launch(
        Path("trainer"), Path("kubeconfig"), tmp_path, files.cert_dir, controllers.Ports(1, 2, 3)
    )
    namespace, secret = controllers.TRAINER.prerequisites(launch)
    assert namespace == {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "kubeflow-system"}}
    assert secret["metadata"] == {"name": "kubeflow-trainer-webhook-cert", "namespace": "kubeflow-system"}
    assert base64.b64decode(secret["data"]["ca.crt"]) == files.ca.read_bytes()
    assert set(secret["data"]) == {"ca.crt", "ca.key", "tls.crt", "tls.key"}
