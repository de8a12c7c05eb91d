"""dialogue: turns `chat.analyzed` into `chat.answered` or `chat.escalated`, remembering the conversation."""
