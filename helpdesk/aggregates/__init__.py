"""Exactly-once folding of per-event contributions into sharded aggregates, written in batches.

The port and its guarantee are in `helpdesk.aggregates.ledger`; `ShardedLedger` implements it over the
state store; `Tally` is what one contribution adds.
"""

from helpdesk.aggregates.ledger import AggregateLedger, LedgerFact, LedgerPosition, NotYetCounted
from helpdesk.aggregates.sharded_ledger import ShardedLedger
from helpdesk.aggregates.tally import Tally, bucket_key, day_of, hour_of, split_bucket

__all__ = [
    "AggregateLedger",
    "LedgerFact",
    "LedgerPosition",
    "NotYetCounted",
    "ShardedLedger",
    "Tally",
    "bucket_key",
    "day_of",
    "hour_of",
    "split_bucket",
]
