"""The knowledge contract every part of the helpdesk shares: what a knowledge item is (`entries`) and
how knowledge files are read (`files`). The `kb.updated` event (`helpdesk.events.KbUpdated`) carries
these items; dialogue indexes them, the evaluator keeps a copy, the operator tools publish them.

Nothing is imported here: the event contracts import `entries` without loading the file reader.
"""
