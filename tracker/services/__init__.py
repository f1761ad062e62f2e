"""Use cases, one module per aggregate: patients, records, prescriptions, authorizations,
dispenses, pharmacies, users, tokens, audit. Each loads what it needs, asks the domain, writes
rows and their audit events in the caller's transaction (services flush, never commit, and
undo no more than their own savepoint) and never imports Flask. The pages' read models are in
`queries`, which never write."""
