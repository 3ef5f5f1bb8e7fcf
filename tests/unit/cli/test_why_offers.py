"""The plugin's why, offers and accept read a task's status as the operator writes it, without a cluster."""

from __future__ import annotations

import io
from typing import Any

import pytest

from computenet.cli import offers, why
from computenet.cli.errors import CliError
from computenet.cli.main import main
from computenet.cli.output import Column, table


def placed_task() -> dict[str, Any]:
    return {
        "metadata": {"name": "train", "namespace": "research"},
        "spec": {"suspend": False},
        "status": {
            "phase": "Running",
            "conditions": [
                {
                    "type": "Placed",
                    "status": "True",
                    "reason": "Placed",
                    "message": "member-1 (score 80.0) for attempt 1",
                    "lastTransitionTime": "2026-11-30T12:00:00Z",
                }
            ],
            "placement": {
                "identifier": "member-1",
                "explanation": {
                    "considered": 4,
                    "fitting": 2,
                    "candidates": [
                        {"identifier": "member-1", "score": 80.0, "scores": {"Fit": 90.0, "Price": 70.0}},
                        {"identifier": "member-3", "score": 60.0, "scores": {"Fit": 50.0, "Price": 70.0}},
                    ],
                    "rejected": [
                        {
                            "identifier": "member-2",
                            "filter": "Accelerator",
                            "reason": "AcceleratorMismatch",
                            "message": "its schedulable nodes offer NVIDIA-L4",
                        }
                    ],
                    "rejectedOmitted": 1,
                },
            },
        },
    }


def offered_task() -> dict[str, Any]:
    return {
        "metadata": {"name": "train", "namespace": "research"},
        "spec": {"suspend": True},
        "status": {
            "phase": "Offered",
            "offers": [
                {"identifier": "member-1", "score": 80.0, "fit": 90.0, "pricePerHour": 3.5, "currency": "USD"},
                {"identifier": "member-3", "score": 60.0, "fit": 50.0},
            ],
        },
    }


def test_why_lists_the_chosen_the_runners_up_and_the_rejected_in_that_order() -> None:
    doc = why.explain(placed_task())
    assert [(r["identifier"], r["verdict"]) for r in doc["identifiers"]] == [
        ("member-1", "chosen"),
        ("member-3", "fits"),
        ("member-2", "rejected"),
    ]
    assert (doc["considered"], doc["fitting"], doc["rejectedOmitted"]) == (4, 2, 1)
    rows, columns = why.table_rows(doc)
    text = table(rows, columns, wide=False).splitlines()
    assert text[0].split() == ["IDENTIFIER", "VERDICT", "SCORE", "FIT", "PRICE", "REASON"]
    assert text[1].split() == ["member-1", "chosen", "80.0", "90.0", "70.0", "-"]
    assert text[3].split()[:3] == ["member-2", "rejected", "<none>"]
    assert text[3].endswith("Accelerator: its schedulable nodes offer NVIDIA-L4")
    assert "1 more rejected identifiers" in why.footer(doc)


def test_why_of_an_offered_task_shows_its_offers() -> None:
    doc = why.explain(offered_task())
    assert [(r["identifier"], r["verdict"]) for r in doc["identifiers"]] == [
        ("member-1", "offer"),
        ("member-3", "offer"),
    ]
    assert doc["identifiers"][1]["scores"] == {"Fit": 50.0}


def test_why_of_a_waiting_task_lists_every_verdict_written_with_its_condition() -> None:
    task = placed_task()
    explanation = task["status"]["placement"]["explanation"]
    task["status"] = {
        "phase": "Pending",
        "explanation": {**explanation, "fitting": 0, "candidates": []},
    }
    doc = why.explain(task)
    assert doc["chosen"] is None
    assert [(r["identifier"], r["verdict"], r.get("filter")) for r in doc["identifiers"]] == [
        ("member-2", "rejected", "Accelerator")
    ]
    assert (doc["considered"], doc["fitting"], doc["rejectedOmitted"]) == (4, 0, 1)


def test_why_of_an_offered_task_adds_the_rejected_after_its_offers() -> None:
    task = offered_task()
    task["status"]["explanation"] = placed_task()["status"]["placement"]["explanation"]
    doc = why.explain(task)
    assert [(r["identifier"], r["verdict"]) for r in doc["identifiers"]] == [
        ("member-1", "offer"),
        ("member-3", "offer"),
        ("member-2", "rejected"),
    ]


def test_why_of_a_task_without_a_decision_says_so() -> None:
    doc = why.explain({"metadata": {"name": "t", "namespace": "ns"}, "status": {}})
    assert doc["identifiers"] == []
    assert why.footer(doc) == (
        "no decision with runners-up on ns/t yet (phase Pending): --live asks placement again on the operator's "
        "live snapshot"
    )


@pytest.mark.parametrize(
    ("identifier", "expected"),
    [
        pytest.param(None, "member-1", id="no identifier accepts the best offer"),
        pytest.param("member-3", "member-3", id="a named offer is accepted even when it is not the best"),
    ],
)
def test_accept_pins_the_offer_and_lifts_suspend(identifier: str | None, expected: str) -> None:
    chosen = offers.choose(offered_task(), identifier)
    assert offers.accept_patch(chosen) == {"spec": {"identifier": expected, "suspend": False}}


@pytest.mark.parametrize(
    ("task", "identifier", "message"),
    [
        pytest.param(
            offered_task(),
            "member-9",
            "member-9 is not among the offers of train (member-1, member-3)",
            id="unknown offer",
        ),
        pytest.param(
            placed_task(),
            None,
            "no offers for research/train (phase Running): offers are made while spec.suspend is true",
            id="a running task has no offers",
        ),
    ],
)
def test_accept_refuses_what_is_not_an_offer(task: dict[str, Any], identifier: str | None, message: str) -> None:
    with pytest.raises(CliError, match="^" + message.replace("(", r"\(").replace(")", r"\)") + "$"):
        offers.choose(task, identifier)


def test_offers_rows_format_the_price() -> None:
    rows = offers.rows(offers.offers_of(offered_task()))
    assert rows[0]["price"] == "3.50 USD"
    assert "price" not in rows[1]


def test_table_aligns_columns_like_kubectl_and_hides_wide_ones() -> None:
    columns = [Column("NAME", "name"), Column("URI", "uri", wide=True)]
    rows = [{"name": "a", "uri": "cpi://x"}, {"name": "longer"}]
    assert table(rows, columns, wide=False) == "NAME\na\nlonger"
    assert table(rows, columns, wide=True) == "NAME     URI\na        cpi://x\nlonger   <none>"


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["why"])
    assert exit_.value.code == 2
    with pytest.raises(SystemExit) as exit_:
        main(["nonsense"])
    assert exit_.value.code == 2


def test_an_unreadable_kubeconfig_is_one_line_and_exit_1(tmp_path: Any, capsys: pytest.CaptureFixture[str]) -> None:
    out = io.StringIO()
    code = main(["why", "t", "--kubeconfig", str(tmp_path / "missing")], out)
    assert code == 1
    err = capsys.readouterr().err
    assert err.startswith("error: cannot read the kubeconfig")
    assert err.count("\n") == 1


@pytest.mark.parametrize("verb", ["why", "offers", "accept", "logs", "simulate", "top", "snapshot"])
def test_every_verb_has_help_that_exits_0(verb: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main([verb, "--help"])
    assert exit_.value.code == 0
    text = capsys.readouterr().out
    assert text.startswith(f"usage: kubectl computenet {verb}")
    assert "--kubeconfig" in text
    assert "--namespace" in text


@pytest.mark.parametrize(
    ("verb", "formats"),
    [
        pytest.param("why", ["table", "wide", "json", "yaml"], id="why"),
        pytest.param("offers", ["table", "wide", "json", "yaml"], id="offers"),
        pytest.param("accept", ["table", "wide", "json", "yaml"], id="accept"),
        pytest.param("simulate", ["table", "wide", "json", "yaml"], id="simulate"),
        pytest.param("top", ["table", "wide", "json", "yaml"], id="top"),
        pytest.param("snapshot", ["json", "yaml"], id="snapshot"),
    ],
)
def test_verbs_that_print_objects_take_kubectls_output_formats(
    verb: str, formats: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        main([verb, "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "-o {" + ",".join(formats) + "}" in text
