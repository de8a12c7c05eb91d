"""The front desk: the gateway's work between its routes and the ports, one class per responsibility.

`TurnIntake` takes a user's message in, `TurnReader` shows turns and conversations to their owner,
`AnswerDesk` stores answers coming back and hands them to whoever waits, `HandoffPlaces` keeps each
user's share of the agents' queue, `HandoffDesk` runs handoffs to a person and `FeedbackDesk` takes
ratings. Each is plain Python told the ports it uses (the state store through `Books`, the event
publisher, the flags) and says no by raising the gateway's `DomainError`s.
"""
