"""The ComputeTask lifecycle as one pure function: ``transition(status, event, now, task) -> Outcome``.

Every change the operator can observe (a placement decision, each answer a member can give to a
create, what the Job watch reports, a member lost or back, the task deleted or preempted) is a
named event (``vocabulary``). ``transition`` decides the next typed status and the effects: member calls,
Events, timers and metrics that the executor (``tasks/executor.py``) carries out. The hub write
follows from the status alone: when the outcome's status differs, it is written.

Each (phase, event) pair has one outcome a reader can check in ``tests/unit/tasks/test_lifecycle.py``;
pairs that change nothing say why in ``Outcome.note``. The rules that keep a task from ever being
stuck without a reason:

- a retryable member answer (403, 401, 404 namespace, 429, 5xx, timeout, not connected, an error of
  our own) keeps the task Dispatching with a ``Dispatched=False`` condition naming the answer and
  the time of the next try, and a ``RetryAt`` timer with capped exponential backoff;
- a permanent refusal (400/422 invalid, a name owned by someone else) fails the task with the
  member's message cut to the API's limits, starting with the identifier's name;
- a Job that vanishes, a member lost for longer than the grace period (unreachable, Secret gone,
  identifier deleted), a serving workload unavailable past its bound (``lifecycle/serving.py``;
  ``Available=False`` with the member's words meanwhile) and a preemption end the attempt: per
  ``spec.failover.policy`` the task is placed again as a new attempt or fails; usage of the
  abandoned attempt is kept;
- ``spec.suspend: true`` on a dispatched task ends its attempt the same way (Job removed, usage kept,
  capacity released) and leaves it Offered, whatever the failover policy: the user asked for the stop;
- an edit of what runs that reached a dispatched task (``lifecycle/edits.py``) ends its attempt the
  same way and places the task again with the edited spec: spec and what runs never diverge;
- messages are clipped to what the API accepts, so the hub never refuses a status for its size.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from computenet.api.common import Condition
from computenet.api.conditions import condition as make_condition
from computenet.api.conditions import set_conditions
from computenet.api.constants import ConditionStatus, ConditionType, FailoverPolicy, Phase, Reason
from computenet.api.fields import format_time
from computenet.api.task import ComputeTaskStatus, Cost, Explanation, PodSetUsage, Usage
from computenet.tasks.lifecycle.avoidance import AVOID_AFTER, avoid
from computenet.tasks.lifecycle.vocabulary import (
    ACTIVE,
    CONDITION_MESSAGE_LIMIT,
    EVENT_MESSAGE_LIMIT,
    MESSAGE_LIMIT,
    STAGING_POLL_S,
    TERMINAL,
    WAITING,
    Admitted,
    CountDispatched,
    CountFailover,
    CountFinished,
    Deleted,
    Dispatch,
    DispatchCreated,
    DispatchRefused,
    DispatchRetryable,
    Drained,
    Effect,
    Emit,
    Event,
    Fence,
    JobFinished,
    JobGone,
    JobRunning,
    MemberBack,
    MemberLost,
    MeterData,
    NoFit,
    OffersFound,
    Outcome,
    OutputsPushed,
    Placed,
    PodsUnschedulable,
    PoolMissing,
    Preempted,
    RecheckAt,
    Release,
    ReplicasUnavailable,
    RetryAt,
    RetryDue,
    SpecInvalid,
    Staging,
    StagingFailed,
    StartFailed,
    SuspendRequested,
    TaskFacts,
    UnavailableTooLong,
    Wake,
    WorkloadEdited,
    already_waiting,
    backoff,
    clip,
    condition,
    phase_of,
)
from computenet.tasks.metering import Metered

HOLD_NEW_S = 1.0
"""A new task's Pending status waits this long: the scheduler's decision, milliseconds later, carries it."""
HOLD_CREATED_S = 5.0
"""A created Job's reference waits this long: the Job usually runs by then, and Running carries it."""


def transition(status: ComputeTaskStatus, event: Event, now: dt.datetime, task: TaskFacts) -> Outcome:
    """The next status and effects of a task at ``now`` after ``event``; never raises for any pair."""
    phase = phase_of(status)
    handler = _HANDLERS[type(event)]
    outcome: Outcome = handler(_Ctx(status, phase, now, task), event)
    if outcome.status is not status:
        outcome = Outcome(
            outcome.status.model_copy(update={"observed_generation": task.generation}),
            outcome.effects,
            outcome.note,
            outcome.write_after,
        )
    return outcome


@dataclass(frozen=True)
class _Ctx:
    status: ComputeTaskStatus
    phase: Phase | None
    now: dt.datetime
    task: TaskFacts

    def same(self, note: str, *effects: Effect) -> Outcome:
        return Outcome(self.status, tuple(effects), note)

    def update(self, conditions: Sequence[Condition] = (), **fields: Any) -> ComputeTaskStatus:
        if conditions:
            fields["conditions"] = set_conditions(self.status.conditions, conditions, self.now, self.task.generation)
        return self.status.model_copy(update=fields)

    def cond(self, type_: ConditionType, status: bool | None, reason: str, message: str) -> Condition:
        return make_condition(
            type_, status, reason, clip(message, CONDITION_MESSAGE_LIMIT), generation=self.task.generation
        ).model_copy(update={"last_transition_time": self.now})

    @property
    def identifier(self) -> str | None:
        return self.status.placement.identifier if self.status.placement else None

    def current(self, identifier: str, attempt: int) -> bool:
        return self.identifier == identifier and self.status.attempt == attempt


def accrue(status: ComputeTaskStatus, ran: Metered | None) -> dict[str, Any]:
    """Fields adding one attempt's usage and cost to the task's totals (summed over attempts)."""
    if ran is None:
        return {}
    usage = status.usage or Usage()
    by_model = dict(usage.gpu_seconds_by_model or {})
    if ran.model and ran.accelerator_seconds:
        by_model[ran.model] = round(by_model.get(ran.model, 0.0) + ran.accelerator_seconds, 3)
    cost = status.cost
    amount = (cost.amount if cost else 0.0) + ran.cost
    roles = dict(usage.pod_sets or {})
    for role, part in ran.roles:
        was = roles.get(role) or PodSetUsage()
        roles[role] = PodSetUsage(
            gpu_seconds=round(was.gpu_seconds + part.accelerator_seconds, 3),
            core_seconds=round(was.core_seconds + part.core_seconds, 3),
            memory_gib_seconds=round(was.memory_gib_seconds + part.memory_gib_seconds, 3),
            cost=round(was.cost + part.cost, 6),
        )
    return {
        "usage": Usage(
            gpu_seconds=round(usage.gpu_seconds + ran.accelerator_seconds, 3),
            core_seconds=round(usage.core_seconds + ran.core_seconds, 3),
            memory_gib_seconds=round(usage.memory_gib_seconds + ran.memory_gib_seconds, 3),
            gpu_seconds_by_model=by_model or None,
            pod_sets=roles or None,
        ),
        "cost": Cost(amount=round(amount, 6), currency=ran.currency if ran.cost or cost is None else cost.currency),
    }


def _admitted(c: _Ctx, e: Admitted) -> Outcome:
    if e.checking:
        return _checking(c, e.checking)
    valid = c.cond(ConditionType.VALID, True, Reason.VALID, "spec is valid")
    if c.phase is None:
        status = c.update((valid,), phase=Phase.PENDING, attempt=c.status.attempt, summary=c.task.summary)
        return Outcome(status, (Wake(),), write_after=HOLD_NEW_S)
    if c.phase in WAITING:
        old = condition(c.status, ConditionType.VALID)
        if old is not None and old.status == ConditionStatus.TRUE and c.status.summary == c.task.summary:
            return c.same("already valid and waiting: the scheduler looks again", Wake())
        # Right after the hub's verdict, the scheduler's decision is milliseconds away: it carries the write.
        after = HOLD_NEW_S if old is not None and old.reason == Reason.VALIDATING else 0.0
        return Outcome(c.update((valid,), summary=c.task.summary), (Wake(),), write_after=after)
    if c.phase == Phase.DISPATCHING and c.status.remote is None:
        return c.same("resumed mid-dispatch: create or adopt the same attempt's Job", Dispatch(c.status.attempt))
    if c.phase in ACTIVE:
        return c.same("dispatched: the Job watch follows it", Fence())
    return c.same("finished: nothing to do")


def _checking(c: _Ctx, message: str) -> Outcome:
    """A waiting task whose Job awaits the hub's verdict: Valid=Unknown saying so, and no Wake."""
    if c.phase is not None and c.phase not in WAITING:
        return c.same("dispatched or finished: only a waiting task awaits the hub's verdict")
    old = condition(c.status, ConditionType.VALID)
    judged = (ConditionStatus.TRUE, ConditionStatus.FALSE)
    if old is not None and old.status in judged and old.observed_generation == c.task.generation:
        return c.same("judged at this generation before (a restart): the verdict is awaited without a write")
    checking = c.cond(ConditionType.VALID, None, Reason.VALIDATING, message)
    same = old is not None and (old.status, old.message, old.observed_generation) == (
        ConditionStatus.UNKNOWN,
        checking.message,
        c.task.generation,
    )
    if same:
        return c.same("already awaiting the hub's verdict")
    status = c.update((checking,), phase=c.phase or Phase.PENDING, attempt=c.status.attempt, summary=c.task.summary)
    return Outcome(status, write_after=HOLD_NEW_S)


def _spec_invalid(c: _Ctx, e: SpecInvalid) -> Outcome:
    if c.phase in TERMINAL:
        return c.same("finished: an edit changes nothing")
    invalid = c.cond(ConditionType.VALID, False, Reason.INVALID_SPEC, e.message)
    old = condition(c.status, ConditionType.VALID)
    effects: tuple[Effect, ...] = ()
    if old is None or old.status != ConditionStatus.FALSE or old.message != invalid.message:
        effects = (Emit(Reason.INVALID_SPEC, e.message, warning=True),)
    if c.phase in ACTIVE:  # the running work is left alone; the refusal of the edit is recorded
        return Outcome(c.update((invalid,)), effects)
    return Outcome(c.update((invalid,), phase=Phase.PENDING, offers=None), effects)


def _waiting(c: _Ctx, reason: Reason, message: str, explanation: Explanation | None = None) -> Outcome:
    if c.phase in ACTIVE or c.phase in TERMINAL:
        return c.same("decided after the task moved on: stale, dropped")
    if already_waiting(c.status, reason, message):
        return c.same("the same reason is already on the task")
    old = condition(c.status, ConditionType.PLACED)
    effects: tuple[Effect, ...] = ()
    if old is None or old.reason != reason:
        effects = (Emit(reason, message, warning=True),)
    placed = c.cond(ConditionType.PLACED, False, reason, message)
    return Outcome(c.update((placed,), phase=Phase.PENDING, offers=None, explanation=explanation), effects)


def _pool_missing(c: _Ctx, e: PoolMissing) -> Outcome:
    return _waiting(c, Reason.POOL_NOT_FOUND, e.message)


def _no_fit(c: _Ctx, e: NoFit) -> Outcome:
    return _waiting(c, e.reason, e.message, e.explanation)


def _offers_found(c: _Ctx, e: OffersFound) -> Outcome:
    if c.phase in ACTIVE or c.phase in TERMINAL:
        return c.same("decided after the task moved on: stale, dropped")
    offers = list(e.offers)
    if c.phase == Phase.OFFERED and (c.status.offers or []) == offers:
        return c.same("the same offers are already on the task")
    placed = c.cond(ConditionType.PLACED, False, Reason.OFFERS_READY, e.message)
    status = c.update((placed,), phase=Phase.OFFERED, offers=offers, explanation=e.explanation)
    return Outcome(status, (Emit(Reason.OFFERS_READY, e.message),))


def _placed(c: _Ctx, e: Placed) -> Outcome:
    if c.phase in ACTIVE or c.phase in TERMINAL:
        return c.same("decided after the task moved on: stale, dropped")
    attempt = c.status.attempt + 1
    message = f"{e.message} for attempt {attempt}" + (f"; {e.caveat}" if e.caveat else "")
    status = c.update(
        (
            c.cond(ConditionType.PLACED, True, Reason.PLACED, message),
            c.cond(ConditionType.DISPATCHED, None, Reason.PLACED, f"creating the Job in {e.placement.identifier}"),
        ),
        phase=Phase.DISPATCHING,
        placement=e.placement,
        attempt=attempt,
        offers=None,
        explanation=None,
        remote=None,
        start_time=None,
    )
    return Outcome(status, (Dispatch(attempt),))


def _dispatch_created(c: _Ctx, e: DispatchCreated) -> Outcome:
    if c.phase not in ACTIVE:
        return c.same("answer for an attempt that was abandoned: the Job is stale", Fence())
    if not c.current(e.remote.identifier, c.status.attempt):
        return c.same("answer for another identifier: the Job is stale", Fence())
    verb = "adopted" if e.adopted else "created"
    what = f"Job {e.remote.namespace}/{e.remote.name} {verb} in {e.remote.identifier}"
    if c.phase == Phase.RUNNING or c.status.remote == e.remote:
        if c.status.remote is not None:
            return c.same("already recorded (the watch saw the Job first)")
        return Outcome(c.update(remote=e.remote), write_after=HOLD_CREATED_S)
    dispatched = c.cond(ConditionType.DISPATCHED, True, Reason.DISPATCHED, what)
    placed = condition(c.status, ConditionType.PLACED)
    effects: list[Effect] = [Emit(Reason.DISPATCHED, f"{what}; placed on {placed.message}" if placed else what)]
    if not e.adopted:
        effects.append(CountDispatched(e.remote.identifier))
    return Outcome(c.update((dispatched,), remote=e.remote), tuple(effects), write_after=HOLD_CREATED_S)


def _dispatch_retryable(c: _Ctx, e: DispatchRetryable) -> Outcome:
    if c.phase != Phase.DISPATCHING or c.status.remote is not None:
        return c.same("answer that no longer matters: the task moved on or its Job exists")
    delay = backoff(e.failures)
    at = c.now + dt.timedelta(seconds=delay)
    where = c.identifier or "the member"
    message = f"{where} answered: {e.message}; try {e.failures} failed, next try at {format_time(at)} (in {delay:.0f}s)"
    old = condition(c.status, ConditionType.DISPATCHED)
    effects: list[Effect] = [RetryAt(at)]
    if old is None or old.reason != e.reason:
        effects.insert(0, Emit(e.reason, clip(f"{where} answered: {e.message}", EVENT_MESSAGE_LIMIT), warning=True))
    dispatched = c.cond(ConditionType.DISPATCHED, False, e.reason, message)
    return Outcome(c.update((dispatched,)), tuple(effects))


def _fail(c: _Ctx, reason: Reason, message: str, ran: Metered | None = None, **extra: Any) -> Outcome:
    message = clip(message, MESSAGE_LIMIT)
    status = c.update(
        (c.cond(ConditionType.DISPATCHED, False, reason, message),),
        phase=Phase.FAILED,
        completion_time=c.now,
        message=message,
        **accrue(c.status, ran),
        **extra,
    )
    return Outcome(
        status,
        (
            Emit(reason, clip(message, EVENT_MESSAGE_LIMIT), warning=True),
            Release(),
            Fence(),
            CountFinished(Phase.FAILED, c.identifier, ran),
        ),
    )


def _dispatch_refused(c: _Ctx, e: DispatchRefused) -> Outcome:
    if c.phase != Phase.DISPATCHING or c.status.remote is not None:
        return c.same("answer that no longer matters: the task moved on or its Job exists")
    return _fail(c, Reason.DISPATCH_FAILED, f"{c.identifier} refused the Job: {e.message}")


def _retry_due(c: _Ctx, e: RetryDue) -> Outcome:
    if c.phase == Phase.DISPATCHING and c.status.remote is None:
        return c.same("try the dispatch again", Dispatch(c.status.attempt))
    return c.same("no dispatch is waiting for a retry")


def _available_again(c: _Ctx) -> list[Condition]:
    """``Available=True`` where an earlier ``Available=False`` (this attempt's or an older one's) stands."""
    old = condition(c.status, ConditionType.AVAILABLE)
    if old is None or old.status == ConditionStatus.TRUE:
        return []
    what = f"every replica of attempt {c.status.attempt} is available"
    return [c.cond(ConditionType.AVAILABLE, True, Reason.AVAILABLE, what)]


def _job_running(c: _Ctx, e: JobRunning) -> Outcome:
    if c.phase not in ACTIVE or not c.current(e.remote.identifier, e.attempt):
        return c.same("not the current attempt: the follower removes stale Jobs")
    again = _available_again(c)
    if c.phase == Phase.RUNNING:
        if again:
            return Outcome(c.update(again))
        return c.same("already Running")
    fields: dict[str, Any] = {"phase": Phase.RUNNING, "start_time": e.started}
    if c.status.remote is not None:
        return Outcome(c.update(again, **fields))
    # The watch shows the Job before any create answered: made before a restart, it is adopted.
    what = f"Job {e.remote.namespace}/{e.remote.name} adopted in {e.remote.identifier}"
    dispatched = c.cond(ConditionType.DISPATCHED, True, Reason.DISPATCHED, what)
    return Outcome(c.update((dispatched, *again), remote=e.remote, **fields), (Emit(Reason.DISPATCHED, what),))


def _replicas_unavailable(c: _Ctx, e: ReplicasUnavailable) -> Outcome:
    """A Running serving task's replicas are not all available: ``Available=False`` in the member's words.

    Its transition time starts the bound (``lifecycle/serving.py``); the words are kept current
    without moving it. Before the task first ran, the bound counts from dispatch and nothing is written.
    """
    if c.phase != Phase.RUNNING or not c.current(e.identifier, e.attempt):
        return c.same("not Running, or not the current attempt: until it first runs, the bound counts from dispatch")
    old = condition(c.status, ConditionType.AVAILABLE)
    was_down = old is not None and old.status == ConditionStatus.FALSE and old.last_transition_time is not None
    since = old.last_transition_time if was_down and old is not None and old.last_transition_time else c.now
    due = since + dt.timedelta(seconds=c.task.unavailable_s)
    message = (
        f"{e.identifier}: {e.message}; failover policy {c.task.failover} applies at {format_time(due)} "
        "if they stay unavailable"
    )
    down = c.cond(ConditionType.AVAILABLE, False, Reason.UNAVAILABLE, message)
    if was_down and old is not None and old.message == down.message:
        return c.same("already unavailable, in the same words")
    effects: tuple[Effect, ...] = ()
    if not was_down:
        effects = (Emit(Reason.UNAVAILABLE, clip(message, EVENT_MESSAGE_LIMIT), warning=True),)
    return Outcome(c.update((down,)), effects)


def _unavailable_too_long(c: _Ctx, e: UnavailableTooLong) -> Outcome:
    if c.phase not in ACTIVE or not c.current(e.identifier, e.attempt):
        return c.same("not the current attempt: nothing waits for it")
    return _end_attempt(c, Reason.UNAVAILABLE, e.message, e.ran, c.task.failover)


def _job_finished(c: _Ctx, e: JobFinished) -> Outcome:
    if c.phase not in ACTIVE or not c.current(e.remote.identifier, e.attempt):
        return c.same("not the current attempt: the follower removes stale Jobs")
    out = e.outputs
    booked: dict[str, Any] = {}
    metered: tuple[Effect, ...] = ()
    if out is not None:
        booked["conditions"] = _outputs_condition(c, out)
        booked["data"] = out.data
        if out.moved or out.charges:
            queue = c.status.placement.queue if c.status.placement else None
            metered = (MeterData(out.provider, queue or "", out.moved, out.charges),)
        if e.succeeded and out.failure is not None:
            return _outputs_lost(c, e, out, booked, metered)
    succeeded = e.succeeded
    phase = Phase.SUCCEEDED if succeeded else Phase.FAILED
    reason = Reason.JOB_SUCCEEDED if succeeded else Reason.JOB_FAILED
    text = e.message or f"Job {e.remote.namespace}/{e.remote.name} {phase.lower()}"
    status = c.update(
        phase=phase,
        remote=c.status.remote or e.remote,
        start_time=e.started,
        completion_time=e.ended,
        message=None if succeeded else clip(text, MESSAGE_LIMIT),
        **accrue(c.status, e.ran),
        **booked,
    )
    total = status.cost
    spent = f"cost {total.amount:.4f} {total.currency}" if total else "no cost"
    note = f"{text}; ran {e.ran.seconds:.0f}s, {spent}"
    return Outcome(
        status,
        (
            Emit(reason, clip(note, EVENT_MESSAGE_LIMIT), warning=not succeeded),
            Release(),
            CountFinished(phase, e.remote.identifier, e.ran),
            *metered,
        ),
    )


def _outputs_condition(c: _Ctx, out: OutputsPushed) -> list[Condition]:
    """``OutputsUploaded``: True with what landed, or False in the store's words; set with the other conditions."""
    if out.failure is not None:
        cond = c.cond(ConditionType.OUTPUTS_UPLOADED, False, Reason.OUTPUTS_UPLOAD_FAILED, out.failure)
    else:
        outputs = out.data.outputs or []
        landed = sum(o.bytes or 0 for o in outputs)
        what = f"{len(outputs)} output{'s' if len(outputs) != 1 else ''} at their destinations, {landed} bytes"
        cond = c.cond(ConditionType.OUTPUTS_UPLOADED, True, Reason.OUTPUTS_UPLOADED, what)
    return set_conditions(c.status.conditions, [cond], c.now, c.task.generation)


def _outputs_lost(
    c: _Ctx, e: JobFinished, out: OutputsPushed, booked: dict[str, Any], metered: tuple[Effect, ...]
) -> Outcome:
    """The workload succeeded but an output did not arrive: the task did not deliver, so it did not succeed.

    Its outputs lived in the pods' volume, gone with them: only running the work again can make them.
    A store's refusal would refuse them again, so the task fails whatever the failover policy (a
    second run would be paid for nothing); otherwise the policy decides, as for a lost attempt, and
    ``Requeue`` runs a new attempt elsewhere for a while (the identifier's way to the store failed).
    The attempt's usage and cost are the task's either way: the compute ran.
    """
    where = c.identifier or "?"
    why = f"its workload succeeded but its outputs did not arrive: {out.failure}"
    ctx = _Ctx(c.status.model_copy(update=booked), c.phase, c.now, c.task)
    if not out.refused and c.task.failover != FailoverPolicy.NEVER:
        ended = _end_attempt(ctx, Reason.OUTPUTS_UPLOAD_FAILED, why, e.ran, FailoverPolicy.REQUEUE)
        return Outcome(ended.status, (*ended.effects, *metered))
    rule = "the store refused, and would refuse a second run too" if out.refused else "failover policy is Never"
    message = clip(f"{where}: {why}; {rule}", MESSAGE_LIMIT)
    status = ctx.update(
        (ctx.cond(ConditionType.DISPATCHED, False, Reason.OUTPUTS_UPLOAD_FAILED, message),),
        phase=Phase.FAILED,
        remote=c.status.remote or e.remote,
        start_time=e.started,
        completion_time=e.ended,
        message=message,
        **accrue(c.status, e.ran),
    )
    return Outcome(
        status,
        (
            Emit(Reason.OUTPUTS_UPLOAD_FAILED, clip(message, EVENT_MESSAGE_LIMIT), warning=True),
            Release(),
            CountFinished(Phase.FAILED, e.remote.identifier, e.ran),
            *metered,
        ),
    )


def _end_attempt(c: _Ctx, reason: Reason, why: str, ran: Metered | None, policy: str) -> Outcome:
    """The current attempt is abandoned: place the task again, or fail it, per the failover policy."""
    where = c.identifier or "?"
    if policy == FailoverPolicy.NEVER:
        return _fail(c, reason, f"{where}: {why}; failover policy is Never", ran)
    avoided = c.status.avoided_identifiers
    if reason in AVOID_AFTER and c.identifier:
        avoided = avoid(avoided, c.identifier, str(reason), c.now)
    status = c.update(
        (
            c.cond(ConditionType.PLACED, False, reason, f"{where}: {why}; placing attempt {c.status.attempt + 1}"),
            c.cond(ConditionType.DISPATCHED, False, reason, f"attempt {c.status.attempt} on {where} abandoned: {why}"),
        ),
        phase=Phase.PENDING,
        placement=None,
        remote=None,
        start_time=None,
        avoided_identifiers=avoided,
        message=clip(f"attempt {c.status.attempt} on {where} abandoned: {why}", MESSAGE_LIMIT),
        **accrue(c.status, ran),
    )
    return Outcome(
        status,
        (
            Emit(
                Reason.REQUEUED,
                clip(f"{where}: {why}; placing attempt {c.status.attempt + 1}", EVENT_MESSAGE_LIMIT),
                True,
            ),
            Release(),
            Fence(),
            CountFailover(where),
        ),
    )


def _job_gone(c: _Ctx, e: JobGone) -> Outcome:
    if c.phase not in ACTIVE or not c.current(e.identifier, e.attempt):
        return c.same("not the current attempt: nothing was lost")
    return _end_attempt(c, Reason.JOB_GONE, e.message, e.ran, c.task.failover)


def _pods_unschedulable(c: _Ctx, e: PodsUnschedulable) -> Outcome:
    if c.phase not in ACTIVE or not c.current(e.identifier, e.attempt):
        return c.same("not the current attempt: nothing waits for it")
    return _end_attempt(c, Reason.UNSCHEDULABLE, e.message, None, c.task.failover)


def _start_failed(c: _Ctx, e: StartFailed) -> Outcome:
    if c.phase != Phase.DISPATCHING or not c.current(e.identifier, e.attempt):
        return c.same("not the current attempt, or it started: nothing waits for it")
    return _end_attempt(c, Reason.PODS_NOT_STARTED, e.message, None, c.task.failover)


def _member_lost(c: _Ctx, e: MemberLost) -> Outcome:
    if c.phase not in ACTIVE or c.identifier != e.identifier:
        return c.same("the task does not run there")
    due = e.since + dt.timedelta(seconds=c.task.grace_period_s)
    if c.now < due:
        message = (
            f"{e.identifier} lost since {format_time(e.since)} ({e.why}); failover policy {c.task.failover} "
            f"applies at {format_time(due)}"
        )
        old = condition(c.status, ConditionType.DISPATCHED)
        if old is not None and old.reason == Reason.MEMBER_LOST and old.message == message:
            return c.same("already waiting out the grace period", RecheckAt(due))
        lost = c.cond(ConditionType.DISPATCHED, None, Reason.MEMBER_LOST, message)
        return Outcome(c.update((lost,)), (RecheckAt(due),))
    return _end_attempt(c, Reason.MEMBER_LOST, f"lost since {format_time(e.since)} ({e.why})", e.ran, c.task.failover)


def _drained(c: _Ctx, e: Drained) -> Outcome:
    if c.phase not in ACTIVE or not c.current(e.identifier, e.attempt):
        return c.same("not the current attempt: nothing ran there")
    return _end_attempt(c, Reason.IDENTIFIER_REMOVED, e.message, e.ran, c.task.failover)


def _member_back(c: _Ctx, e: MemberBack) -> Outcome:
    old = condition(c.status, ConditionType.DISPATCHED)
    if c.phase not in ACTIVE or c.identifier != e.identifier or old is None or old.reason != Reason.MEMBER_LOST:
        return c.same("nothing was waiting for this member")
    remote = c.status.remote
    if remote is None:
        back = c.cond(ConditionType.DISPATCHED, None, Reason.PLACED, f"{e.identifier} is back; creating the Job")
        return Outcome(c.update((back,)), (Dispatch(c.status.attempt),))
    what = f"Job {remote.namespace}/{remote.name} in {remote.identifier} (member back)"
    return Outcome(c.update((c.cond(ConditionType.DISPATCHED, True, Reason.DISPATCHED, what),)))


def _deleted(c: _Ctx, e: Deleted) -> Outcome:
    if c.phase in TERMINAL:
        return c.same("finished: the finalizer removes its Jobs", Release())
    status = c.update(phase=Phase.CANCELLED, completion_time=c.now)
    return Outcome(
        status,
        (
            Emit(Reason.CANCELLED, "deleted: removing its Jobs"),
            Release(),
            CountFinished(Phase.CANCELLED, c.identifier, None),
        ),
    )


def _preempted(c: _Ctx, e: Preempted) -> Outcome:
    if c.phase not in ACTIVE:
        return c.same("holds no capacity: nothing to preempt")
    return _end_attempt(c, Reason.PREEMPTED, f"preempted by {e.by}", e.ran, FailoverPolicy.REQUEUE)


def _suspend_requested(c: _Ctx, e: SuspendRequested) -> Outcome:
    """``spec.suspend: true`` on a dispatched task is carried out: the attempt ends and the task is offered.

    Its Job goes (``Fence``: an Offered task keeps no Job), the usage and cost it ran up stay on the
    task, its capacity is released, and the scheduler collects offers as for any suspended task.
    Lifting suspend places a new attempt. Unlike a failover, the failover policy plays no part: the
    user asked for the stop.
    """
    if c.phase in TERMINAL:
        return c.same("finished: nothing runs to suspend")
    if c.phase not in ACTIVE:
        return c.same("nothing dispatched: a waiting suspended task only collects offers")
    where = c.identifier or "?"
    stopped = f"spec.suspend is true: attempt {c.status.attempt} on {where} stopped"
    status = c.update(
        (
            c.cond(
                ConditionType.PLACED,
                False,
                Reason.SUSPENDED,
                f"{stopped}; collecting offers, set spec.suspend to false to run a new attempt",
            ),
            c.cond(ConditionType.DISPATCHED, False, Reason.SUSPENDED, f"{stopped}; its Job is removed from {where}"),
        ),
        phase=Phase.OFFERED,
        placement=None,
        remote=None,
        start_time=None,
        offers=None,
        explanation=None,
        message=f"attempt {c.status.attempt} on {where} stopped: spec.suspend is true",
        **accrue(c.status, e.ran),
    )
    return Outcome(status, (Emit(Reason.SUSPENDED, clip(stopped, EVENT_MESSAGE_LIMIT)), Release(), Fence()))


def _workload_edited(c: _Ctx, e: WorkloadEdited) -> Outcome:
    """An edit of what runs reached a dispatched task: carried out as a new attempt with the edited spec.

    The running attempt cannot take it in, so it ends as a suspension does (Job removed, usage kept,
    capacity released) and the task is placed again, whatever the failover policy: spec and what
    runs must not diverge.
    """
    if c.phase in TERMINAL:
        return c.same("finished: an edit changes nothing")
    if c.phase not in ACTIVE:
        return c.same("nothing dispatched: the next placement reads the edited spec")
    where = c.identifier or "?"
    changed = ", ".join(f"spec.{field}" for field in e.fields)
    ended = f"{changed} changed after attempt {c.status.attempt} on {where} was dispatched"
    status = c.update(
        (
            c.cond(
                ConditionType.PLACED,
                False,
                Reason.SPEC_CHANGED,
                f"{ended}; placing attempt {c.status.attempt + 1} with the edited spec",
            ),
            c.cond(ConditionType.DISPATCHED, False, Reason.SPEC_CHANGED, f"{ended}; its Job is removed from {where}"),
        ),
        phase=Phase.PENDING,
        placement=None,
        remote=None,
        start_time=None,
        message=clip(
            f"attempt {c.status.attempt} on {where} abandoned: {changed} changed after dispatch", MESSAGE_LIMIT
        ),
        **accrue(c.status, e.ran),
    )
    emitted = Emit(
        Reason.SPEC_CHANGED, clip(f"{ended}: the attempt ends, a new one runs it", EVENT_MESSAGE_LIMIT), True
    )
    return Outcome(status, (emitted, Release(), Fence()))


def _staging(c: _Ctx, e: Staging) -> Outcome:
    if c.phase != Phase.DISPATCHING or not c.current(e.identifier, e.attempt) or c.status.remote is not None:
        return c.same("staging news of an attempt that moved on: nothing waits for it")
    reason = Reason.STAGED if e.done else Reason.STAGING
    staged = c.cond(ConditionType.DATA_STAGED, e.done, reason, e.message)
    effects: list[Effect] = [] if e.done else [RetryAt(c.now + dt.timedelta(seconds=STAGING_POLL_S))]
    old = condition(c.status, ConditionType.DATA_STAGED)
    if old is not None and old.reason == reason and old.message == staged.message and c.status.data == e.data:
        return c.same("no staging progress since the last read", *effects)
    if old is None or old.reason != reason:
        effects.insert(0, Emit(reason, clip(f"{e.identifier}: {e.message}", EVENT_MESSAGE_LIMIT)))
    return Outcome(c.update((staged,), data=e.data), tuple(effects))


def _staging_failed(c: _Ctx, e: StagingFailed) -> Outcome:
    if c.phase != Phase.DISPATCHING or not c.current(e.identifier, e.attempt) or c.status.remote is not None:
        return c.same("staging news of an attempt that moved on: nothing waits for it")
    staged = c.cond(ConditionType.DATA_STAGED, False, Reason.STAGING_FAILED, e.message)
    failed = _Ctx(c.update((staged,), data=e.data), c.phase, c.now, c.task)
    return _end_attempt(failed, Reason.STAGING_FAILED, f"staging failed: {e.message}", None, c.task.failover)


_HANDLERS: dict[type[Any], Any] = {
    Admitted: _admitted,
    SpecInvalid: _spec_invalid,
    PoolMissing: _pool_missing,
    NoFit: _no_fit,
    OffersFound: _offers_found,
    Placed: _placed,
    DispatchCreated: _dispatch_created,
    DispatchRetryable: _dispatch_retryable,
    DispatchRefused: _dispatch_refused,
    RetryDue: _retry_due,
    JobRunning: _job_running,
    JobFinished: _job_finished,
    JobGone: _job_gone,
    PodsUnschedulable: _pods_unschedulable,
    StartFailed: _start_failed,
    ReplicasUnavailable: _replicas_unavailable,
    UnavailableTooLong: _unavailable_too_long,
    MemberLost: _member_lost,
    Drained: _drained,
    MemberBack: _member_back,
    Deleted: _deleted,
    Preempted: _preempted,
    SuspendRequested: _suspend_requested,
    WorkloadEdited: _workload_edited,
    Staging: _staging,
    StagingFailed: _staging_failed,
}
