"""Status of every kind the operator owns, decided in pure tables and written one way.

``writer``: the one writer for the hub (keyed by kind, namespace and name; the latest status wins;
writes of one object in order; bounded concurrency; retries). ``budget``: which writes are urgent
and which wait for a shared budget (the kubelet's rule for node status). ``vocabulary`` and the
tables ``identifier_transitions``, ``pool_transitions`` and ``queue_transitions``: each kind's pure
``transition(record, event, now) -> Outcome(status, effects)``, as the task lifecycle's. ``identifiers``
and ``pools``: the passes that compute those kinds' statuses from the members' live state, ask their
tables what is due and hand it to the writer under the budget rule (queues: ``tasks.settlement``).
"""
