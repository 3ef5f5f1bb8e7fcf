from __future__ import annotations

import pytest
import yaml

from computenet.members.kubeconfig import KubeconfigError, client_from, fingerprint, parse, proxy_for

SECRET_TOKEN = "s3cr3t-token-value-that-must-not-leak"


def _kubeconfig(**cluster: object) -> str:
    return yaml.safe_dump(
        {
            "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:6443", **cluster}}],
            "users": [{"name": "u", "user": {"token": SECRET_TOKEN}}],
            "contexts": [{"name": "ctx", "context": {"cluster": "c", "user": "u"}}],
            "current-context": "ctx",
        }
    )


def test_valid_kubeconfig_parses() -> None:
    assert parse(_kubeconfig())["current-context"] == "ctx"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("a: [b", "not valid YAML", id="broken YAML"),
        pytest.param("- just a list", "not a kubeconfig", id="a list is not a kubeconfig"),
        pytest.param(_kubeconfig(server="http://127.0.0.1:6443"), "https://", id="plain http server"),
        pytest.param(_kubeconfig(**{"insecure-skip-tls-verify": True}), "always verified", id="TLS verification off"),
        pytest.param(
            _kubeconfig().replace("current-context: ctx", "current-context: other"),
            "current-context",
            id="current context missing",
        ),
    ],
)
def test_unusable_kubeconfig_is_refused_without_quoting_it(text: str, message: str) -> None:
    with pytest.raises(KubeconfigError) as err:
        parse(text)
    assert message in str(err.value)
    assert SECRET_TOKEN not in str(err.value)


def test_exec_plugins_are_refused() -> None:
    raw = yaml.safe_load(_kubeconfig())
    raw["users"][0]["user"] = {"exec": {"command": "get-token"}}
    with pytest.raises(KubeconfigError, match="exec"):
        parse(yaml.safe_dump(raw))


def test_fingerprint_is_stable_and_distinguishes() -> None:
    assert fingerprint(_kubeconfig()) == fingerprint(_kubeconfig())
    assert fingerprint(_kubeconfig()) != fingerprint(_kubeconfig(server="https://10.0.0.1"))
    assert SECRET_TOKEN not in fingerprint(_kubeconfig())


@pytest.mark.parametrize(
    ("server", "environ", "proxy"),
    [
        pytest.param("https://api.example.com:6443", {}, None, id="no proxy in the environment: none"),
        pytest.param(
            "https://api.example.com:6443", {"HTTPS_PROXY": "http://p:3128"}, "http://p:3128", id="https proxy"
        ),
        pytest.param(
            "https://api.example.com:6443", {"https_proxy": "http://p:3128"}, "http://p:3128", id="lowercase too"
        ),
        pytest.param(
            "https://api.example.com:6443", {"HTTP_PROXY": "http://p:3128"}, None, id="an http proxy is not for https"
        ),
        pytest.param(
            "https://127.0.0.1:6443",
            {"HTTPS_PROXY": "http://p:3128", "NO_PROXY": "localhost,127.0.0.1"},
            None,
            id="no_proxy lists the host",
        ),
        pytest.param(
            "https://api.cn-east.internal:6443",
            {"HTTPS_PROXY": "http://p:3128", "no_proxy": ".internal"},
            None,
            id="no_proxy domain suffix",
        ),
        pytest.param(
            "https://api.example.com:6443",
            {"HTTPS_PROXY": "http://p:3128", "NO_PROXY": ".internal"},
            "http://p:3128",
            id="no_proxy for other hosts",
        ),
        pytest.param("https://api.example.com:6443", {"HTTPS_PROXY": "http://p:3128", "NO_PROXY": "*"}, None, id="*"),
    ],
)
def test_proxy_for_follows_urllib_rules(server: str, environ: dict[str, str], proxy: str | None) -> None:
    assert proxy_for(server, environ) == proxy


async def test_clients_read_no_netrc_and_keep_the_environment_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    client = await client_from(_kubeconfig())
    try:
        assert client.rest_client.proxy == "http://proxy.example:3128"
        session = client.rest_client._create_pool_manager()
        try:
            assert session.trust_env is False  # no ~/.netrc read per request
        finally:
            await session.close()
    finally:
        await client.close()
