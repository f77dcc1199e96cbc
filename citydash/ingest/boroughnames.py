"""Turn an area (borough) name written any common way into the city's area code.

Officers write "Hammersmith & Fulham", "LB Camden", "ROYAL BOROUGH OF GREENWICH",
"Westminster City Council", "Kingston" or the code itself. The city pack's boundaries
file gives the codes and official names; everything else here is derived from them,
so nothing about a particular city lives in this module. A city whose people use
names that cannot be derived (a nickname, a former name) passes them as aliases.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping

# Words that local-government names wrap around the place name ("London Borough of X",
# "X Council", "Royal Borough of X", "City of X", "LB X"). Stripped only when the full
# text is not itself a name, so "City of London" stays a name of its own.
COUNCIL_WORDS: frozenset[str] = frozenset(
    {
        "the", "of", "london", "royal", "borough", "city", "metropolitan", "county",
        "district", "council", "corporation", "lb", "rb", "lbo", "mbc", "cc", "dc",
    }
)


class UnknownArea(ValueError):
    """A name that matches none of the city's areas; carries the nearest valid names."""

    def __init__(self, text: str, nearest: list[str], label: str = "area") -> None:
        self.text = text
        self.nearest = nearest
        self.label = label
        suggestions = ", ".join(f"'{name}'" for name in nearest)
        super().__init__(f"'{text}' is not a known {label} name; nearest: {suggestions}")


def name_words(text: str) -> list[str]:
    """The words of a name in a comparable form: no accents, case or punctuation, '&' as 'and'."""
    decomposed = unicodedata.normalize("NFKD", str(text))
    plain = "".join(char for char in decomposed if not unicodedata.combining(char))
    plain = plain.casefold().replace("&", " and ").replace("+", " and ")
    plain = re.sub(r"['’`]", "", plain)
    words = re.findall(r"[a-z0-9]+", plain)
    return ["st" if word == "saint" else word for word in words]


def name_key(words: Iterable[str]) -> str:
    """A lookup key that ignores spacing and the word 'and' ("Hammersmith/Fulham" too)."""
    return "".join(word for word in words if word != "and")


def _short_forms(names_by_code: Mapping[str, str]) -> dict[str, str]:
    """Short forms that point to exactly one area: the first word of a multi-word name
    ("Kingston", "City") and each side of an "X and Y" name ("Barking", "Chelsea")."""
    candidates_by_code: dict[str, set[str]] = {}
    for code, name in names_by_code.items():
        words = name_words(name)
        if len(words) < 2:
            continue
        candidates = {words[0]}
        if "and" in words:
            joined = " ".join(words)
            candidates.update(name_key(part.split()) for part in joined.split(" and "))
        candidates_by_code[code] = {candidate for candidate in candidates if candidate}
    owners = Counter(candidate for found in candidates_by_code.values() for candidate in found)
    return {
        candidate: code
        for code, found in candidates_by_code.items()
        for candidate in found
        if owners[candidate] == 1
    }


class AreaNames:
    """The city's areas (code -> official name) and a resolver for names written any way."""

    def __init__(
        self,
        pairs: Iterable[tuple[str, str]],
        aliases: Mapping[str, str] | None = None,
        label: str = "area",
        council_words: frozenset[str] = COUNCIL_WORDS,
    ) -> None:
        self.label = label
        self.council_words = council_words
        self.names_by_code: dict[str, str] = {}
        for code, name in pairs:
            code, name = str(code).strip(), str(name).strip()
            if code.upper() in {known.upper() for known in self.names_by_code}:
                raise ValueError(f"area code {code!r} is listed twice")
            self.names_by_code[code] = name
        if not self.names_by_code:
            raise ValueError("no areas given: the boundaries file has no features with a code and a name")
        self._code_by_upper = {code.upper(): code for code in self.names_by_code}

        self._full_keys: dict[str, str] = {}
        for code, name in self.names_by_code.items():
            key = name_key(name_words(name))
            if key in self._full_keys:
                raise ValueError(f"two areas share the name {name!r}")
            self._full_keys[key] = code
        self._keys = {**_short_forms(self.names_by_code), **self._full_keys}
        for alias, target in (aliases or {}).items():
            self._keys[name_key(name_words(alias))] = self.resolve(target)

    @classmethod
    def from_pairs(
        cls, pairs: Iterable[tuple[str, str]], aliases: Mapping[str, str] | None = None, label: str = "area"
    ) -> AreaNames:
        return cls(pairs, aliases=aliases, label=label)

    @classmethod
    def from_boundaries(
        cls,
        features: list[dict] | dict,
        aliases: Mapping[str, str] | None = None,
        label: str = "area",
        code_property: str = "code",
        name_property: str = "name",
    ) -> AreaNames:
        """From GeoJSON features (or a FeatureCollection) whose properties carry the code and name."""
        if isinstance(features, dict):
            features = features.get("features", [])
        pairs = []
        for feature in features:
            properties = feature.get("properties") or {}
            if code_property not in properties or name_property not in properties:
                raise ValueError(
                    f"a boundary feature has no {code_property!r}/{name_property!r} properties "
                    f"(it has {sorted(properties)})"
                )
            pairs.append((properties[code_property], properties[name_property]))
        return cls(pairs, aliases=aliases, label=label)

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(self.names_by_code)

    def name_of(self, code: str) -> str:
        return self.names_by_code[code]

    def code_of(self, text: str) -> str | None:
        """The canonical code when `text` is one of the city's codes (any case), else None."""
        return self._code_by_upper.get(str(text).strip().upper())

    def _lookup(self, words: list[str]) -> str | None:
        """Try the words as written, then with council wording peeled off either end."""
        leading = 0
        while leading < len(words) and words[leading] in self.council_words:
            leading += 1
        trailing = 0
        while trailing < len(words) and words[len(words) - 1 - trailing] in self.council_words:
            trailing += 1
        for strip_start in range(leading + 1):
            for strip_end in range(trailing + 1):
                kept = words[strip_start : len(words) - strip_end]
                if kept and (code := self._keys.get(name_key(kept))):
                    return code
        return None

    def find(self, text: str) -> str | None:
        """The area code for a name or code written any common way, None if none fits."""
        code = self.code_of(text)
        if code is not None:
            return code
        return self._lookup(name_words(text))

    def resolve(self, text: str) -> str:
        """The area code for a name or code written any common way; UnknownArea if none fits."""
        code = self.find(text)
        if code is None:
            raise UnknownArea(str(text), self.nearest(str(text)), self.label)
        return code

    def nearest(self, text: str, count: int = 3) -> list[str]:
        """The `count` official names most like `text`, best first."""
        by_spaced = {" ".join(name_words(name)): name for name in self.names_by_code.values()}
        spaced = " ".join(name_words(text))
        matches = difflib.get_close_matches(spaced, list(by_spaced), n=count, cutoff=0)
        return [by_spaced[match] for match in matches]

    def resolve_many(self, texts: Iterable[str]) -> tuple[dict[str, str], dict[str, UnknownArea]]:
        """Resolve each distinct text once: (text -> code, text -> the error for unknown ones)."""
        found: dict[str, str] = {}
        unknown: dict[str, UnknownArea] = {}
        for text in dict.fromkeys(texts):
            try:
                found[text] = self.resolve(text)
            except UnknownArea as error:
                unknown[text] = error
        return found, unknown
