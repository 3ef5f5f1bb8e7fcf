"""The hub as the user sees it: the kubeconfig's cluster, user and namespace, and the objects read.

Synchronous `kubernetes` client (a CLI has nothing to overlap). Errors become `CliError` with
one line: a task that does not exist says so and exits 1, like ``kubectl get``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from kubernetes import client, config
from kubernetes.client.exceptions import ApiException
from kubernetes.config.config_exception import ConfigException

from computenet.api.constants import DATASET, GROUP, IDENTIFIER, POOL, TASK, VERSION
from computenet.cli.errors import CliError

Object = dict[str, Any]


@dataclass
class Hub:
    api: client.ApiClient
    namespace: str

    @classmethod
    def connect(cls, kubeconfig: str | None, context: str | None, namespace: str | None) -> Hub:
        """The hub of `kubeconfig` (else $KUBECONFIG, else ~/.kube/config) in `context`."""
        try:
            api = config.new_client_from_config(config_file=kubeconfig, context=context)
            _, current = config.list_kube_config_contexts(config_file=kubeconfig)
        except (ConfigException, OSError) as e:
            raise CliError(f"cannot read the kubeconfig: {e}") from e
        if context:
            contexts, _ = config.list_kube_config_contexts(config_file=kubeconfig)
            current = next((c for c in contexts if c["name"] == context), current)
        default = (current or {}).get("context", {}).get("namespace") or "default"
        return cls(api, namespace or default)

    @property
    def custom(self) -> client.CustomObjectsApi:
        return client.CustomObjectsApi(self.api)

    @property
    def token(self) -> str | None:
        """The bearer token the kubeconfig's user authenticates with, if it uses one."""
        value = self.api.configuration.api_key.get("authorization") or self.api.configuration.api_key.get("BearerToken")
        if not value:
            return None
        return str(value).removeprefix("Bearer ").strip() or None

    def task(self, name: str, namespace: str | None = None) -> Object:
        ns = namespace or self.namespace
        try:
            found = cast(Object, self.custom.get_namespaced_custom_object(GROUP, VERSION, ns, TASK.plural, name))
        except ApiException as e:
            raise _error(e, f'computetask "{name}" not found in namespace "{ns}"') from e
        return found

    def patch_task(self, name: str, body: Object, namespace: str | None = None) -> Object:
        ns = namespace or self.namespace
        try:
            patched = cast(
                Object,
                self.custom.patch_namespaced_custom_object(
                    GROUP, VERSION, ns, TASK.plural, name, body, _content_type="application/merge-patch+json"
                ),
            )
        except ApiException as e:
            raise _error(e, f'computetask "{name}" not found in namespace "{ns}"') from e
        return patched

    def datasets(self, namespace: str) -> list[Object]:
        """The ComputeDatasets of `namespace`. Raises CliError (the hub's refusal, named)."""
        try:
            listed = cast(Object, self.custom.list_namespaced_custom_object(GROUP, VERSION, namespace, DATASET.plural))
        except ApiException as e:
            raise _error(e, f"no {DATASET.plural} on the hub: is computenet installed?") from e
        return cast(list[Object], listed["items"])

    def pools(self) -> list[Object]:
        return self._list(POOL.plural)

    def identifiers(self) -> list[Object]:
        return self._list(IDENTIFIER.plural)

    def _list(self, plural: str) -> list[Object]:
        try:
            listed = cast(Object, self.custom.list_cluster_custom_object(GROUP, VERSION, plural))
        except ApiException as e:
            raise _error(e, f"no {plural} on the hub: is computenet installed?") from e
        return cast(list[Object], listed["items"])


def _error(e: ApiException, not_found: str) -> CliError:
    if e.status == 404:
        return CliError(not_found)
    if e.status in (401, 403):
        return CliError(f"the hub refused the request (HTTP {e.status}): {e.reason}")
    return CliError(f"the hub answered HTTP {e.status}: {e.reason}")
