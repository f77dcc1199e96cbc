"""A page's sections (ui.sections) in a real Streamlit script run: only the open section runs,
the open one is in the link, a shared link opens it, and each page remembers its own."""

from streamlit.testing.v1 import AppTest


def two_pages_with_sections():
    import streamlit as st

    from citydash import ui

    page = st.session_state.get("page", "transport")
    labels = {"transport": ["Stations", "Cycle hire", "Road traffic"], "environment": ["Sites", "Trends"]}[page]
    tabs = ui.sections(f"{page}_section", labels)
    for label, tab in zip(labels, tabs):
        if tab.open:
            with tab:
                st.header(label)


def run(app: AppTest) -> AppTest:
    app.run()
    assert not app.exception, [error.value for error in app.exception]
    return app


def headers(app: AppTest) -> list[str]:
    return [header.value for header in app.header]


def test_only_the_first_section_runs_and_the_link_names_none():
    app = run(AppTest.from_function(two_pages_with_sections))
    assert headers(app) == ["Stations"]
    assert "section" not in app.query_params
    assert app.session_state["transport_section_offered"] == ("Stations", "Cycle hire", "Road traffic")


def test_opening_a_section_runs_only_it_and_puts_it_in_the_link():
    app = run(AppTest.from_function(two_pages_with_sections))
    app.session_state["transport_section"] = "Road traffic"
    run(app)
    assert headers(app) == ["Road traffic"]
    assert app.query_params["section"] == "road-traffic"


def test_a_shared_link_opens_its_section():
    app = AppTest.from_function(two_pages_with_sections)
    app.query_params["section"] = "cycle-hire"
    run(app)
    assert headers(app) == ["Cycle hire"]
    assert not app.info


def test_a_hostile_section_in_a_link_opens_the_first_with_a_notice():
    app = AppTest.from_function(two_pages_with_sections)
    app.query_params["section"] = "<img src=x onerror=alert(1)>"
    run(app)
    assert headers(app) == ["Stations"]
    assert [notice.value for notice in app.info] == [
        "Ignored the link's section: this page has Stations, Cycle hire, Road traffic; showing Stations."]
    assert "section" not in app.query_params


def switch_page(app: AppTest, page: str) -> None:
    """As Streamlit's navigation does: another page, and the link's parameters left behind."""
    app.session_state["page"] = page
    app.query_params.pop("section", None)


def test_each_page_remembers_its_own_section():
    app = run(AppTest.from_function(two_pages_with_sections))
    app.session_state["transport_section"] = "Cycle hire"
    run(app)
    switch_page(app, "environment")
    run(app)
    assert headers(app) == ["Sites"] and not app.info, "another page's section must not leak into this one"
    app.session_state["environment_section"] = "Trends"
    run(app)
    switch_page(app, "transport")
    run(app)
    assert headers(app) == ["Cycle hire"]
