from __future__ import annotations

from helpdesk.settings import ServiceSettings


class NlpSettings(ServiceSettings):
    pass
