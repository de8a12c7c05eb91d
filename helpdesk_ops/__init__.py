"""Operator tooling: the local stack runner, seeding, flags, dead-letter inspection and replay, the
intent model's training and benchmark, and the offline evaluation of a golden set.

This is the only code allowed to talk to Redis or Service Bus directly (services go through Dapr). It
uses a service only through that service's `public` module (an import-linter contract).
"""
