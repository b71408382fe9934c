"""Slack's and operators' way in: the Bolt app and its listeners, the HTTP server, middleware, the
background worker loops, and the Services that hand every feature to them. The only layer that knows Bolt."""
