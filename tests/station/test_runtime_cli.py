"""One process runs devices and the scheduler; the CLI migrates, creates staff and clients."""

from __future__ import annotations

import sqlalchemy as sa
from click.testing import CliRunner

from station import create_app, runtime
from station.cli import main
from station.config import Config
from station.models import (
    ClientDevice,
    Counter,
    HardwareDevice,
    Lane,
    LaneStation,
    PriceList,
    StationKind,
    User,
)
from station.services import demo
from station.testing import disconnect_app


def _app(tmp_path, database_url, clock, name="a"):
    # every process of one station shares the instance folder (and so the lock file)
    return create_app(Config(instance_path=tmp_path / "instance", database_url=database_url,
                             secret_key="s", testing=True), clock=clock)


def test_only_one_process_runs_the_scheduler(tmp_path, database_url, clock):
    first, second = _app(tmp_path, database_url, clock), _app(tmp_path, database_url, clock, "b")
    rt1 = runtime.start(first)
    try:
        rt2 = runtime.start(second)
        assert rt1.active and not rt2.active
        assert {j.id for j in rt1.scheduler.get_jobs()} >= {
            "devices.tick", "appointments.no_shows", "reminders.day_before", "reminders.soon",
            "outbox.deliver", "evidence.archive", "backup.nightly"}
        assert rt1.cameras is not None and rt2.cameras is None
        rt2.stop()
    finally:
        rt1.stop()
    rt3 = runtime.start(second)  # the lock is free again
    assert rt3.active
    rt3.stop()
    for application in (first, second):
        disconnect_app(application)


def test_demo_seed_builds_the_demo_station(db, clock, demo_station):
    with db.read() as s:
        lanes = s.scalars(sa.select(Lane).order_by(Lane.number)).all()
        assert [lane.number for lane in lanes] == [1, 2, 3]
        kinds = {lane.number: {st.kind for st in lane.stations} for lane in lanes}
        assert StationKind.EMISSION_DIESEL not in kinds[1]
        assert StationKind.EMISSION_DIESEL in kinds[2] and "large" in lanes[2].vehicle_classes
        assert s.scalar(sa.select(sa.func.count()).select_from(Counter)) == 4
        assert s.scalar(sa.select(sa.func.count()).select_from(PriceList)) == 1
        assert s.scalar(sa.select(sa.func.count()).select_from(User)) == len(demo.DEMO_STAFF)
        assert s.scalar(sa.select(sa.func.count()).select_from(ClientDevice)) == 2
        assert s.scalar(sa.select(sa.func.count()).select_from(LaneStation)) == 19
        assert s.scalar(sa.select(sa.func.count()).select_from(HardwareDevice)) == 3 + 1 + 2 + 4 + 4 + 3  # cameras, kiosk printer, meters, LEDs, printers, lane LEDs
    assert set(demo_station.client_tokens) == {"kiosk", "lobby_display"}
    with db.write() as s:
        try:
            demo.seed(s, clock)
        except RuntimeError as exc:
            assert "already" in str(exc)
        else:
            raise AssertionError("seeding twice must be refused")


def test_cli_upgrade_user_and_client(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("STATION_DATABASE_URL", url)
    monkeypatch.setenv("STATION_INSTANCE_PATH", str(tmp_path / "instance"))
    runner = CliRunner()
    result = runner.invoke(main, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(main, ["user", "create", "zhang", "--name", "张三", "--role", "counter",
                                  "--role", "runner"], input="long-enough-1\nlong-enough-1\n")
    assert result.exit_code == 0, result.output
    result = runner.invoke(main, ["user", "create", "li", "--name", "李", "--role", "counter"],
                           input="short\nshort\n")
    assert result.exit_code == 1 and "密码至少8位" in result.output
    result = runner.invoke(main, ["client", "register", "lobby_display", "二楼大屏"])
    assert result.exit_code == 0 and "token: " in result.output
    engine = sa.create_engine(url)
    with engine.connect() as c:
        assert c.execute(sa.text("SELECT username FROM users")).scalars().all() == ["zhang"]
        roles = c.execute(sa.text("SELECT role FROM user_roles ORDER BY role")).scalars().all()
        assert roles == ["counter", "runner"]
    engine.dispose()
