"""Tests of the pure rules engine (tracker.domain): no database, no Flask."""
