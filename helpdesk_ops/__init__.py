"""Operator tooling: the local stack runner, seeding, flags, dead-letter inspection and replay.

This is the only code allowed to talk to Redis or Service Bus directly (services go through Dapr).
"""
