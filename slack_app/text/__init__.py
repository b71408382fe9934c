"""Words and Block Kit: the gettext catalogs per language (locales/) and the Jinja rendering of blocks/
with its escaping filters. Imports nothing else of the app."""
