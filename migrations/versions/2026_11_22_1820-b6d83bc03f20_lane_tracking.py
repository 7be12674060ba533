"""lane tracking

Revision ID: b6d83bc03f20
Revises: eae17d079a09
Create Date: 2026-11-22 18:20:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import station.models.base

revision: str = 'b6d83bc03f20'
down_revision: str | None = 'eae17d079a09'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KIND = sa.Enum('arrived', 'finished', 'left', name='positionkind', native_enum=False, length=16)
SOURCE = sa.Enum('terminal', 'device', 'camera', name='positionsource', native_enum=False,
                 length=16)


def upgrade() -> None:
    op.create_table('position_events',
    sa.Column('visit_id', sa.Integer(), nullable=False),
    sa.Column('lane_id', sa.Integer(), nullable=False),
    sa.Column('station_id', sa.Integer(), nullable=True),
    sa.Column('kind', KIND, nullable=False),
    sa.Column('source', SOURCE, nullable=False),
    sa.Column('rank', sa.Integer(), nullable=False),
    sa.Column('at', station.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('recorded_at', station.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('applied', sa.Boolean(), nullable=False),
    sa.Column('actor_name', sa.String(length=64), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['lane_id'], ['lanes.id'], name=op.f('fk_position_events_lane_id_lanes')),
    sa.ForeignKeyConstraint(['station_id'], ['lane_stations.id'], name=op.f('fk_position_events_station_id_lane_stations')),
    sa.ForeignKeyConstraint(['visit_id'], ['visits.id'], name=op.f('fk_position_events_visit_id_visits')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_position_events')),
    sa.UniqueConstraint('visit_id', 'lane_id', 'rank', 'source', name=op.f('uq_position_events_visit_id_lane_id_rank_source'))
    )
    with op.batch_alter_table('position_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_position_events_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_position_events_visit_id'), ['visit_id'], unique=False)

    op.create_table('vehicle_positions',
    sa.Column('visit_id', sa.Integer(), nullable=False),
    sa.Column('lane_id', sa.Integer(), nullable=False),
    sa.Column('station_id', sa.Integer(), nullable=True),
    sa.Column('kind', KIND, nullable=False),
    sa.Column('rank', sa.Integer(), nullable=False),
    sa.Column('since', station.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['lane_id'], ['lanes.id'], name=op.f('fk_vehicle_positions_lane_id_lanes')),
    sa.ForeignKeyConstraint(['station_id'], ['lane_stations.id'], name=op.f('fk_vehicle_positions_station_id_lane_stations')),
    sa.ForeignKeyConstraint(['visit_id'], ['visits.id'], name=op.f('fk_vehicle_positions_visit_id_visits')),
    sa.PrimaryKeyConstraint('visit_id', name=op.f('pk_vehicle_positions'))
    )
    with op.batch_alter_table('vehicle_positions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_vehicle_positions_lane_id'), ['lane_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('vehicle_positions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_vehicle_positions_lane_id'))
    op.drop_table('vehicle_positions')
    with op.batch_alter_table('position_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_position_events_visit_id'))
        batch_op.drop_index(batch_op.f('ix_position_events_at'))
    op.drop_table('position_events')
