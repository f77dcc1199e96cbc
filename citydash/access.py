"""Who may see what: the session's access level from its identity and the server's policy.

Identity comes from Streamlit's OpenID Connect login (st.login, configured in the [auth]
section of .streamlit/secrets.toml). Which identities are officers is the server's policy, in
the [citydash.access] section of the same file: an allow-list of emails, of email domains, or
of groups in an identity-token claim. Anyone else, and everyone when no identity provider is
configured, is public. Pure functions: the app passes st.user and st.secrets in.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

PUBLIC = "public"
OFFICER = "officer"


@dataclass(frozen=True)
class AccessPolicy:
    officer_emails: frozenset[str] = frozenset()
    officer_domains: frozenset[str] = frozenset()
    group_claim: str | None = None
    officer_groups: frozenset[str] = frozenset()


def _lowered(values) -> frozenset[str]:
    if isinstance(values, str):
        values = [values]
    return frozenset(str(value).strip().lower() for value in values or [] if str(value).strip())


def policy_from_secrets(secrets: Mapping) -> AccessPolicy:
    section = (secrets.get("citydash") or {}).get("access") or {}
    return AccessPolicy(
        officer_emails=_lowered(section.get("officer_emails")),
        officer_domains=_lowered(section.get("officer_domains")),
        group_claim=section.get("group_claim") or None,
        officer_groups=frozenset(str(group) for group in section.get("officer_groups") or []),
    )


def login_configured(secrets: Mapping) -> bool:
    """An identity provider is set up: st.login can work."""
    auth = secrets.get("auth") or {}
    return bool(auth.get("redirect_uri") and auth.get("cookie_secret"))


def role_for(user: Mapping, policy: AccessPolicy) -> str:
    """OFFICER only for a logged-in identity the policy names; PUBLIC otherwise."""
    if not user.get("is_logged_in"):
        return PUBLIC
    # An identity provider that says the email is unverified does not vouch for it.
    if user.get("email_verified") is False:
        return PUBLIC
    email = str(user.get("email") or "").strip().lower()
    if email and email in policy.officer_emails:
        return OFFICER
    if email and "@" in email and email.rsplit("@", 1)[1] in policy.officer_domains:
        return OFFICER
    if policy.group_claim:
        groups = user.get(policy.group_claim) or []
        if isinstance(groups, str):
            groups = [groups]
        if set(map(str, groups)) & policy.officer_groups:
            return OFFICER
    return PUBLIC
