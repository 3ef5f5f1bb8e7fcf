"""The dispatcher names every answer a member can give, without a cluster."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from computenet.api.constants import Reason
from computenet.api.identifier import ComputeIdentifierSpec
from computenet.api.task import RemoteRef
from computenet.dispatch.remote import MemberAnswer, NamespaceProblem
from computenet.tasks import lifecycle as lc
from computenet.tasks.dispatcher import dispatch_once
from tasks.builders import IDENTIFIER, identifier_spec, record


class Member:
    """A member that answers each create with the next of `answers` (an exception or a (uid, adopted))."""

    def __init__(self, *answers: BaseException | tuple[str, bool], connected: bool = True) -> None:
        self.answers = list(answers)
        self.connected = connected
        self.manifests: list[Mapping[str, Any]] = []
        self.problems = []

    def spec_of(self, identifier: str) -> ComputeIdentifierSpec | None:
        return identifier_spec() if self.connected and identifier == IDENTIFIER else None

    def creator_of(self, identifier: str) -> Member | None:
        return self if self.connected else None

    def existing(self, identifier: str, task_uid: str, attempt: int) -> RemoteRef | None:
        return self.listed if attempt == 1 else None

    listed: RemoteRef | None = None
    problems: list[tuple[str, str, str]]

    def setup_problem(self, identifier: str, reason: str, message: str) -> None:
        self.problems.append((identifier, reason, message))

    def setup_works(self, identifier: str) -> None:
        self.problems.append((identifier, "works", ""))

    async def create(self, manifest: Mapping[str, Any]) -> tuple[str, bool]:
        self.manifests.append(manifest)
        answer = self.answers.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        return answer


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        pytest.param(("uid-9", False), lc.DispatchCreated, id="created"),
        pytest.param(("uid-9", True), lc.DispatchCreated, id="already exists: adopted"),
        pytest.param(MemberAnswer(403, "HTTP 403: forbidden"), Reason.FORBIDDEN, id="forbidden is retried"),
        pytest.param(MemberAnswer(401, "HTTP 401: Unauthorized"), Reason.FORBIDDEN, id="unauthorized is retried"),
        pytest.param(MemberAnswer(429, "HTTP 429: slow down"), Reason.THROTTLED, id="throttled is retried"),
        pytest.param(MemberAnswer(500, "HTTP 500: etcd"), Reason.MEMBER_ERROR, id="server error is retried"),
        pytest.param(MemberAnswer(503, "HTTP 503: unavailable"), Reason.MEMBER_ERROR, id="unavailable is retried"),
        pytest.param(MemberAnswer(None, "no answer (TimeoutError)"), Reason.MEMBER_UNAVAILABLE, id="timeout"),
        pytest.param(MemberAnswer(404, "HTTP 404: namespace"), Reason.MEMBER_UNAVAILABLE, id="namespace vanished"),
        pytest.param(MemberAnswer(422, "HTTP 422: invalid"), "refused", id="invalid is refused for good"),
        pytest.param(MemberAnswer(400, "HTTP 400: bad request"), "refused", id="bad request is refused"),
        pytest.param(MemberAnswer(409, "belongs to someone else"), "refused", id="a foreign name is refused"),
        pytest.param(ValueError("quantity"), Reason.INTERNAL_ERROR, id="our own error is named and retried"),
        pytest.param(
            MemberAnswer(403, 'HTTP 403: jobs.batch "x" is forbidden: ValidatingAdmissionPolicy ...', denied=True),
            "refused",
            id="a 403 an admission policy gave is refused for good",
        ),
        pytest.param(
            NamespaceProblem("work", "does not exist and could not be created", MemberAnswer(403, "HTTP 403: ...")),
            Reason.TARGET_NAMESPACE_UNAVAILABLE,
            id="a target namespace that cannot be created is retried",
        ),
    ],
)
async def test_every_answer_is_an_event(answer: BaseException | tuple[str, bool], expected: object) -> None:
    rec = record("Dispatching")
    event = await dispatch_once(rec, Member(answer), "hub-1")
    if expected is lc.DispatchCreated:
        assert isinstance(event, lc.DispatchCreated)
        assert event.remote.uid == "uid-9"
        assert event.remote.identifier == IDENTIFIER
        assert event.adopted is answer[1]  # type: ignore[index]
    elif expected == "refused":
        assert isinstance(event, lc.DispatchRefused)
        assert event.message == str(answer)
    else:
        assert isinstance(event, lc.DispatchRetryable)
        assert event.reason == expected


async def test_a_member_not_connected_is_retried_and_counted() -> None:
    rec = record("Dispatching")
    member = Member(connected=False)
    first = await dispatch_once(rec, member, "hub-1")
    second = await dispatch_once(rec, member, "hub-1")
    assert isinstance(first, lc.DispatchRetryable)
    assert isinstance(second, lc.DispatchRetryable)
    assert first.reason == Reason.MEMBER_NOT_CONNECTED
    assert (first.failures, second.failures) == (1, 2)
    assert member.manifests == []


async def test_failures_count_per_attempt_and_reset_on_success() -> None:
    rec = record("Dispatching")
    member = Member(MemberAnswer(403, "no"), MemberAnswer(403, "no"), ("uid", False), MemberAnswer(403, "no"))
    counts = []
    for _ in range(2):
        event = await dispatch_once(rec, member, "hub-1")
        assert isinstance(event, lc.DispatchRetryable)
        counts.append(event.failures)
    assert isinstance(await dispatch_once(rec, member, "hub-1"), lc.DispatchCreated)
    rec.status = rec.status.model_copy(update={"attempt": 2})
    event = await dispatch_once(rec, member, "hub-1")
    assert isinstance(event, lc.DispatchRetryable)
    assert [*counts, event.failures] == [1, 2, 1]


async def test_the_manifest_is_the_placed_attempt_in_the_identifiers_namespace() -> None:
    rec = record("Dispatching", attempt=3)
    member = Member(("uid", False))
    await dispatch_once(rec, member, "hub-1")
    (manifest,) = member.manifests
    assert manifest["metadata"]["namespace"] == "computenet-workloads"
    assert manifest["metadata"]["labels"]["computenet.io/attempt"] == "3"
    assert manifest["metadata"]["labels"]["computenet.io/identifier"] == IDENTIFIER


async def test_a_job_the_watch_already_lists_for_the_attempt_is_adopted_not_created_again() -> None:
    rec = record("Dispatching")
    member = Member(("uid-new", False))
    member.listed = RemoteRef(identifier=IDENTIFIER, namespace="computenet-workloads", name="train.v2-old-1", uid="u")
    event = await dispatch_once(rec, member, "hub-1")
    assert event == lc.DispatchCreated(member.listed, adopted=True)
    assert member.manifests == []


async def test_a_target_namespace_that_cannot_be_created_is_said_on_the_identifier() -> None:
    member = Member(NamespaceProblem("work", "does not exist and could not be created", MemberAnswer(403, "no")))
    event = await dispatch_once(record("Dispatching"), member, "hub-1")
    assert isinstance(event, lc.DispatchRetryable)
    assert event.message == "target namespace work does not exist and could not be created: no"
    assert member.problems == [(IDENTIFIER, Reason.TARGET_NAMESPACE_UNAVAILABLE, event.message)]


async def test_a_created_workload_says_the_identifier_takes_work() -> None:
    member = Member(("uid-1", False))
    event = await dispatch_once(record("Dispatching"), member, "hub-1")
    assert isinstance(event, lc.DispatchCreated)
    assert member.problems == [(IDENTIFIER, "works", "")]
