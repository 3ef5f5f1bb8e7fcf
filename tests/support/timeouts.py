"""Every timeout the tests wait with, in one place.

They are generous on purpose: the suite runs on a loaded 2-core machine, and a timeout only
bounds how long a failing test takes, never how long a passing one does.
"""

POLL_INTERVAL_S = 0.1
STATE_S = 30.0  # an object reaches a state the system promises "soon" (seconds)
JOB_S = 60.0  # a Job or task runs to completion on kwok
STATUS_FOLLOW_S = 5.0  # identifier status follows a member change (the product promises 5 s)
MEMBER_DOWN_S = 45.0  # a member outage is noticed (the product promises 30 s)
BURST_S = 300.0  # hundreds of tasks run to completion
