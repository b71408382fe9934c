"""`slack-ask playground`: the real app against a local stand-in for Slack, with a web page for its surfaces.

checks.py says what Slack would reject, slack_api.py answers the Web API, payloads.py builds and
signs what Slack sends the app, and server.py puts them behind one port with the page in static/.
The tests' fake Slack (tests/fake_slack.py, tests/slack_requests.py) is built on the same modules.
"""
