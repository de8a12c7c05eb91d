"""The helpdesk's shared kernel: event contracts, topic and component names, settings, logging and the
Dapr adapters. It is the only code the four services share; services never import each other."""
