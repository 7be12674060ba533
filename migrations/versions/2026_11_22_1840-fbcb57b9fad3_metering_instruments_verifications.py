"""metering instruments verifications: the register (计量器具台账), verification certificates,
daily checks with their filter points, expiry alerts, the stations this feature blocked, and the
free-acceleration test records with their 1 Hz process data.

Verifications, daily checks, their points and test records are append-only: triggers refuse
UPDATE and DELETE (the PostgreSQL function station_refuse_change comes from the first migration).

Revision ID: fbcb57b9fad3
Revises: 83038e495378
Create Date: 2026-11-22 18:40:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import station.models.base

revision: str = 'fbcb57b9fad3'
down_revision: str | None = '83038e495378'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APPEND_ONLY_TABLES = ("instrument_verifications", "instrument_daily_checks",
                      "instrument_daily_check_points", "emission_test_records")


def _create_append_only_triggers() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for table in APPEND_ONLY_TABLES:
        for verb in ("UPDATE", "DELETE"):
            name = f"{table}_no_{verb.lower()}"
            if postgresql:
                op.execute(f"CREATE TRIGGER {name} BEFORE {verb} ON {table} "
                           "FOR EACH ROW EXECUTE FUNCTION station_refuse_change()")
            else:
                op.execute(f"CREATE TRIGGER {name} BEFORE {verb} ON {table} "
                           f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END")


def _drop_append_only_triggers() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for table in APPEND_ONLY_TABLES:
        for verb in ("update", "delete"):
            suffix = f" ON {table}" if postgresql else ""
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{verb}{suffix}")


def upgrade() -> None:
    op.create_table('instruments',
    sa.Column('kind', sa.Enum('opacity_meter', 'gas_analyser', 'brake_tester', 'side_slip_tester', 'speedometer_tester', 'headlamp_tester', 'dynamometer', 'weather_station', 'other', name='instrumentkind', native_enum=False, length=32), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('make', sa.String(length=64), nullable=False),
    sa.Column('model', sa.String(length=64), nullable=False),
    sa.Column('serial_no', sa.String(length=64), nullable=False),
    sa.Column('lane_station_id', sa.Integer(), nullable=False),
    sa.Column('hardware_device_id', sa.Integer(), nullable=True),
    sa.Column('period_months', sa.Integer(), nullable=False),
    sa.Column('created_at', station.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('usable', sa.Boolean(), nullable=False),
    sa.Column('unusable_reason', sa.String(length=200), nullable=True),
    sa.Column('evaluated_at', station.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_instruments_created_by_users')),
    sa.ForeignKeyConstraint(['hardware_device_id'], ['hardware_devices.id'], name=op.f('fk_instruments_hardware_device_id_hardware_devices')),
    sa.ForeignKeyConstraint(['lane_station_id'], ['lane_stations.id'], name=op.f('fk_instruments_lane_station_id_lane_stations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_instruments')),
    sa.UniqueConstraint('serial_no', name=op.f('uq_instruments_serial_no'))
    )
    with op.batch_alter_table('instruments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_instruments_lane_station_id'), ['lane_station_id'], unique=False)
    op.create_table('instrument_station_blocks',
    sa.Column('lane_station_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=False),
    sa.Column('blocked_at', station.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['lane_station_id'], ['lane_stations.id'], name=op.f('fk_instrument_station_blocks_lane_station_id_lane_stations')),
    sa.PrimaryKeyConstraint('lane_station_id', name=op.f('pk_instrument_station_blocks'))
    )
    op.create_table('instrument_verifications',
    sa.Column('instrument_id', sa.Integer(), nullable=False),
    sa.Column('certificate_no', sa.String(length=64), nullable=False),
    sa.Column('verifying_body', sa.String(length=100), nullable=False),
    sa.Column('verified_on', sa.Date(), nullable=False),
    sa.Column('valid_until', sa.Date(), nullable=False),
    sa.Column('conclusion', sa.Enum('qualified', 'restricted', 'unqualified', name='conclusion', native_enum=False, length=16), nullable=False),
    sa.Column('certificate_file', sa.String(length=200), nullable=True),
    sa.Column('certificate_filename', sa.String(length=200), nullable=True),
    sa.Column('corrects_id', sa.Integer(), nullable=True),
    sa.Column('note', sa.String(length=500), nullable=True),
    sa.Column('recorded_at', station.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('recorded_by', sa.Integer(), nullable=True),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['corrects_id'], ['instrument_verifications.id'], name=op.f('fk_instrument_verifications_corrects_id_instrument_verifications')),
    sa.ForeignKeyConstraint(['instrument_id'], ['instruments.id'], name=op.f('fk_instrument_verifications_instrument_id_instruments')),
    sa.ForeignKeyConstraint(['recorded_by'], ['users.id'], name=op.f('fk_instrument_verifications_recorded_by_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_instrument_verifications'))
    )
    with op.batch_alter_table('instrument_verifications', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_instrument_verifications_instrument_id'), ['instrument_id'], unique=False)
    op.create_table('instrument_daily_checks',
    sa.Column('instrument_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('performed_at', station.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('operator_id', sa.Integer(), nullable=True),
    sa.Column('operator_name', sa.String(length=64), nullable=False),
    sa.Column('method', sa.String(length=16), nullable=False),
    sa.Column('zero_n_pct', sa.Double(), nullable=True),
    sa.Column('tolerance_pct', sa.Double(), nullable=True),
    sa.Column('passed', sa.Boolean(), nullable=False),
    sa.Column('note', sa.String(length=500), nullable=True),
    sa.Column('corrects_id', sa.Integer(), nullable=True),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['corrects_id'], ['instrument_daily_checks.id'], name=op.f('fk_instrument_daily_checks_corrects_id_instrument_daily_checks')),
    sa.ForeignKeyConstraint(['instrument_id'], ['instruments.id'], name=op.f('fk_instrument_daily_checks_instrument_id_instruments')),
    sa.ForeignKeyConstraint(['operator_id'], ['users.id'], name=op.f('fk_instrument_daily_checks_operator_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_instrument_daily_checks'))
    )
    with op.batch_alter_table('instrument_daily_checks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_instrument_daily_checks_day'), ['day'], unique=False)
        batch_op.create_index(batch_op.f('ix_instrument_daily_checks_instrument_id'), ['instrument_id'], unique=False)
    op.create_table('instrument_daily_check_points',
    sa.Column('check_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('nominal_n_pct', sa.Double(), nullable=False),
    sa.Column('measured_n_pct', sa.Double(), nullable=False),
    sa.Column('error_pct', sa.Double(), nullable=False),
    sa.Column('passed', sa.Boolean(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['check_id'], ['instrument_daily_checks.id'], name=op.f('fk_instrument_daily_check_points_check_id_instrument_daily_checks')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_instrument_daily_check_points'))
    )
    with op.batch_alter_table('instrument_daily_check_points', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_instrument_daily_check_points_check_id'), ['check_id'], unique=False)
    op.create_table('instrument_alerts',
    sa.Column('instrument_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('valid_until', sa.Date(), nullable=False),
    sa.Column('message', sa.String(length=200), nullable=False),
    sa.Column('created_at', station.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['instrument_id'], ['instruments.id'], name=op.f('fk_instrument_alerts_instrument_id_instruments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_instrument_alerts')),
    sa.UniqueConstraint('instrument_id', 'kind', 'valid_until', name=op.f('uq_instrument_alerts_instrument_id_kind_valid_until'))
    )
    with op.batch_alter_table('instrument_alerts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_instrument_alerts_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_instrument_alerts_instrument_id'), ['instrument_id'], unique=False)
    op.create_table('emission_test_records',
    sa.Column('visit_id', sa.Integer(), nullable=False),
    sa.Column('lane_station_id', sa.Integer(), nullable=False),
    sa.Column('instrument_id', sa.Integer(), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('mean_k_m1', sa.String(length=16), nullable=True),
    sa.Column('peaks_k_m1', sa.JSON(), nullable=False),
    sa.Column('limit_name', sa.String(length=32), nullable=False),
    sa.Column('limit_k_m1', sa.Double(), nullable=False),
    sa.Column('limit_source', sa.String(length=200), nullable=False),
    sa.Column('reasons', sa.JSON(), nullable=False),
    sa.Column('idle_rpm', sa.Integer(), nullable=True),
    sa.Column('process_data', sa.JSON(), nullable=False),
    sa.Column('started_at', station.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('finished_at', station.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('inspector_id', sa.Integer(), nullable=True),
    sa.Column('item_result_id', sa.Integer(), nullable=True),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['inspector_id'], ['users.id'], name=op.f('fk_emission_test_records_inspector_id_users')),
    sa.ForeignKeyConstraint(['instrument_id'], ['instruments.id'], name=op.f('fk_emission_test_records_instrument_id_instruments')),
    sa.ForeignKeyConstraint(['item_result_id'], ['inspection_item_results.id'], name=op.f('fk_emission_test_records_item_result_id_inspection_item_results')),
    sa.ForeignKeyConstraint(['lane_station_id'], ['lane_stations.id'], name=op.f('fk_emission_test_records_lane_station_id_lane_stations')),
    sa.ForeignKeyConstraint(['visit_id'], ['visits.id'], name=op.f('fk_emission_test_records_visit_id_visits')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_emission_test_records'))
    )
    with op.batch_alter_table('emission_test_records', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_emission_test_records_visit_id'), ['visit_id'], unique=False)
    _create_append_only_triggers()


def downgrade() -> None:
    _drop_append_only_triggers()
    op.drop_table('emission_test_records')
    op.drop_table('instrument_alerts')
    op.drop_table('instrument_daily_check_points')
    op.drop_table('instrument_daily_checks')
    op.drop_table('instrument_verifications')
    op.drop_table('instrument_station_blocks')
    op.drop_table('instruments')
