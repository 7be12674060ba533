"""The ``station`` command: ``station db upgrade | serve | demo | user create | client register``."""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from station.config import Config
from station.errors import DomainError

if TYPE_CHECKING:
    from flask import Flask


class StationGroup(click.Group):
    """Refusals of the station's rules end the command with their message, not a traceback."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except DomainError as err:
            raise click.ClickException(f"{err.message_zh} ({err.message_en})") from err


def _config(**overrides: object) -> Config:
    return Config.from_env(**overrides)


@click.group(cls=StationGroup)
@click.option("-v", "--verbose", is_flag=True, help="Log debug messages.")
def main(verbose: bool) -> None:
    """机动车检测站运营服务器 — the station server."""
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if not verbose:  # one line per job run or migration step is noise in a station's log
        for noisy in ("alembic", "apscheduler"):
            logging.getLogger(noisy).setLevel(logging.WARNING)


@main.group()
def db() -> None:
    """Database migrations and backups."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str) -> None:
    """Migrate the database to REVISION."""
    from station import migrate

    config = _config()
    migrate.upgrade(config.database_url, revision)
    click.echo(f"database at {revision}: {config.describe()['database_url']}")


@db.command("downgrade")
@click.argument("revision")
def db_downgrade(revision: str) -> None:
    from station import migrate

    migrate.downgrade(_config().database_url, revision)


@db.command("backup")
@click.option("--to", "directory", type=click.Path(file_okay=False), default=None,
              help="Folder for the backup (STATION_BACKUP_PATH; default instance/backups).")
@click.option("--keep", type=click.IntRange(min=1), default=None,
              help="How many backups to keep, the newest (STATION_BACKUP_KEEP; default 14).")
def db_backup(directory: str | None, keep: int | None) -> None:
    """Back the database up now, while the station serves (the runtime also does every night)."""
    from station.clock import SystemClock
    from station.services import backup

    config = _config()
    try:
        made = backup.make(config.database_url, Path(directory) if directory else config.backup_path,
                           SystemClock(config.timezone), keep=keep or config.backup_keep)
    except backup.BackupError as exc:
        raise click.ClickException(f"备份失败 Backup failed: {exc}") from exc
    click.echo(f"备份完成 backed up: {made.path} ({made.size:,} bytes)")
    for path in made.pruned:
        click.echo(f"  removed the older {path.name}")


@db.command("restore")
@click.argument("backup_file", type=click.Path(exists=True, dir_okay=False))
@click.confirmation_option(prompt="用备份替换当前数据库？Replace the database with this backup?")
def db_restore(backup_file: str) -> None:
    """Put BACKUP_FILE in place of the database (stop the server first). The database as it
    was is backed up beside BACKUP_FILE; then it is migrated to this version."""
    from station import migrate
    from station.clock import SystemClock
    from station.db import Database
    from station.runtime import RuntimeLock
    from station.services import backup

    config = _config()
    database = Database(config.database_url)
    lock = RuntimeLock(database, config.instance_path)
    try:
        if not lock.acquire():
            raise click.ClickException("服务正在运行，请先停止 The station is running: stop it first")
        try:
            before = backup.restore(config.database_url, Path(backup_file),
                                    SystemClock(config.timezone))
        except backup.BackupError as exc:
            raise click.ClickException(f"恢复失败，数据库未改动 Restore failed, nothing changed: {exc}") from exc
    finally:
        lock.release()
        database.dispose()
    migrate.upgrade(config.database_url)
    click.echo(f"已恢复 restored {backup_file}"
               + (f"; the database as it was: {before}" if before else ""))


@db.command("revision")
@click.option("-m", "--message", required=True)
def db_revision(message: str) -> None:
    """Generate a migration from the models (developers)."""
    from station import migrate

    migrate.revision(_config().database_url, message)


def _serve(config: Config, demo_tokens: dict[str, str] | None = None) -> None:
    from station import create_app, serving

    def build() -> Flask:
        app = create_app(config)
        if demo_tokens:  # the demo's start page links the lobby display with its token
            app.extensions["station.demo_tokens"] = demo_tokens
        return app

    click.echo(f"station serving at http://{config.host}:{config.port}/ ({config.server})")
    if config.server == "gunicorn":
        serving.preload()
        serving.StationServer.of(config, build).run()
        return
    from station.realtime import hub_of

    app = build()
    stop = serving.prepare(app)

    def _stop(*_args: object) -> None:
        stop()
        sys.exit(0)

    signal.signal(signal.SIGTERM, _stop)
    try:
        hub_of(app).socketio.run(app, host=config.host, port=config.port,
                                 allow_unsafe_werkzeug=True, use_reloader=False, log_output=False)
    finally:
        stop()


@main.command()
@click.option("--host", default=None, help="Address to listen on (STATION_HOST).")
@click.option("--port", default=None, type=int, help="Port (STATION_PORT).")
def serve(host: str | None, port: int | None) -> None:
    """Serve the station (migrate first with `station db upgrade`)."""
    overrides = {k: v for k, v in (("host", host), ("port", port)) if v is not None}
    _serve(_config(**overrides))


@main.command()
@click.option("--host", default=None)
@click.option("--port", default=None, type=int)
@click.option("--keep", is_flag=True, help="Keep the demo database of an earlier run.")
def demo(host: str | None, port: int | None, keep: bool) -> None:
    """Start a fresh demo station with every device simulated."""
    from station import migrate
    from station.clock import SystemClock
    from station.db import Database
    from station.services import demo as demo_service

    base = Path(os.environ.get("STATION_INSTANCE_PATH", Path.cwd() / "instance"))
    instance = base / "demo"
    if not keep and instance.exists():
        shutil.rmtree(instance)
    overrides: dict[str, object] = {"instance_path": instance, "simulate_devices": True,
                                    "database_url": os.environ.get("STATION_DEMO_DATABASE_URL", "")}
    overrides.update({k: v for k, v in (("host", host), ("port", port)) if v is not None})
    config = _config(**overrides)
    migrate.upgrade(config.database_url)
    database = Database(config.database_url)
    with database.write() as s:
        seeded = None if demo_service.is_seeded(s) else demo_service.seed(s, SystemClock(config.timezone))
    database.dispose()
    tokens_file = instance / "demo_tokens.json"
    if seeded is not None:
        tokens_file.write_text(json.dumps(seeded.client_tokens))
        click.echo(f"\n演示站账号 Demo staff accounts (password / 密码: {seeded.password}):")
        for username, name, roles in seeded.staff:
            click.echo(f"  {username:<12} {name:<8} {roles}")
        click.echo(f"\n大厅显示屏 Lobby display: http://{config.host}:{config.port}/display/"
                   f"#token={seeded.client_tokens['lobby_display']}\n")
    _serve(config, json.loads(tokens_file.read_text()) if tokens_file.exists() else None)


@main.group()
def user() -> None:
    """Staff accounts."""


@user.command("create")
@click.argument("username")
@click.option("--name", "display_name", required=True, help="Name shown on screens.")
@click.option("--role", "roles", multiple=True, required=True,
              type=click.Choice(["counter", "runner", "inspector", "technician", "manager", "admin"]))
@click.password_option()
def user_create(username: str, display_name: str, roles: tuple[str, ...], password: str) -> None:
    from station.clock import SystemClock
    from station.db import Database
    from station.services import users
    from station.services.actors import Actor

    config = _config()
    database = Database(config.database_url)
    with database.write() as s:
        users.create_user(s, SystemClock(config.timezone), Actor.system("cli"), username=username,
                          password=password, display_name=display_name, roles=roles)
    click.echo(f"created {username}")


@main.group()
def client() -> None:
    """Registered kiosks and lobby displays."""


@client.command("register")
@click.argument("kind", type=click.Choice(["kiosk", "lobby_display", "lane_terminal"]))
@click.argument("name")
def client_register(kind: str, name: str) -> None:
    """Register a screen and print its device token (shown once)."""
    from station.clock import SystemClock
    from station.db import Database
    from station.services import users
    from station.services.actors import Actor

    config = _config()
    database = Database(config.database_url)
    with database.write() as s:
        device, token = users.register_client_device(s, SystemClock(config.timezone),
                                                     Actor.system("cli"), kind=kind, name=name)
    click.echo(f"{device.kind.value} #{device.id} {name}\ntoken: {token}")


@main.command()
@click.option("--profile", "profile_path", type=click.Path(exists=True, dir_okay=False),
              help="Day profile (JSON); default: a realistic day at the demo station.")
@click.option("--vehicles", type=int, default=None, help="Vehicles in the day (overrides the profile).")
@click.option("--seeds", type=int, default=3, show_default=True, help="Simulated days per policy.")
@click.option("--policy", type=click.Choice(["both", "priority", "fifo"]), default="both",
              show_default=True)
@click.option("--workers", type=int, default=None, help="Parallel processes (default: CPUs).")
@click.option("--report", "report_path", type=click.Path(dir_okay=False), default="simulation.html",
              show_default=True, help="Where the HTML report is written.")
@click.option("--open", "open_report", is_flag=True, help="Open the report in a browser.")
def simulate(profile_path: str | None, vehicles: int | None, seeds: int, policy: str,
             workers: int | None, report_path: str, open_report: bool) -> None:
    """Simulate station days on the real services and compare the queue policies."""
    import dataclasses
    import webbrowser

    from station.simulation import compare as sim_compare
    from station.simulation import report
    from station.simulation.profile import DayProfile

    profile = DayProfile.load(profile_path) if profile_path else DayProfile()
    if vehicles is not None:
        profile = dataclasses.replace(profile, vehicles=vehicles)
    policies = sim_compare.POLICIES if policy == "both" else (policy,)
    total = seeds * len(policies)
    with click.progressbar(length=total, label=f"模拟 {total} 个检测日 simulating") as bar:
        days = sim_compare.run_days(profile, range(seeds), policies, workers=workers,
                                    progress=lambda done, _total: bar.update(1))
    comparison = sim_compare.compare(days)
    out = report.write(Path(report_path), profile, days, comparison)
    click.echo(f"booked wait ours/FIFO {comparison.booked_wait_ratio:.2f}, walk-in "
               f"{comparison.walkin_wait_ratio:.2f}; report: {out}")
    if open_report:
        webbrowser.open(out.resolve().as_uri())


if __name__ == "__main__":
    main()
