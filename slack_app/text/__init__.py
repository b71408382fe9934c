"""Words and Block Kit: the gettext catalogs per language (locales/) and the Jinja rendering of blocks/
with its escaping filters, which print the ids of ids.py. Imports nothing of the app but ids.py."""
