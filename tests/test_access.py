"""Access levels: only identities the server's policy names are officers."""

import pytest

from citydash.access import OFFICER, PUBLIC, AccessPolicy, login_configured, policy_from_secrets, role_for

POLICY = policy_from_secrets({"citydash": {"access": {
    "officer_emails": ["Ana@Council.gov.uk"], "officer_domains": ["camden.gov.uk"],
    "group_claim": "groups", "officer_groups": ["dashboard-officers"]}}})


@pytest.mark.parametrize("user, role", [
    ({}, PUBLIC),
    ({"is_logged_in": False, "email": "ana@council.gov.uk"}, PUBLIC),
    ({"is_logged_in": True, "email": "ana@council.gov.uk"}, OFFICER),
    ({"is_logged_in": True, "email": "ANA@COUNCIL.GOV.UK "}, OFFICER),
    ({"is_logged_in": True, "email": "ana@council.gov.uk", "email_verified": False}, PUBLIC),
    ({"is_logged_in": True, "email": "someone@camden.gov.uk"}, OFFICER),
    ({"is_logged_in": True, "email": "someone@notcamden.gov.uk"}, PUBLIC),
    ({"is_logged_in": True, "email": "camden.gov.uk@evil.example"}, PUBLIC),
    ({"is_logged_in": True, "email": "x@y.org", "groups": ["dashboard-officers"]}, OFFICER),
    ({"is_logged_in": True, "email": "x@y.org", "groups": "dashboard-officers"}, OFFICER),
    ({"is_logged_in": True, "email": "x@y.org", "groups": ["staff"]}, PUBLIC),
])
def test_roles(user, role):
    assert role_for(user, POLICY) == role


def test_no_policy_means_nobody_is_an_officer():
    assert role_for({"is_logged_in": True, "email": "ana@council.gov.uk"}, AccessPolicy()) == PUBLIC
    assert policy_from_secrets({}) == AccessPolicy()


def test_login_is_configured_only_with_redirect_and_cookie_secret():
    assert not login_configured({})
    assert not login_configured({"auth": {"redirect_uri": "https://x/oauth2callback"}})
    assert login_configured({"auth": {"redirect_uri": "https://x/oauth2callback", "cookie_secret": "s"}})
