"""What operator tooling (helpdesk_ops, bench) may use of the gateway, and nothing else of it
(an import-linter contract holds tooling to the services' `public` modules).

- The service as `helpdesk.serve` starts it, and its settings: `create_app`, `GatewaySettings` (the
  in-process load benchmark).
- The cap on the operators' index of open handoffs, `OPEN_HANDOFFS_LISTED` (the soak judges that key
  against it: it has no TTL).
"""

from __future__ import annotations

from services.gateway.app import create_app
from services.gateway.desk.books import OPEN_HANDOFFS_LISTED
from services.gateway.settings import GatewaySettings

__all__ = ["OPEN_HANDOFFS_LISTED", "GatewaySettings", "create_app"]
