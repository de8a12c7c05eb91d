"""Adapters from the helpdesk's ports (publish events, keep state, read flags and secrets) to Dapr.

Only this package talks to the sidecar. Services depend on the small protocols in `ports.py`, so domain
code and unit tests run without a sidecar, and the integration tests run the same code against a real
`daprd`.
"""
