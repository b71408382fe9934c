"""Talking to Slack's Web API: per-workspace clients, the shared rate budget, and the effect queue
that carries out what committed changes owe Slack."""
