"""Pure rules: asks, offers, availability, working hours, coaching, prefill, the digest and insights
figures. No Slack, no Redis: unit-tested directly."""
