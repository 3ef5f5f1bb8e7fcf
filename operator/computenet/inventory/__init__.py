"""The SIG-Multicluster Cluster Inventory API (ClusterProfile, KEP-4322) on the hub.

When the hub has the ``clusterprofiles.multicluster.x-k8s.io`` CRD, the operator publishes each Ready
ComputeIdentifier as a ClusterProfile (``publisher.py``), so tools that speak the standard inventory
see the pool's compute. ``profile.py`` decides what a profile says and ``throttle.py`` how often it may
change, both pure; ``imported.py`` maps the profiles of another cluster manager onto identifiers and
``importer.py`` applies that mapping on the hub, with credentials from the access provider's exec
plugin (``exec_credential.py``). docs/inventory.md describes the mapping.
"""
