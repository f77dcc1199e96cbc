"""Small pieces shared by the line-oriented connectors: reading a text file with a clear error,
recording the first reason a record fails, and turning failed records into reject rows."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pandas as pd

from citydash.ingest.errors import IngestError

RAW_TEXT_LIMIT = 500


def read_text(path: Path, what: str) -> str:
    """The whole file as text (UTF-8, BOM allowed), or an IngestError naming the file and the problem."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise IngestError(f"{what} {path}: file not found") from None
    except OSError as error:
        raise IngestError(f"{what} {path}: cannot be read ({error.strerror})") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise IngestError(f"{what} {path}: not UTF-8 text (byte {error.start})") from None
    if not text.strip():
        raise IngestError(f"{what} {path}: file is empty")
    return text


def first_reason(reason: pd.Series, problem: pd.Series, message: pd.Series | str) -> pd.Series:
    """Fill in `message` where a record has `problem` and no earlier reason."""
    return reason.mask(reason.isna() & problem.fillna(False).astype(bool), message)


def line_rejects(bad: pd.DataFrame, source: str) -> pd.DataFrame:
    """Reject rows (citydash.contract.REJECT_COLUMNS) from records with line, reason and raw columns."""
    frame = pd.DataFrame(
        {
            "source": source,
            "record": bad["line"].astype("str"),
            "reason": bad["reason"].astype("str"),
            "raw": bad["raw"].astype("str").str.slice(0, RAW_TEXT_LIMIT),
        }
    )
    return frame.astype("object").reset_index(drop=True)


def read_csv_records(path: Path, what: str, columns: list[str]) -> pd.DataFrame:
    """A header CSV as text columns (stripped) plus line, raw and reason, one row per non-blank line.

    The csv module (these files are small) keeps exact line numbers and lets a row with the wrong
    number of fields, say an unquoted comma in a name, be rejected on its own instead of failing
    the file. Missing columns fail the file with an IngestError naming them.
    """
    text = read_text(path, what)
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        numbered = [(reader.line_num, row) for row in reader]
    except csv.Error as error:
        raise IngestError(f"{what} {path}: not a readable CSV (line {reader.line_num}: {error})") from None
    numbered = [(line, row) for line, row in numbered if any(field.strip() for field in row)]
    header = [name.strip() for name in numbered[0][1]]
    missing = [column for column in columns if column not in header]
    if missing:
        raise IngestError(f"{what} {path}: missing column(s): {', '.join(missing)}")
    body = numbered[1:]
    width = len(header)
    padded = [row[:width] + [""] * (width - len(row)) for _, row in body]
    table = pd.DataFrame(padded, columns=header, dtype="str") if body else pd.DataFrame(columns=header, dtype="str")
    table = table[list(columns)].apply(lambda column: column.str.strip())
    field_counts = pd.Series([len(row) for _, row in body], index=table.index, dtype="int64")
    table["line"] = [line for line, _ in body]
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    table["raw"] = [lines[line - 1] if line <= len(lines) else ",".join(row) for line, row in body]
    table["reason"] = first_reason(
        pd.Series(None, index=table.index, dtype="object"), field_counts != width,
        f"row has a different number of fields from the header ({width}): found " + field_counts.astype("str"))
    return table
