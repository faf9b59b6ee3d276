"""Component ids, declared once."""

MAIN = "main"
URL = "url"
POLL = "poll"
STATUS = "data-status"
FILTERS = "filters"
BANNER = "data-banner"
NAV = "nav"
FROM = "filter-from"
TO = "filter-to"
SOURCE = "filter-source"
CONTENT = "page-content"  # each page's figures, rendered by that page's callback
PING = "ping"  # the trivial callback bench/dashboard.py measures as its floor
PONG = "pong"
