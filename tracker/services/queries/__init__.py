"""Read models for pages: worklists, histories, lists and audit queries. They only read:
nothing here adds, flushes, updates or audits (a test walks their code)."""
