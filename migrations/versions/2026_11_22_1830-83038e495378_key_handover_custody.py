"""key handover custody: key cabinet slots, the key of each visit with its one current holder,
the append-only chain of custody (key_movements; triggers refuse UPDATE and DELETE) and
handover photos.

Revision ID: 83038e495378
Revises: b6d83bc03f20
Create Date: 2026-11-22 18:30:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import station.models.base

revision: str = '83038e495378'
down_revision: str | None = 'b6d83bc03f20'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

HOLDER = sa.Enum('owner', 'desk', 'runner', 'lane', 'cabinet', name='keyholderkind',
                 native_enum=False, length=16)
STAGE = sa.Enum('handed_over', 'claimed', 'released', 'at_lane', 'collected', 'in_cabinet',
                'returned', name='keystage', native_enum=False, length=16)
ACTOR = sa.Enum('user', 'device', 'system', 'owner', name='actorkind', native_enum=False,
                length=16)
IN_USE = "holder_kind <> 'owner'"
HOLDER_FITS = (
    "(holder_kind = 'runner' AND holder_user_id IS NOT NULL AND holder_lane_id IS NULL) OR "
    "(holder_kind = 'lane' AND holder_lane_id IS NOT NULL AND holder_user_id IS NULL) OR "
    "(holder_kind IN ('owner', 'desk', 'cabinet') AND holder_user_id IS NULL "
    "AND holder_lane_id IS NULL)"
)
RETURNED_FITS = ("(holder_kind = 'owner' AND returned_at IS NOT NULL) OR "
                 "(holder_kind <> 'owner' AND returned_at IS NULL)")


def _append_only_triggers() -> None:
    """Like audit_log: the movement log refuses UPDATE and DELETE (the PostgreSQL function
    station_refuse_change() comes from the first migration)."""
    postgres = op.get_bind().dialect.name == "postgresql"
    for verb in ("UPDATE", "DELETE"):
        name = f"key_movements_no_{verb.lower()}"
        if postgres:
            op.execute(f"CREATE TRIGGER {name} BEFORE {verb} ON key_movements "
                       "FOR EACH ROW EXECUTE FUNCTION station_refuse_change()")
        else:
            op.execute(f"CREATE TRIGGER {name} BEFORE {verb} ON key_movements "
                       "BEGIN SELECT RAISE(ABORT, 'key_movements is append-only'); END")


def upgrade() -> None:
    op.create_table('key_slots',
    sa.Column('code', sa.String(length=12), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_key_slots'))
    )
    op.create_table('vehicle_keys',
    sa.Column('visit_id', sa.Integer(), nullable=False),
    sa.Column('tag', sa.String(length=12), nullable=False),
    sa.Column('parking_spot', sa.String(length=20), nullable=True),
    sa.Column('pickup_spot', sa.String(length=20), nullable=True),
    sa.Column('holder_kind', HOLDER, nullable=False),
    sa.Column('holder_user_id', sa.Integer(), nullable=True),
    sa.Column('holder_lane_id', sa.Integer(), nullable=True),
    sa.Column('holder_since', station.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('handed_over_at', station.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('returned_at', station.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('overdue_alerted_at', station.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.CheckConstraint(RETURNED_FITS, name=op.f('ck_vehicle_keys_returned_fits_holder')),
    sa.CheckConstraint(HOLDER_FITS, name=op.f('ck_vehicle_keys_holder_fits_kind')),
    sa.ForeignKeyConstraint(['holder_lane_id'], ['lanes.id'], name=op.f('fk_vehicle_keys_holder_lane_id_lanes')),
    sa.ForeignKeyConstraint(['holder_user_id'], ['users.id'], name=op.f('fk_vehicle_keys_holder_user_id_users')),
    sa.ForeignKeyConstraint(['visit_id'], ['visits.id'], name=op.f('fk_vehicle_keys_visit_id_visits')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_vehicle_keys')),
    sa.UniqueConstraint('holder_user_id', name=op.f('uq_vehicle_keys_holder_user_id')),
    sa.UniqueConstraint('visit_id', name=op.f('uq_vehicle_keys_visit_id'))
    )
    with op.batch_alter_table('vehicle_keys', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_vehicle_keys_holder_kind'), ['holder_kind'], unique=False)
        batch_op.create_index(batch_op.f('ix_vehicle_keys_tag'), ['tag'], unique=False)
        batch_op.create_index('uq_vehicle_keys_tag_in_use', ['tag'], unique=True,
                              sqlite_where=sa.text(IN_USE), postgresql_where=sa.text(IN_USE))

    op.create_table('key_movements',
    sa.Column('key_id', sa.Integer(), nullable=False),
    sa.Column('visit_id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('stage', STAGE, nullable=False),
    sa.Column('from_kind', HOLDER, nullable=False),
    sa.Column('from_label', sa.String(length=64), nullable=False),
    sa.Column('to_kind', HOLDER, nullable=False),
    sa.Column('to_label', sa.String(length=64), nullable=False),
    sa.Column('to_user_id', sa.Integer(), nullable=True),
    sa.Column('to_lane_id', sa.Integer(), nullable=True),
    sa.Column('place', sa.String(length=64), nullable=False),
    sa.Column('at', station.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('actor_kind', ACTOR, nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('actor_name', sa.String(length=64), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=True),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['key_id'], ['vehicle_keys.id'], name=op.f('fk_key_movements_key_id_vehicle_keys')),
    sa.ForeignKeyConstraint(['to_lane_id'], ['lanes.id'], name=op.f('fk_key_movements_to_lane_id_lanes')),
    sa.ForeignKeyConstraint(['to_user_id'], ['users.id'], name=op.f('fk_key_movements_to_user_id_users')),
    sa.ForeignKeyConstraint(['visit_id'], ['visits.id'], name=op.f('fk_key_movements_visit_id_visits')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_key_movements')),
    sa.UniqueConstraint('key_id', 'seq', name=op.f('uq_key_movements_key_id_seq'))
    )
    with op.batch_alter_table('key_movements', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_key_movements_key_id'), ['key_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_key_movements_visit_id'), ['visit_id'], unique=False)

    op.create_table('key_photos',
    sa.Column('key_id', sa.Integer(), nullable=False),
    sa.Column('stored_name', sa.String(length=80), nullable=False),
    sa.Column('original_name', sa.String(length=120), nullable=False),
    sa.Column('content_type', sa.String(length=32), nullable=False),
    sa.Column('size_bytes', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('uploaded_at', station.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('uploaded_by', sa.Integer(), nullable=True),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['key_id'], ['vehicle_keys.id'], name=op.f('fk_key_photos_key_id_vehicle_keys')),
    sa.ForeignKeyConstraint(['uploaded_by'], ['users.id'], name=op.f('fk_key_photos_uploaded_by_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_key_photos')),
    sa.UniqueConstraint('stored_name', name=op.f('uq_key_photos_stored_name'))
    )
    with op.batch_alter_table('key_photos', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_key_photos_key_id'), ['key_id'], unique=False)

    _append_only_triggers()


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for verb in ("update", "delete"):
        op.execute(f"DROP TRIGGER IF EXISTS key_movements_no_{verb}"
                   + (" ON key_movements" if postgres else ""))
    with op.batch_alter_table('key_photos', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_key_photos_key_id'))
    op.drop_table('key_photos')
    with op.batch_alter_table('key_movements', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_key_movements_visit_id'))
        batch_op.drop_index(batch_op.f('ix_key_movements_key_id'))
    op.drop_table('key_movements')
    with op.batch_alter_table('vehicle_keys', schema=None) as batch_op:
        batch_op.drop_index('uq_vehicle_keys_tag_in_use', sqlite_where=sa.text(IN_USE),
                            postgresql_where=sa.text(IN_USE))
        batch_op.drop_index(batch_op.f('ix_vehicle_keys_tag'))
        batch_op.drop_index(batch_op.f('ix_vehicle_keys_holder_kind'))
    op.drop_table('vehicle_keys')
    op.drop_table('key_slots')
