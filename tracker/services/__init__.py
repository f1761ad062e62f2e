"""Use cases. Each loads what it needs, asks the domain, writes rows and their audit events in
the caller's transaction (services flush, never commit) and never imports Flask."""
