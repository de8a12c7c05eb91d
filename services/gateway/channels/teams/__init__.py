"""Microsoft Teams: Bot Framework activities in on `/api/messages`, proactive replies out.

`channel` holds the webhook and the sender, `auth` the token checks, `connector` the Bot Connector
client, `cards` what replies look like.
"""

from services.gateway.channels.teams.channel import TeamsChannel, TeamsSender

__all__ = ["TeamsChannel", "TeamsSender"]
