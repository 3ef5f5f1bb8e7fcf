"""Test and development substrate: real control planes on loopback, and helpers for tests.

Nothing here is imported by the operator itself; it exists so that tests, benchmarks and
`make dev-up` run against real kube-apiservers instead of mocks.
"""
