"""The two loops a person starts: gen (a new iteration from a request) and heal (patch until green)."""
