"""visit transition state indexes

Revision ID: 3c5e9a1f7b42
Revises: 5e1d0a7c3b21
Create Date: 2026-12-07 15:00:00.000000+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = '3c5e9a1f7b42'
down_revision: str | None = '5e1d0a7c3b21'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# plain index operations, not a batch: a batch that copied the table on SQLite would drop the
# triggers that keep it append-only


def upgrade() -> None:
    op.create_index('ix_visit_transitions_to_state_at', 'visit_transitions', ['to_state', 'at'])
    op.create_index('ix_visit_transitions_from_state_at', 'visit_transitions', ['from_state', 'at'])


def downgrade() -> None:
    op.drop_index('ix_visit_transitions_from_state_at', table_name='visit_transitions')
    op.drop_index('ix_visit_transitions_to_state_at', table_name='visit_transitions')
