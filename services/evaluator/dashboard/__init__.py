"""The operators' dashboard: server-rendered pages (jinja2, autoescaped) with a small chart script.

Everything it shows comes from the same read models as the operator API. User and model text is only
ever inserted by the template engine's escaping or as text nodes, the chart data travels as JSON in a
non-executable script element, and a strict Content-Security-Policy allows only this package's own
script and stylesheet (nothing is fetched from elsewhere).
"""

from pathlib import Path

STATIC_DIR = Path(__file__).resolve().parent / "static"
