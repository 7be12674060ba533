"""Screens are Chinese first; English comes from the compiled catalogue."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_screen_message_has_an_english_translation(tmp_path):
    pot = tmp_path / "messages.pot"
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", "extract", "-F", "babel.cfg",
                    "-o", str(pot), "--no-location", "."], cwd=ROOT, check=True,
                   capture_output=True)
    wanted = set(re.findall(r'^msgid "(.+)"$', pot.read_text(), re.M))
    po = (ROOT / "station/translations/en/LC_MESSAGES/messages.po").read_text()
    have = dict(re.findall(r'^msgid "(.+)"\nmsgstr "(.*)"$', po, re.M))
    assert wanted - set(have) == set(), "run pybabel extract and translate the new messages"
    assert all(v or k == "次" for k, v in have.items())


def test_english_start_page(client, demo_station):
    html = client.get("/?lang=en").get_data(as_text=True)
    assert "Published prices" in html and "Staff sign-in" in html
    assert "Safety inspection" in html  # price items carry their own English names
