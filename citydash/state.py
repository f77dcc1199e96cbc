"""The shared filters, and their round trip through the URL's query string.

Pure functions: the app reads st.query_params into a Filters with filters_from_params and writes
it back with filters_to_params, so any view is a link. Anything in a link that is not valid
(an unknown borough, a bad date, an unknown metric, injected text) falls back to the default,
with a short notice saying what was ignored.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta

MAX_PARAM_LENGTH = 400
DEFAULT_PERIOD_DAYS = 90
METRIC_KEY = re.compile(r"^([a-z][a-z0-9_]{0,62})\.([a-z][a-z0-9_]{0,62})$")


@dataclass(frozen=True)
class Filters:
    boroughs: tuple[str, ...]
    start: date
    end: date
    metric: str  # "<dataset>.<metric>"
    notices: tuple[str, ...] = field(default=(), compare=False)

    @property
    def dataset_id(self) -> str:
        return self.metric.split(".", 1)[0]

    @property
    def metric_id(self) -> str:
        return self.metric.split(".", 1)[1]


def default_filters(metric_keys: list[str], first_day: date, last_day: date) -> Filters:
    start = max(first_day, last_day - timedelta(days=DEFAULT_PERIOD_DAYS - 1))
    return Filters(boroughs=(), start=start, end=last_day, metric=metric_keys[0])


def _short(text: str) -> str:
    """A user-supplied value quoted in a notice: bounded, and only characters that cannot be markup."""
    safe = re.sub(r"[^A-Za-z0-9 _.,:@-]", "?", text)
    return safe[:40] + ("..." if len(safe) > 40 else "")


def _date(text: str) -> date | None:
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def filters_from_params(params: dict[str, str], metric_keys: list[str], area_codes: list[str],
                        first_day: date, last_day: date) -> Filters:
    """Filters from query parameters; invalid values fall back to defaults with a notice."""
    defaults = default_filters(metric_keys, first_day, last_day)
    notices: list[str] = []
    values = {key: str(value)[:MAX_PARAM_LENGTH] for key, value in params.items()}

    boroughs = defaults.boroughs
    if values.get("boroughs"):
        wanted = [code.strip() for code in values["boroughs"].split(",") if code.strip()]
        known = [code for code in wanted if code in area_codes]
        unknown = [code for code in wanted if code not in area_codes]
        if unknown:
            notices.append(f"Ignored unknown area code(s) in the link: {', '.join(_short(code) for code in unknown[:5])}.")
        boroughs = tuple(dict.fromkeys(known))

    metric = defaults.metric
    if values.get("metric"):
        if values["metric"] in metric_keys:
            metric = values["metric"]
        else:
            notices.append(f"Ignored unknown metric {_short(values['metric'])!r} in the link.")

    start, end = defaults.start, defaults.end
    if values.get("start") or values.get("end"):
        linked_start = _date(values.get("start", "")) or None
        linked_end = _date(values.get("end", "")) or None
        if linked_start is None or linked_end is None or linked_start > linked_end:
            notices.append("Ignored the dates in the link: they must be two ISO dates (YYYY-MM-DD), start first.")
        else:
            clipped_start, clipped_end = max(linked_start, first_day), min(linked_end, last_day)
            if clipped_start > clipped_end:
                notices.append(f"The dates in the link are outside the data ({first_day} to {last_day}); "
                               "showing the latest period instead.")
            else:
                if (clipped_start, clipped_end) != (linked_start, linked_end):
                    notices.append(f"Dates in the link were limited to the data available ({first_day} to {last_day}).")
                start, end = clipped_start, clipped_end
    return Filters(boroughs=boroughs, start=start, end=end, metric=metric, notices=tuple(notices))


def filters_to_params(filters: Filters) -> dict[str, str]:
    params = {"metric": filters.metric, "start": filters.start.isoformat(), "end": filters.end.isoformat()}
    if filters.boroughs:
        params["boroughs"] = ",".join(filters.boroughs)
    return params


def with_boroughs(filters: Filters, boroughs: list[str]) -> Filters:
    return replace(filters, boroughs=tuple(boroughs), notices=())


# ---------------------------------------------------------------------------------
# Pages' own selections in the link (the borough profile's borough, the compared boroughs, ...),
# and the data snapshot a link was made with. The shared filters above own SHARED_PARAMS; every
# other parameter belongs to a page and is kept as it is when the shared filters are written.

SHARED_PARAMS = ("metric", "start", "end", "boroughs", "snapshot")
SNAPSHOT = re.compile(r"^[0-9a-f]{10}$")
SNAPSHOT_CHANGED = ("The data has been refreshed since this link was made; figures may differ from what "
                    "the person who shared it saw.")


def merged_params(current: Mapping[str, str], shared: Mapping[str, str]) -> dict[str, str]:
    """The link's parameters: the shared filters as given, every page's own parameter kept as it was.

    The snapshot a link arrived with is dropped once read: the live address bar shows the view,
    and a fresh pinned link is offered for sharing (see snapshot_token).
    """
    pages = {key: str(value) for key, value in current.items() if key not in SHARED_PARAMS}
    return {**dict(shared), **pages}


SECTION_PARAM = "section"


def section_slug(label: str) -> str:
    """A section's name in a link: "Cycle hire" is `cycle-hire`."""
    return re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-")


def section_from_param(text: str | None, labels: Sequence[str]) -> tuple[str, tuple[str, ...]]:
    """The section a link opens, by its slug; none or an unknown one opens the first, with a notice
    for an unknown one (which never repeats the link's text: it may be injected)."""
    if text is None or not str(text).strip():
        return labels[0], ()
    by_slug = {section_slug(label): label for label in labels}
    slug = section_slug(str(text)[:MAX_PARAM_LENGTH])
    if slug in by_slug:
        return by_slug[slug], ()
    return labels[0], (f"Ignored the link's section: this page has {', '.join(labels)}; showing {labels[0]}.",)


def section_to_param(label: str, labels: Sequence[str]) -> str:
    """The first section is the page's default, so its link names none."""
    return "" if label == labels[0] else section_slug(label)


def area_to_param(code: str) -> str:
    return code


def area_from_param(text: str | None, area_codes: Sequence[str], default: str) -> tuple[str, tuple[str, ...]]:
    """One area from a link; an unknown or hostile one falls back to `default` with a notice."""
    if text is None or not str(text).strip():
        return default, ()
    code = str(text)[:MAX_PARAM_LENGTH].strip()
    if code in area_codes:
        return code, ()
    return default, (f"Ignored unknown area code {_short(code)!r} in the link.",)


def areas_to_param(codes: Sequence[str]) -> str:
    return ",".join(codes)


def areas_from_param(text: str | None, area_codes: Sequence[str], default: Sequence[str],
                     minimum: int, maximum: int) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Between `minimum` and `maximum` distinct areas from a link, in the link's order.

    Unknown codes are dropped with a notice; too many are cut to the first `maximum`; too few
    (after dropping) give `default`, with a notice.
    """
    if text is None or not str(text).strip():
        return tuple(default), ()
    wanted = [code.strip() for code in str(text)[:MAX_PARAM_LENGTH].split(",") if code.strip()]
    known = list(dict.fromkeys(code for code in wanted if code in area_codes))
    unknown = [code for code in wanted if code not in area_codes]
    notices = []
    if unknown:
        notices.append(f"Ignored unknown area code(s) in the link: {', '.join(_short(code) for code in unknown[:5])}.")
    if len(known) > maximum:
        notices.append(f"The link names {len(known)} areas; only the first {maximum} are shown.")
        known = known[:maximum]
    if len(known) < minimum:
        notices.append(f"The link names fewer than {minimum} known areas; showing the default choice.")
        return tuple(default), tuple(notices)
    return tuple(known), tuple(notices)


def metric_keys_to_param(keys: Sequence[str]) -> str:
    return ",".join(keys)


def metric_keys_from_param(text: str | None, metric_keys: Sequence[str],
                           maximum: int) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Up to `maximum` distinct known metric keys from a link; unknown ones dropped with a notice."""
    if text is None or not str(text).strip():
        return (), ()
    wanted = [key.strip() for key in str(text)[:MAX_PARAM_LENGTH].split(",") if key.strip()]
    known = list(dict.fromkeys(key for key in wanted if key in metric_keys))
    unknown = [key for key in wanted if key not in metric_keys]
    notices = []
    if unknown:
        notices.append(f"Ignored unknown metric(s) in the link: {', '.join(_short(key) for key in unknown[:5])}.")
    if len(known) > maximum:
        notices.append(f"The link names {len(known)} metrics; only the first {maximum} are shown.")
        known = known[:maximum]
    return tuple(known), tuple(notices)


def snapshot_token(refreshed: Mapping[str, datetime]) -> str:
    """A short hash of when each published dataset was refreshed: equal tokens, equal data."""
    lines = "\n".join(f"{dataset}={stamp.isoformat()}" for dataset, stamp in sorted(refreshed.items()))
    return hashlib.sha256(lines.encode("utf-8")).hexdigest()[:10]


def snapshot_notice(linked: str | None, current: str) -> str | None:
    """What to say when a link pinned to a data snapshot is opened: nothing if the data is the same."""
    if linked is None or linked == "":
        return None
    text = str(linked)[:MAX_PARAM_LENGTH]
    if not SNAPSHOT.match(text):
        return f"Ignored the data snapshot {_short(text)!r} in the link: it is not one this dashboard makes."
    if text != current:
        return SNAPSHOT_CHANGED
    return None
