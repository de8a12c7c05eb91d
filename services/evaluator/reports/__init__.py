"""Offline evaluation reports: golden-set cases, their scores, CSV and HTML, and the CI thresholds."""
