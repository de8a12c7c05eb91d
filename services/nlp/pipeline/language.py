"""Language of a message: English, Japanese, or other (see `helpdesk.text.detect_language`)."""

from __future__ import annotations

from helpdesk.text import detect_language

__all__ = ["detect_language"]
