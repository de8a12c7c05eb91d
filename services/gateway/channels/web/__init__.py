"""The web chat channel: the page at `/`, its static assets, and the sessions that stand in for API keys."""
