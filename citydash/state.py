"""The shared filters, and their round trip through the URL's query string.

Pure functions: the app reads st.query_params into a Filters with filters_from_params and writes
it back with filters_to_params, so any view is a link. Anything in a link that is not valid
(an unknown borough, a bad date, an unknown metric, injected text) falls back to the default,
with a short notice saying what was ignored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import date, timedelta

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
