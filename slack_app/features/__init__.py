"""What the app does for people, one module a feature: routing an ask to helpers, its lifecycle, offers,
the Home tab, digests, insights, personal data. Uses the domain's rules, the store and Slack's Web API;
knows nothing about Bolt."""
