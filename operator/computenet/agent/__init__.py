"""The member agent (pull mode): ``computenet agent`` runs inside a member under its provider's control.

It watches its own cluster's nodes and pods with the reflectors and fidelity rules the hub uses on a
push member, reports a coalesced node-level summary into its ComputeAgent on the hub, renews its
Lease there as its heartbeat, and pulls the work placed on it: for each ComputeWork in its namespace
it creates (or adopts) the Job under the work's deterministic name, mirrors the Job's status into the
work, and deletes Jobs whose work the hub removed (older attempts, cancelled or orphaned tasks).
The hub never holds a credential for the member; the agent holds one limited to its namespace.
"""
