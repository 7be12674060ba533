"""evidence photos

Revision ID: 5e1d0a7c3b21
Revises: a52225470fb9
Create Date: 2026-11-22 19:00:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import station.models.base

revision: str = '5e1d0a7c3b21'
down_revision: str | None = 'a52225470fb9'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('evidence_photos',
    sa.Column('visit_id', sa.Integer(), nullable=False),
    sa.Column('station_id', sa.Integer(), nullable=True),
    sa.Column('device_id', sa.Integer(), nullable=True),
    sa.Column('moment', sa.Enum('arrived', 'left', name='evidencemoment', native_enum=False, length=16), nullable=False),
    sa.Column('path', sa.String(length=300), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('width', sa.Integer(), nullable=False),
    sa.Column('height', sa.Integer(), nullable=False),
    sa.Column('taken_at', station.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('archived_at', station.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['device_id'], ['hardware_devices.id'], name=op.f('fk_evidence_photos_device_id_hardware_devices')),
    sa.ForeignKeyConstraint(['station_id'], ['lane_stations.id'], name=op.f('fk_evidence_photos_station_id_lane_stations')),
    sa.ForeignKeyConstraint(['visit_id'], ['visits.id'], name=op.f('fk_evidence_photos_visit_id_visits')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_evidence_photos'))
    )
    with op.batch_alter_table('evidence_photos', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_evidence_photos_taken_at'), ['taken_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_evidence_photos_visit_id'), ['visit_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('evidence_photos', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_evidence_photos_visit_id'))
        batch_op.drop_index(batch_op.f('ix_evidence_photos_taken_at'))

    op.drop_table('evidence_photos')
