"""ratings cases complaints

Revision ID: a52225470fb9
Revises: fbcb57b9fad3
Create Date: 2026-11-22 18:50:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import station.models.base

revision: str = 'a52225470fb9'
down_revision: str | None = 'fbcb57b9fad3'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('archived_records',
    sa.Column('entity_type', sa.String(length=32), nullable=False),
    sa.Column('entity_id', sa.Integer(), nullable=False),
    sa.Column('archived_at', station.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('record_date', station.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('archive_file', sa.String(length=300), nullable=False),
    sa.Column('archive_sha256', sa.String(length=64), nullable=False),
    sa.Column('deleted_at', station.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_archived_records')),
    sa.UniqueConstraint('entity_type', 'entity_id', name=op.f('uq_archived_records_entity_type_entity_id'))
    )
    op.create_table('ratings',
    sa.Column('visit_id', sa.Integer(), nullable=False),
    sa.Column('level', sa.Enum('very_satisfied', 'satisfied', 'basically_satisfied', 'dissatisfied', 'very_dissatisfied', name='ratinglevel', native_enum=False, length=24), nullable=False),
    sa.Column('bad', sa.Boolean(), nullable=False),
    sa.Column('reasons', sa.JSON(), nullable=False),
    sa.Column('comment', sa.String(length=500), nullable=True),
    sa.Column('channel', sa.Enum('kiosk', 'progress_page', 'pickup_window', name='ratingchannel', native_enum=False, length=16), nullable=False),
    sa.Column('rated_at', station.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('archived_at', station.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['visit_id'], ['visits.id'], name=op.f('fk_ratings_visit_id_visits')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ratings')),
    sa.UniqueConstraint('visit_id', name=op.f('uq_ratings_visit_id'))
    )
    with op.batch_alter_table('ratings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ratings_bad'), ['bad'], unique=False)
        batch_op.create_index(batch_op.f('ix_ratings_rated_at'), ['rated_at'], unique=False)

    op.create_table('feedback_cases',
    sa.Column('kind', sa.Enum('bad_rating', 'complaint', name='casekind', native_enum=False, length=16), nullable=False),
    sa.Column('rating_id', sa.Integer(), nullable=True),
    sa.Column('visit_id', sa.Integer(), nullable=True),
    sa.Column('category', sa.Enum('scalper', 'fee', 'service', 'other', name='complaintcategory', native_enum=False, length=16), nullable=True),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('description', sa.String(length=2000), nullable=False),
    sa.Column('contact_name', sa.String(length=64), nullable=True),
    sa.Column('contact_phone', sa.String(length=20), nullable=True),
    sa.Column('plate', sa.String(length=16), nullable=True),
    sa.Column('state', sa.Enum('open', 'in_progress', 'closed', name='casestate', native_enum=False, length=16), nullable=False),
    sa.Column('opened_at', station.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('due_at', station.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('assignee_id', sa.Integer(), nullable=True),
    sa.Column('callback_at', station.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('callback_by', sa.String(length=64), nullable=True),
    sa.Column('callback_note', sa.String(length=2000), nullable=True),
    sa.Column('findings', sa.String(length=4000), nullable=True),
    sa.Column('outcome', sa.Enum('fixed', 'explained', 'disputed_mistaken', 'disputed_malicious', name='caseoutcome', native_enum=False, length=24), nullable=True),
    sa.Column('closed_at', station.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('closed_by', sa.String(length=64), nullable=True),
    sa.Column('escalated_at', station.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('archived_at', station.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['assignee_id'], ['users.id'], name=op.f('fk_feedback_cases_assignee_id_users')),
    sa.ForeignKeyConstraint(['rating_id'], ['ratings.id'], name=op.f('fk_feedback_cases_rating_id_ratings')),
    sa.ForeignKeyConstraint(['visit_id'], ['visits.id'], name=op.f('fk_feedback_cases_visit_id_visits')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_feedback_cases')),
    sa.UniqueConstraint('rating_id', name=op.f('uq_feedback_cases_rating_id'))
    )
    with op.batch_alter_table('feedback_cases', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_feedback_cases_assignee_id'), ['assignee_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_feedback_cases_due_at'), ['due_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_feedback_cases_kind'), ['kind'], unique=False)
        batch_op.create_index(batch_op.f('ix_feedback_cases_opened_at'), ['opened_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_feedback_cases_state'), ['state'], unique=False)
        batch_op.create_index(batch_op.f('ix_feedback_cases_visit_id'), ['visit_id'], unique=False)

    op.create_table('case_evidence',
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('filename', sa.String(length=200), nullable=False),
    sa.Column('content_type', sa.String(length=100), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('stored_as', sa.String(length=300), nullable=False),
    sa.Column('uploaded_at', station.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('uploaded_by', sa.String(length=64), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['feedback_cases.id'], name=op.f('fk_case_evidence_case_id_feedback_cases')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_evidence'))
    )
    with op.batch_alter_table('case_evidence', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_evidence_case_id'), ['case_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('case_evidence', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_evidence_case_id'))

    op.drop_table('case_evidence')
    with op.batch_alter_table('feedback_cases', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_feedback_cases_visit_id'))
        batch_op.drop_index(batch_op.f('ix_feedback_cases_state'))
        batch_op.drop_index(batch_op.f('ix_feedback_cases_opened_at'))
        batch_op.drop_index(batch_op.f('ix_feedback_cases_kind'))
        batch_op.drop_index(batch_op.f('ix_feedback_cases_due_at'))
        batch_op.drop_index(batch_op.f('ix_feedback_cases_assignee_id'))

    op.drop_table('feedback_cases')
    with op.batch_alter_table('ratings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ratings_rated_at'))
        batch_op.drop_index(batch_op.f('ix_ratings_bad'))

    op.drop_table('ratings')
    op.drop_table('archived_records')
