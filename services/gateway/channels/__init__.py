"""The gateway's channels besides the plain HTTP API: the web chat page and Microsoft Teams."""
