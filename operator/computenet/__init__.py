"""computenet: federate many Kubernetes clusters into one compute pool.

Providers register member clusters as ComputeIdentifiers, platform teams group them into
ComputePools, users submit ComputeTasks; the operator finds compute that fits, dispatches the
work there, follows it to the end and meters it.
"""

__version__ = "0.1.0"
