"""index the days the program report counts by

The program report counts the authorizations issued, the dispenses and the refusals of a
period; without these indexes each of its statements reads its whole table. The indexes of
authorizations and dispenses hold every column the report reads of them, so a period's rows are
read from the index alone, in the order of their days.

Revision ID: 35e7da270ab3
Revises: 9ca415ea004c
Create Date: 2026-12-01 21:30:00.000000+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = '35e7da270ab3'
down_revision: str | None = '9ca415ea004c'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_authorizations_issued_on", "authorizations",
                    ["issued_on", "state", "do_not_dispense_after", "patient_id",
                     "prescription_id"])
    op.create_index("ix_dispenses_dispensed_on", "dispenses",
                    ["dispensed_on", "authorization_id", "prescription_id", "pharmacy_id"])
    op.create_index("ix_audit_events_action_time", "audit_events", ["action", "occurred_at"])


def downgrade() -> None:
    op.drop_index("ix_audit_events_action_time", table_name="audit_events")
    op.drop_index("ix_dispenses_dispensed_on", table_name="dispenses")
    op.drop_index("ix_authorizations_issued_on", table_name="authorizations")
