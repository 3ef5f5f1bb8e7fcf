"""Status of every kind the operator owns, written one way: typed models through one coalescing writer.

``writer``: the one writer for the hub (keyed by kind, namespace and name; the latest status wins;
writes of one object in order; bounded concurrency; retries). ``budget``: which writes are urgent
and which wait for a shared budget (the kubelet's rule for node status). ``identifiers`` and
``pools``: the passes that compute those kinds' statuses from the members' live state and hand
them to the writer under the budget rule.
"""
