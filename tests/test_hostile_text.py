"""Hostile entity names under AppTest (issue 10): on a demo pack whose every site, station, dock,
count point and sensor has a name made of HTML, a script, a javascript: link, bold markdown and
LaTeX, no page passes a name to markdown as it is. Markdown text is checked as the page sends it
(st.markdown, st.caption, st.info/warning/success, headings): each hostile text may appear only
escaped, never verbatim. The real browser check is tests/browser/test_hostile_text_browser.py."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from citydash.kiosk import registered_pages
from citydash.text import escape_markdown
from citydash.ui import sections_offered_key
from conftest import HOSTILE_TEXTS, REPO, section_opener, write_hostile_extracts

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
    # A page drawn one section at a time names some things only in its other sections (docks, count
    # points, the sites that exceed a limit, the sensor picker): each of those is read too.
    offered = sections_offered_key(f"{registered.url_path}_section")
    for label in app.session_state[offered][1:] if offered in app.session_state else ():
        section_opener(registered.url_path)(app, label)
        bodies += markdown_bodies(app)
    verbatim = [(hostile, body[:300]) for body in bodies for hostile in HOSTILE_TEXTS if hostile in body]
    assert verbatim == [], f"{registered.title}: data sent to markdown unescaped: {verbatim}"
    if registered.url_path in NAMING:
        text = "\n".join(bodies)
        assert all(escape_markdown(hostile) in text for hostile in HOSTILE_TEXTS), \
            f"{registered.title}: names no entity in its text"
