"""Microsoft Teams: Bot Framework activities in on `/api/messages`, proactive replies out.

`channel` handles the webhook, `webhook` routes to it, `activities` reads an activity, `token_checks`
checks the Bot Framework's tokens, `connector` is the Bot Connector client, `sender` pushes replies
through it and `cards` says what replies look like.
"""
