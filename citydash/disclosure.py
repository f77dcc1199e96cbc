"""Small-number suppression for counts of people (statistical disclosure control).

A catalogue metric with `disclosure = N` counts people; a count of 1..N-1 could identify
someone, so it is never shown as a number.

Primary suppression (`suppress_counts`): every value v with 0 < v < N is replaced by NaN in
the value column (so a chart cannot plot it and a CSV export cannot print it) and shown as
"<N" in the display column. Zero is shown: "nobody passed" identifies no one, and hiding
every zero would blank out quiet streets at night. Negative values are not counts and are
left alone.

Secondary suppression (`protect_totals`): if a group (say one borough's hours) has exactly
one suppressed cell and its total is published (as a total row, or anywhere else), the total
minus the other cells gives the hidden value back. So the smallest other non-zero cell of
that group is suppressed too, and the next smallest after it while the hidden cells' sum is too
small to hide the small one (with a hidden 1 and a hidden 10 showing "<10" and "suppressed", a
total 11 above them would give both away: each further cell of N or more widens the range the
small one can lie in, until it spans at least half of 1..N-1); with no such cell left, the
group's total row is. Ties go to the
first row. Zeros are never picked: readers know shown zeros are real, so a hidden zero beside
a hidden 1 would leave "the two add up to 1" and give the 1 away. A lone hidden cell with no
non-zero neighbour *is* its group's total, which is then below the threshold and so hidden
wherever totals go through the same rule.

The two are shown differently, because each marker is a statement about the value: a primary
cell shows "<N" (it is below N), a secondary cell shows "suppressed" (it is N or more, or at
least not known to the reader to be small: writing "<10" over a hidden 45 would be false). The
`suppression` column says which (SMALL or PROTECTS_TOTAL) so every output can add its note;
SECONDARY_NOTE is the wording.

This is the classic one-dimensional rule: it protects each group against its own total.
Tables whose cells add up along two directions at once (borough x hour with totals both
ways) need a full audit (for example tau-argus) and are not covered here.
"""

from __future__ import annotations

from collections.abc import Mapping

import math

import numpy as np
import pandas as pd

SUPPRESSED = "suppressed"
NO_DATA = "no data"
# What a secondary cell shows instead of its value, and what each kind of hidden cell means.
SECONDARY_MARK = "suppressed"
SUPPRESSION = "suppression"
SMALL = "small"
PROTECTS_TOTAL = "protects a total"


def small_note(threshold: int) -> str:
    return f"under {threshold}: not shown"


SECONDARY_NOTE = "hidden so that a total shown beside it cannot reveal a small count"


def note_of(kind: str, threshold: int | None) -> str:
    """The plain-English note for a `suppression` value ("" for a shown value)."""
    if kind == SMALL and threshold is not None:
        return small_note(threshold)
    if kind == PROTECTS_TOTAL:
        return SECONDARY_NOTE
    return ""


def is_disclosive(metric: Mapping | object) -> int | None:
    """The suppression threshold of a catalogue metric (a TOML dict or a catalogue Metric), or None.

    Raises ValueError for a threshold that is not a whole number of at least 1: a mistyped
    threshold must not silently switch protection off.
    """
    threshold = metric.get("disclosure") if isinstance(metric, Mapping) else getattr(metric, "disclosure", None)
    if threshold is None:
        return None
    if isinstance(threshold, bool) or not isinstance(threshold, (int, np.integer)) or threshold < 1:
        raise ValueError(f"disclosure threshold must be a whole number of at least 1, not {threshold!r}")
    return int(threshold)


def suppress_counts(frame: pd.DataFrame, value_col: str, threshold: int) -> pd.DataFrame:
    """A copy with small counts hidden: see the module docstring.

    Adds `<value_col>_display` (text: "<threshold" for hidden small counts, "suppressed" for
    other hidden values, thousands separators otherwise, "no data" for missing values),
    `suppressed` (bool) and `suppression` (SMALL, PROTECTS_TOTAL or ""). The value column becomes
    float64 with NaN where a count is hidden. Rows already marked `suppressed` stay hidden.
    Other columns are copied unchanged: do not carry columns derived from the raw count.
    """
    _check_threshold(threshold)
    values = pd.to_numeric(frame[value_col], errors="raise").astype("float64")
    hidden = values.gt(0) & values.lt(threshold)
    if SUPPRESSED in frame:
        hidden |= frame[SUPPRESSED].fillna(False).astype(bool)
    return _apply(frame, value_col, threshold, values, hidden)


def protect_totals(
    frame: pd.DataFrame,
    group_cols: list[str],
    value_col: str,
    threshold: int,
    total_col: str | None = None,
) -> pd.DataFrame:
    """Primary plus secondary suppression within each group of `group_cols`: see the module docstring.

    `total_col` names a boolean column marking each group's total row(s), if the frame has
    them; totals are kept visible unless they are small themselves or hiding them is the only
    way to protect a lone hidden cell. Returns the columns `suppress_counts` returns.
    """
    _check_threshold(threshold)
    values = pd.to_numeric(frame[value_col], errors="raise").astype("float64")
    hidden = values.gt(0) & values.lt(threshold)
    if SUPPRESSED in frame:
        hidden |= frame[SUPPRESSED].fillna(False).astype(bool)
    is_total = frame[total_col].fillna(False).astype(bool) if total_col else pd.Series(False, index=frame.index)
    groups = _group_keys(frame, group_cols)
    cells = ~is_total
    hidden_cells = (hidden & cells).groupby(groups, dropna=False).transform("sum")
    exposed = hidden_cells.eq(1)
    candidates = cells & ~hidden & values.gt(0) & exposed
    ranked = pd.DataFrame({"group": groups, "value": values, "order": np.arange(len(frame))})[candidates]
    ranked = ranked.sort_values(["value", "order"], kind="stable")
    lone = pd.Series(values.where(hidden & cells).groupby(groups, dropna=False).transform("max"), index=frame.index)
    picked, short = [], set()
    for group, rows in ranked.groupby("group", sort=False):
        # Enough cells that the hidden sum (total minus the shown cells) does not pin the small one:
        # with k cells of N or more it is at most sum - k*N, which must leave it at least half of
        # the values 1..N-1 (SPREAD): "<10" already says as much as "1 to 5".
        small = lone[rows.index[0]]
        hidden_sum, count = (small if small > 0 else np.nan), 0
        for index, value in zip(rows.index, rows["value"]):
            picked.append(index)
            hidden_sum, count = hidden_sum + value, count + 1
            if np.isnan(hidden_sum) or hidden_sum - count * threshold >= math.ceil((threshold - 1) / 2):
                break
        else:
            short.add(group)
    hidden = hidden | pd.Series(frame.index.isin(picked), index=frame.index)
    has_candidate = candidates.groupby(groups, dropna=False).transform("any")
    hidden |= is_total & exposed & (~has_candidate | groups.isin(short))
    return _apply(frame, value_col, threshold, values, hidden)


def _group_keys(frame: pd.DataFrame, group_cols: list[str]) -> pd.Series:
    if not group_cols:
        return pd.Series(0, index=frame.index)
    return pd.Series(frame.groupby(list(group_cols), dropna=False, sort=False).ngroup(), index=frame.index)


def _check_threshold(threshold: int) -> None:
    if isinstance(threshold, bool) or not isinstance(threshold, (int, np.integer)) or threshold < 1:
        raise ValueError(f"threshold must be a whole number of at least 1, not {threshold!r}")


def _apply(frame: pd.DataFrame, value_col: str, threshold: int, values: pd.Series, hidden: pd.Series) -> pd.DataFrame:
    result = frame.copy()
    # The marker follows the true value, so it is never false: "<N" only over a value below N.
    # A frame protected before has lost its hidden values, but says what kind each one was.
    small = values.gt(0) & values.lt(threshold)
    earlier = frame[SUPPRESSION].fillna("") if SUPPRESSION in frame else pd.Series("", index=frame.index)
    kinds = [before if before and is_hidden else SMALL if is_small else PROTECTS_TOTAL if is_hidden else ""
             for before, is_small, is_hidden in zip(earlier, small & hidden, hidden)]
    result[value_col] = values.mask(hidden)
    result[f"{value_col}_display"] = [
        f"<{threshold}" if kind == SMALL else SECONDARY_MARK if kind else _display(value)
        for value, kind in zip(values, kinds)
    ]
    result[SUPPRESSED] = hidden.astype(bool).to_numpy()
    result[SUPPRESSION] = kinds
    return result


def _display(value: float) -> str:
    if np.isnan(value):
        return NO_DATA
    if float(value).is_integer():
        return f"{value:,.0f}"
    return f"{value:,.1f}"
