"""Slack wiring: one module per surface, each registering its listeners on the app."""

from slack_bolt.async_app import AsyncApp

from ..services import Services
from . import actions, commands, events, shortcuts, views, workflow_steps


def register_listeners(app: AsyncApp, services: Services) -> None:
    for surface in (commands, shortcuts, views, actions, events, workflow_steps):
        surface.register(app, services)
