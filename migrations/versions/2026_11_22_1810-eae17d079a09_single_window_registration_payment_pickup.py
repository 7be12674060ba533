"""single window registration payment pickup

Revision ID: eae17d079a09
Revises: ec67ac0552d4
Create Date: 2026-11-22 18:10:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import station.models.base

revision: str = 'eae17d079a09'
down_revision: str | None = 'ec67ac0552d4'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('window_documents',
    sa.Column('kind', sa.Enum('receipt', 'report', 'retest', name='documentkind', native_enum=False, length=16), nullable=False),
    sa.Column('visit_id', sa.Integer(), nullable=False),
    sa.Column('counter_id', sa.Integer(), nullable=True),
    sa.Column('title', sa.String(length=64), nullable=False),
    sa.Column('lines', sa.JSON(), nullable=False),
    sa.Column('state', sa.Enum('pending', 'printed', 'failed', name='documentprintstate', native_enum=False, length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('error', sa.String(length=200), nullable=True),
    sa.Column('created_at', station.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('printed_at', station.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['counter_id'], ['counters.id'], name=op.f('fk_window_documents_counter_id_counters')),
    sa.ForeignKeyConstraint(['visit_id'], ['visits.id'], name=op.f('fk_window_documents_visit_id_visits')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_window_documents'))
    )
    with op.batch_alter_table('window_documents', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_window_documents_state'), ['state'], unique=False)
        batch_op.create_index(batch_op.f('ix_window_documents_visit_id'), ['visit_id'], unique=False)

    op.create_table('window_payments',
    sa.Column('visit_id', sa.Integer(), nullable=False),
    sa.Column('receipt_no', sa.String(length=24), nullable=False),
    sa.Column('state', sa.Enum('paid', 'voided', 'refunded', name='paymentstate', native_enum=False, length=16), nullable=False),
    sa.Column('method', sa.Enum('cash', 'wechat', 'alipay', 'unionpay', 'free', name='paymentmethod', native_enum=False, length=16), nullable=False),
    sa.Column('reference', sa.String(length=64), nullable=False),
    sa.Column('amount_fen', sa.Integer(), nullable=False),
    sa.Column('price_list_version', sa.Integer(), nullable=True),
    sa.Column('items', sa.JSON(), nullable=False),
    sa.Column('paid_at', station.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('paid_by', sa.Integer(), nullable=True),
    sa.Column('counter_id', sa.Integer(), nullable=True),
    sa.Column('cancelled_at', station.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('cancelled_by', sa.Integer(), nullable=True),
    sa.Column('cancel_reason', sa.String(length=200), nullable=True),
    sa.Column('refund_reference', sa.String(length=64), nullable=True),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['cancelled_by'], ['users.id'], name=op.f('fk_window_payments_cancelled_by_users')),
    sa.ForeignKeyConstraint(['counter_id'], ['counters.id'], name=op.f('fk_window_payments_counter_id_counters')),
    sa.ForeignKeyConstraint(['paid_by'], ['users.id'], name=op.f('fk_window_payments_paid_by_users')),
    sa.ForeignKeyConstraint(['visit_id'], ['visits.id'], name=op.f('fk_window_payments_visit_id_visits')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_window_payments')),
    sa.UniqueConstraint('receipt_no', name=op.f('uq_window_payments_receipt_no'))
    )
    with op.batch_alter_table('window_payments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_window_payments_visit_id'), ['visit_id'], unique=False)
        batch_op.create_index('uq_window_payments_visit_paid', ['visit_id'], unique=True, sqlite_where=sa.text("state = 'paid'"), postgresql_where=sa.text("state = 'paid'"))

    op.create_table('window_registrations',
    sa.Column('visit_id', sa.Integer(), nullable=False),
    sa.Column('counter_id', sa.Integer(), nullable=True),
    sa.Column('status_codes', sa.String(length=8), nullable=True),
    sa.Column('queried_at', station.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('vin_warning_confirmed', sa.Boolean(), nullable=False),
    sa.Column('insurance_state', sa.Enum('verified', 'missing', 'agency', name='insurancestate', native_enum=False, length=16), nullable=False),
    sa.Column('insurance_until', sa.Date(), nullable=True),
    sa.Column('insurance_verified_at', station.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('insurance_note', sa.String(length=200), nullable=True),
    sa.Column('registered_at', station.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('registered_by', sa.Integer(), nullable=True),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['counter_id'], ['counters.id'], name=op.f('fk_window_registrations_counter_id_counters')),
    sa.ForeignKeyConstraint(['registered_by'], ['users.id'], name=op.f('fk_window_registrations_registered_by_users')),
    sa.ForeignKeyConstraint(['visit_id'], ['visits.id'], name=op.f('fk_window_registrations_visit_id_visits')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_window_registrations')),
    sa.UniqueConstraint('visit_id', name=op.f('uq_window_registrations_visit_id'))
    )
    op.create_table('window_retests',
    sa.Column('failed_visit_id', sa.Integer(), nullable=False),
    sa.Column('retest_visit_id', sa.Integer(), nullable=False),
    sa.Column('free_until', sa.Date(), nullable=False),
    sa.Column('failed_items', sa.JSON(), nullable=False),
    sa.Column('repair_stations', sa.JSON(), nullable=False),
    sa.Column('created_at', station.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_window_retests_created_by_users')),
    sa.ForeignKeyConstraint(['failed_visit_id'], ['visits.id'], name=op.f('fk_window_retests_failed_visit_id_visits')),
    sa.ForeignKeyConstraint(['retest_visit_id'], ['visits.id'], name=op.f('fk_window_retests_retest_visit_id_visits')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_window_retests')),
    sa.UniqueConstraint('failed_visit_id', name=op.f('uq_window_retests_failed_visit_id')),
    sa.UniqueConstraint('retest_visit_id', name=op.f('uq_window_retests_retest_visit_id'))
    )


def downgrade() -> None:
    op.drop_table('window_retests')
    op.drop_table('window_registrations')
    with op.batch_alter_table('window_payments', schema=None) as batch_op:
        batch_op.drop_index('uq_window_payments_visit_paid', sqlite_where=sa.text("state = 'paid'"), postgresql_where=sa.text("state = 'paid'"))
        batch_op.drop_index(batch_op.f('ix_window_payments_visit_id'))

    op.drop_table('window_payments')
    with op.batch_alter_table('window_documents', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_window_documents_visit_id'))
        batch_op.drop_index(batch_op.f('ix_window_documents_state'))

    op.drop_table('window_documents')
