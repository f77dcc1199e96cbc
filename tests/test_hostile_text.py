"""Hostile entity names under AppTest (issue 10): on a demo pack whose every site, station, dock,
count point and sensor has a name made of HTML, a script, a javascript: link, bold markdown and
LaTeX, no page passes a name to markdown as it is. Markdown text is checked as the page sends it
(st.markdown, st.caption, st.info/warning/success, headings): each hostile text may appear only
escaped, never verbatim. The real browser check is tests/browser/test_hostile_text_browser.py."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from citydash import boroughs, environment, sensors_view, transport
from citydash.kiosk import registered_pages
from citydash.text import escape_markdown
from conftest import HOSTILE_TEXTS, REPO, write_hostile_extracts

ENTRY = REPO / "tests" / "apptest" / "entry.py"
PAGES = registered_pages((REPO / "dashboard.py").read_text(encoding="utf-8"))
# Pages that name entities in their text: a site, station, dock, count point or sensor.
NAMING = {"environment", "transport", "sensors"}


@pytest.fixture(scope="module")
def hostile_extracts(tmp_path_factory):
    return write_hostile_extracts(tmp_path_factory.mktemp("hostile") / "extracts")


def markdown_bodies(app: AppTest) -> list[str]:
    elements = [*app.markdown, *app.caption, *app.info, *app.warning, *app.success, *app.error,
                *app.title, *app.header, *app.subheader]
    return [str(element.value) for element in elements]


@pytest.mark.parametrize("registered", PAGES, ids=lambda registered: registered.url_path)
def test_no_page_sends_an_entity_name_to_markdown_unescaped(hostile_extracts, monkeypatch, registered):
    monkeypatch.setenv("CITYDASH_EXTRACTS", str(hostile_extracts))
    monkeypatch.chdir(REPO)
    app = AppTest.from_file(str(ENTRY), default_timeout=120).run()
    if not registered.default:
        app.switch_page(str(REPO / "pages" / registered.script)).run()
    assert not app.exception, [exception.value for exception in app.exception]
    bodies = markdown_bodies(app)
    if registered.url_path == "sensors":
        # The Sensors page draws one section at a time: each other section's text is checked too.
        for label in sensors_view.SECTION_LABELS[1:]:
            app.session_state["sensors_section"] = label
            app.run()
            assert not app.exception, (label, [exception.value for exception in app.exception])
            bodies += markdown_bodies(app)
    if registered.url_path == "environment":
        # So does the Environment page (the hours above the limit name sites, under Time of day).
        for label in environment.SECTION_LABELS[1:]:
            app.session_state["environment_section"] = label
            app.run()
            assert not app.exception, (label, [exception.value for exception in app.exception])
            bodies += markdown_bodies(app)
    if registered.url_path == "transport":
        # And the Transport page (docks and count points are named in their own sections).
        for label in transport.SECTION_LABELS[1:]:
            app.session_state["transport_section"] = label
            app.run()
            assert not app.exception, (label, [exception.value for exception in app.exception])
            bodies += markdown_bodies(app)
    if registered.url_path == "borough":
        # And the borough profile (the sites section names the borough's sites).
        for label in boroughs.SECTION_LABELS[1:]:
            app.session_state["borough_section"] = label
            app.run()
            assert not app.exception, (label, [exception.value for exception in app.exception])
            bodies += markdown_bodies(app)
    verbatim = [(hostile, body[:300]) for body in bodies for hostile in HOSTILE_TEXTS if hostile in body]
    assert verbatim == [], f"{registered.title}: data sent to markdown unescaped: {verbatim}"
    if registered.url_path in NAMING:
        text = "\n".join(bodies)
        assert all(escape_markdown(hostile) in text for hostile in HOSTILE_TEXTS), \
            f"{registered.title}: names no entity in its text"
