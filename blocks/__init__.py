"""Block Kit templates (Jinja2 → JSON), shipped as package data of slack_app."""
