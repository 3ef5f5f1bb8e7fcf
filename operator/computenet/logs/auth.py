"""Who is calling, and may they: the hub's TokenReview and SubjectAccessReview, asked per request.

The same two reviews kube-apiserver's delegated authentication and authorization make for an
aggregated API server (k8s.io/apiserver v0.36.3, ``pkg/authentication/authenticatorfactory/delegating.go``
and ``pkg/authorization/authorizerfactory/delegating.go``): the token goes to the hub as is, and
the user, groups, uid and extra it returns are what the access review asks about.

The caller's token arrives as ``Authorization: Bearer <token>`` when the endpoint is reached
directly, or as ``X-Computenet-Authorization: Bearer <token>`` through the hub's service proxy:
the hub removes ``Authorization`` from a request once it has authenticated it
(apiserver v0.36.3 ``pkg/endpoints/filters/authentication.go``), so the token must ride in
another header to reach the endpoint. Tokens are never logged.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from kubernetes.aio.client import (
    ApiClient,
    AuthenticationV1Api,
    AuthorizationV1Api,
    V1ResourceAttributes,
    V1SubjectAccessReview,
    V1SubjectAccessReviewSpec,
    V1TokenReview,
    V1TokenReviewSpec,
)

from computenet.api.constants import GROUP

TOKEN_HEADERS = ("Authorization", "X-Computenet-Authorization")


class Refused(Exception):
    """The request may not proceed: `status` is 401 (who are you?) or 403 (not allowed)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Caller:
    username: str
    uid: str = ""
    groups: tuple[str, ...] = ()
    extra: Mapping[str, Sequence[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class Access:
    """What a request asks to do, as the hub's RBAC names it."""

    verb: str
    resource: str
    subresource: str = ""
    namespace: str = ""
    name: str = ""
    group: str = GROUP

    def describe(self) -> str:
        what = f"{self.resource}/{self.subresource}" if self.subresource else self.resource
        where = f' in the namespace "{self.namespace}"' if self.namespace else " at the cluster scope"
        return f"{self.verb} {what}.{self.group}{f' {self.name!r}' if self.name else ''}{where}"


def bearer_token(headers: Mapping[str, str]) -> str | None:
    """The caller's token from the first of `TOKEN_HEADERS` that holds a bearer token."""
    for header in TOKEN_HEADERS:
        value = headers.get(header, "")
        scheme, _, token = value.partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            return token.strip()
    return None


class Gate:
    """Authenticates and authorizes one request against the hub, with the operator's own client."""

    def __init__(self, client: ApiClient) -> None:
        self._authn = AuthenticationV1Api(client)
        self._authz = AuthorizationV1Api(client)

    async def authenticate(self, token: str | None) -> Caller:
        if not token:
            raise Refused(401, "no bearer token: send the hub token of the user (Authorization: Bearer)")
        review = await self._authn.create_token_review(V1TokenReview(spec=V1TokenReviewSpec(token=token)))
        status = review.status
        if status is None or not status.authenticated or status.user is None:
            why = status.error if status is not None and status.error else "the hub did not authenticate the token"
            raise Refused(401, f"unauthorized: {why}")
        user = status.user
        return Caller(
            username=user.username or "",
            uid=user.uid or "",
            groups=tuple(user.groups or ()),
            extra={k: list(v) for k, v in (user.extra or {}).items()},
        )

    async def authorize(self, caller: Caller, access: Access) -> None:
        review = await self._authz.create_subject_access_review(
            V1SubjectAccessReview(
                spec=V1SubjectAccessReviewSpec(
                    user=caller.username,
                    uid=caller.uid or None,
                    groups=list(caller.groups) or None,
                    extra={k: list(v) for k, v in caller.extra.items()} or None,
                    resource_attributes=V1ResourceAttributes(
                        verb=access.verb,
                        group=access.group,
                        resource=access.resource,
                        subresource=access.subresource or None,
                        namespace=access.namespace or None,
                        name=access.name or None,
                    ),
                )
            )
        )
        status = review.status
        if status is None or not status.allowed:
            raise Refused(403, f'forbidden: User "{caller.username}" cannot {access.describe()}')

    async def admit(self, headers: Mapping[str, str], access: Access) -> Caller:
        """Both reviews for one request; raises `Refused` with the status to answer."""
        caller = await self.authenticate(bearer_token(headers))
        await self.authorize(caller, access)
        return caller
