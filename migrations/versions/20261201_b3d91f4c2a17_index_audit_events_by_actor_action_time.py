"""index audit events by actor, action and time

The pharmacy counter's guessing throttle counts one user's failed lookups of the last hour on
every lookup; this index keeps that count to the few rows it needs.

Revision ID: b3d91f4c2a17
Revises: 5e1c0a7d9b42
Create Date: 2026-12-01 15:45:00.000000+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = 'b3d91f4c2a17'
down_revision: str | None = '5e1c0a7d9b42'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_audit_events_actor_action_time", "audit_events",
                    ["actor_id", "action", "occurred_at"])


def downgrade() -> None:
    op.drop_index("ix_audit_events_actor_action_time", table_name="audit_events")
