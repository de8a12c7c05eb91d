"""gateway: the helpdesk's front door (HTTP API, web chat, Teams), and where answers are delivered."""
