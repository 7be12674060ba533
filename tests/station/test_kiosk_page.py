"""The kiosk's page, its static files and the QR code of a progress page."""

from __future__ import annotations

from urllib.parse import quote

import pytest


def test_page_loads_its_own_script_and_styles_and_no_outside_links(client):
    response = client.get("/kiosk/")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "/kiosk/static/kiosk.js" in html and "/kiosk/static/kiosk.css" in html
    assert "<a " not in html and "http" not in html  # nothing on the page leads off the kiosk
    assert "本机未注册，请联系管理员" in html


@pytest.mark.parametrize(("name", "mimetype", "marker"), [
    ("kiosk.js", "javascript", "station.kioskToken"),
    ("kiosk.css", "text/css", "@media (orientation: portrait)"),
])
def test_static_files_are_served(client, name, mimetype, marker):
    response = client.get(f"/kiosk/static/{name}")
    assert response.status_code == 200
    assert mimetype in response.mimetype
    assert marker in response.get_data(as_text=True)
    response.close()


def test_qr_code_of_a_progress_url(app, client):
    url = app.extensions["station.config"].public_url + "/p/Vgnsm5TjkUsXG29AwBYNnWrj"
    response = client.get("/kiosk/qr.svg?data=" + quote(url, safe=""))
    assert response.status_code == 200
    assert response.mimetype == "image/svg+xml"
    body = response.get_data(as_text=True)
    assert body.startswith("<svg") and 'viewBox="0 0 ' in body and "<path" in body


@pytest.mark.parametrize("data", [
    "",
    "https://evil.example/p/abc",                 # another host
    "http://127.0.0.1:5000/book/",                # this host, not a progress page
    "http://127.0.0.1:5000/p/",                   # no token
    "http://127.0.0.1:5000.evil.example/p/abc",   # the public URL as a prefix of another host
    "http://127.0.0.1:5000/p/" + "x" * 600,       # far longer than any token
])
def test_qr_code_refuses_anything_but_a_progress_url(client, data):
    response = client.get("/kiosk/qr.svg?data=" + quote(data, safe=""))
    assert response.status_code == 400
    assert response.mimetype != "image/svg+xml"


def test_qr_code_follows_the_configured_public_url(app, client):
    app.extensions["station.config"].public_url = "https://station.example.cn"
    ok = client.get("/kiosk/qr.svg?data=" + quote("https://station.example.cn/p/abc", safe=""))
    old = client.get("/kiosk/qr.svg?data=" + quote("http://127.0.0.1:5000/p/abc", safe=""))
    assert (ok.status_code, old.status_code) == (200, 400)
