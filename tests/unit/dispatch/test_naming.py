"""Remote Job names and origin label values are valid for every legal task name, attempt and gang size.

Tables marked ``upstream`` come from Kubernetes v1.36.3: ``TestIsDNS1123Label`` in
``k8s.io/apimachinery@v0.36.3/pkg/util/validation/validation_test.go`` and ``TestIsLabelValue`` in
``k8s.io/apimachinery@v0.36.3/pkg/api/validate/content/kube_test.go``. The Job rule itself is
``ValidateJob`` in ``k8s.io/kubernetes@v1.36.3/pkg/apis/batch/validation/validation.go``:
``<job name>-<completions-1>`` must be a DNS-1123 label for an Indexed Job.
"""

from __future__ import annotations

import hashlib
import re

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from computenet.api.constants import HUB_LABEL
from computenet.api.task import MAX_REPLICAS
from computenet.dispatch.naming import (
    JOB_NAME_MAX,
    hub_selector,
    is_dns1123_label,
    is_label_value,
    job_name,
    label_value,
    origin_labels,
)

NO_DEADLINE = settings(deadline=None)
"""Examples are cheap; on a loaded shared machine a slow one must not fail a test."""
UID = "0b9c2d0e-1111-2222-3333-444455556666"
OTHER_UID = "7f3e1a2b-aaaa-bbbb-cccc-ddddeeeeffff"
MAX_ATTEMPT = 2**63 - 1  # status.attempt is an unbounded integer: int64 in the API server
LONG_63 = "pretrain-llama-70b-sft-moe-eval-shard-0001-final-run-2024-1129b"
DOTTED_253 = ".".join(["a" * 63, "b" * 63, "c" * 63, "d" * 61])


def indexed_hostname_is_valid(name: str, replicas: int) -> bool:
    """ValidateJob's rule: for completions > 0, ``<name>-<completions-1>`` is a DNS-1123 label."""
    return is_dns1123_label(f"{name}-{replicas - 1}")


# ---- upstream tables -----------------------------------------------------------------------------

UPSTREAM_DNS_LABEL_GOOD = [
    "a",
    "ab",
    "abc",
    "a1",
    "a-1",
    "a--1--2--b",
    "0",
    "01",
    "012",
    "1a",
    "1-a",
    "1--a--b--2",
    "a" * 63,
]
UPSTREAM_DNS_LABEL_BAD = [
    *["", "A", "ABC", "aBc", "A1", "A-1", "1-A", "-", "a-", "-a", "1-", "-1"],
    *["_", "a_", "_a", "a_b", "1_", "_1", "1_2", ".", "a.", ".a", "a.b", "1.", ".1", "1.2"],
    *[" ", "a ", " a", "a b", "1 ", " 1", "1 2", "a" * 64],
]


@pytest.mark.parametrize(
    "text", [pytest.param(t, id=f"upstream TestIsDNS1123Label good {t[:12]!r}") for t in UPSTREAM_DNS_LABEL_GOOD]
)
def test_dns_label_accepts_upstream_good_values(text: str) -> None:
    assert is_dns1123_label(text)


@pytest.mark.parametrize(
    "text", [pytest.param(t, id=f"upstream TestIsDNS1123Label bad {t[:12]!r}") for t in UPSTREAM_DNS_LABEL_BAD]
)
def test_dns_label_refuses_upstream_bad_values(text: str) -> None:
    assert not is_dns1123_label(text)


UPSTREAM_LABEL_VALUE_GOOD = ["simple", "now-with-dashes", "1-starts-with-num", "end-with-num-1", "1234", "a" * 63, ""]
UPSTREAM_LABEL_VALUE_BAD = [
    "nospecialchars%^=@",
    "Tama-nui-te-r\u0101.is.M\u0101ori.sun",
    "\\backslashes\\are\\bad",
    "-starts-with-dash",
    "ends-with-dash-",
    ".starts.with.dot",
    "ends.with.dot.",
    "a" * 64,
]


@pytest.mark.parametrize(
    "text", [pytest.param(t, id=f"upstream TestIsLabelValue success {t[:12]!r}") for t in UPSTREAM_LABEL_VALUE_GOOD]
)
def test_a_valid_label_value_is_kept_as_it_is(text: str) -> None:
    assert is_label_value(text)
    assert label_value(text) == text


@pytest.mark.parametrize(
    "text", [pytest.param(t, id=f"upstream TestIsLabelValue error {t[:12]!r}") for t in UPSTREAM_LABEL_VALUE_BAD]
)
def test_an_invalid_label_value_becomes_a_valid_one(text: str) -> None:
    assert not is_label_value(text)
    value = label_value(text)
    assert is_label_value(value)
    assert value != label_value(text + "x")  # distinct texts stay distinct


# ---- job names -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("task_name", "replicas"),
    [
        pytest.param("train.v2", 2, id="case 06: a dotted name as a 2-replica gang"),
        pytest.param(LONG_63, 2, id="case 06: a 63-character name as a 2-replica gang"),
        pytest.param(DOTTED_253, 2, id="a 253-character name with dots as a gang"),
        pytest.param(DOTTED_253, 1, id="a 253-character name with dots as a single replica"),
        pytest.param(LONG_63, MAX_REPLICAS, id="the largest gang"),
        pytest.param("a", MAX_REPLICAS, id="a one-letter name"),
        pytest.param("0.0.0", 3, id="digits and dots only"),
    ],
)
@pytest.mark.parametrize(
    "attempt", [pytest.param(0, id="first attempt"), pytest.param(MAX_ATTEMPT, id="largest attempt")]
)
def test_job_name_is_a_dns_label_with_room_for_every_index(task_name: str, replicas: int, attempt: int) -> None:
    name = job_name(task_name, UID, attempt)
    assert is_dns1123_label(name), name
    assert len(name) <= JOB_NAME_MAX
    assert indexed_hostname_is_valid(name, replicas)
    assert name.endswith(f"-{attempt}")
    assert hashlib.sha256(UID.encode()).hexdigest()[:8] in name  # the UID's hash survives any cut


@pytest.mark.parametrize(
    ("task_name", "expected"),
    [
        pytest.param("train.v2", "train-v2-", id="dots become dashes"),
        pytest.param(LONG_63, LONG_63[:47] + "-", id="a long name is cut, hash and attempt kept"),
        pytest.param("Train_V2", "train-v2-", id="anything else is made a label too"),
        pytest.param("...", "task-", id="nothing usable left: a fixed stem"),
        pytest.param("", "task-", id="empty"),
    ],
)
def test_job_name_stem(task_name: str, expected: str) -> None:
    name = job_name(task_name, UID, 0)
    assert name.startswith(expected)
    assert is_dns1123_label(name)


def test_job_name_keeps_the_name_earlier_versions_gave_a_short_plain_task() -> None:
    """A Job created before this naming scheme is still found by its name (409, then adopted)."""
    digest = hashlib.sha256(UID.encode()).hexdigest()[:8]
    assert job_name("train-llama", UID, 3) == f"train-llama-{digest}-3"


def test_job_name_is_deterministic_and_distinct() -> None:
    assert job_name(LONG_63, UID, 1) == job_name(LONG_63, UID, 1)
    assert job_name(LONG_63, UID, 1) != job_name(LONG_63, OTHER_UID, 1)
    assert job_name(LONG_63, UID, 1) != job_name(LONG_63, UID, 2)
    assert job_name("train.v2", UID, 0) != job_name("train-v2", OTHER_UID, 0)


# ---- properties ----------------------------------------------------------------------------------

DNS_LABELS = st.from_regex(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?", fullmatch=True)
TASK_NAMES = st.lists(DNS_LABELS, min_size=1, max_size=8).map(".".join).filter(lambda name: len(name) <= 253)
UIDS = st.uuids().map(str)
ATTEMPTS = st.integers(min_value=0, max_value=MAX_ATTEMPT)
REPLICAS = st.integers(min_value=1, max_value=MAX_REPLICAS)


@NO_DEADLINE
@given(TASK_NAMES, UIDS, ATTEMPTS, REPLICAS)
@example(DOTTED_253, UID, MAX_ATTEMPT, MAX_REPLICAS)
@example("9" * 253, UID, 0, 2)
def test_property_every_legal_task_gets_a_valid_job_name(task_name: str, uid: str, attempt: int, replicas: int) -> None:
    assert re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*", task_name)
    name = job_name(task_name, uid, attempt)
    assert is_dns1123_label(name)
    assert indexed_hostname_is_valid(name, replicas)
    assert len(name) + len(f"-{replicas - 1}") <= 63
    assert job_name(task_name, uid, attempt) == name


@NO_DEADLINE
@given(TASK_NAMES, UIDS, UIDS, ATTEMPTS, ATTEMPTS)
def test_property_names_differ_for_different_uids_and_attempts(
    task_name: str, uid: str, other_uid: str, attempt: int, other_attempt: int
) -> None:
    if attempt != other_attempt:
        assert job_name(task_name, uid, attempt) != job_name(task_name, uid, other_attempt)
    if hashlib.sha256(uid.encode()).digest()[:4] != hashlib.sha256(other_uid.encode()).digest()[:4]:
        assert job_name(task_name, uid, attempt) != job_name(task_name, other_uid, attempt)


def legacy_job_name(task_name: str, task_uid: str, attempt: int) -> str:
    """The scheme before this one (kept for the test): the name cut to 63, dots kept."""
    suffix = f"-{hashlib.sha256(task_uid.encode()).hexdigest()[:8]}-{attempt}"
    return f"{task_name[: 63 - len(suffix)].rstrip('-.')}{suffix}"


@NO_DEADLINE
@given(TASK_NAMES, UIDS, st.integers(min_value=0, max_value=1000))
def test_property_a_legacy_name_that_was_already_valid_is_unchanged(task_name: str, uid: str, attempt: int) -> None:
    legacy = legacy_job_name(task_name, uid, attempt)
    if is_dns1123_label(legacy) and len(legacy) <= JOB_NAME_MAX:
        assert job_name(task_name, uid, attempt) == legacy


@NO_DEADLINE
@given(st.text(max_size=300))
@example("x" * 64)
@example("\udcff")
def test_property_label_value_is_valid_for_every_text(text: str) -> None:
    value = label_value(text)
    assert is_label_value(value)
    assert label_value(text) == value
    if is_label_value(text):
        assert value == text


@NO_DEADLINE
@given(st.text(min_size=64, max_size=300), st.text(min_size=64, max_size=300))
def test_property_long_texts_with_a_common_prefix_get_distinct_label_values(first: str, second: str) -> None:
    if (
        first != second
        and hashlib.sha256(first.encode("utf-8", "surrogatepass")).digest()[:4]
        != hashlib.sha256(second.encode("utf-8", "surrogatepass")).digest()[:4]
    ):
        assert label_value(first) != label_value(second)


@NO_DEADLINE
@given(TASK_NAMES, TASK_NAMES, UIDS, ATTEMPTS, TASK_NAMES)
def test_property_origin_labels_are_valid_label_values(
    hub: str, namespace: str, uid: str, attempt: int, task_name: str
) -> None:
    labels = origin_labels(hub, namespace[:63], task_name, uid, attempt, task_name)
    assert all(is_label_value(value) for value in labels.values())
    assert hub_selector(hub).endswith(f"{HUB_LABEL}={labels[HUB_LABEL]}")


DNS1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
"""``IsDNS1035Label`` (k8s.io/apimachinery@v0.36.3/pkg/util/validation/validation.go), at most 63 characters."""


@pytest.mark.parametrize(
    ("task_name", "stem"),
    [
        pytest.param("9js-train", "t-9js-train-", id="a leading digit gets t- in front"),
        pytest.param("0.0.0", "t-0-0-0-", id="digits and dots only"),
        pytest.param("1" * 63, "t-" + "1" * 28 + "-", id="a long name of digits is cut after the t-"),
        pytest.param("train", "train-", id="a name starting with a letter is kept"),
        pytest.param("...", "task-", id="nothing usable left: the fixed stem, a letter already"),
    ],
)
@pytest.mark.parametrize("limit", [pytest.param(40, id="JobSet, LWS, Ray"), pytest.param(63, id="63")])
def test_a_kind_whose_names_are_dns1035_labels_gets_a_letter_first(task_name: str, stem: str, limit: int) -> None:
    """JobSet, LeaderWorkerSet and KubeRay refuse names that are not DNS-1035 labels (a letter first)."""
    name = job_name(task_name, UID, 7, limit, letter_first=True)
    assert DNS1035_LABEL.match(name), name
    assert len(name) <= limit
    assert name.startswith(stem[: limit - len(f"-{hashlib.sha256(UID.encode()).hexdigest()[:8]}-7")].rstrip("-"))
    assert name.endswith("-7")


def test_a_job_keeps_its_leading_digit() -> None:
    """A Job's name is a DNS-1123 label, which may start with a digit: names of running Jobs stay as they were."""
    assert job_name("9js-train", UID, 1).startswith("9js-train-")
