"""Area name resolution: names written the ways officers write them, on London and on a toy city."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from citydash.ingest.boroughnames import AreaNames, UnknownArea

LONDON = Path(__file__).resolve().parents[2] / "shared" / "data" / "london"
GLA_BOUNDARIES = LONDON / "boundaries" / "London_Borough_Excluding_MHW.geojson"
PACK_BOUNDARIES = Path(__file__).resolve().parents[1] / "data" / "boundaries" / "london_boroughs.geojson"

# The 33 London boroughs as the GLA boundaries file names them (GSS_CODE, NAME).
LONDON_BOROUGHS = [
    ("E09000001", "City of London"),
    ("E09000002", "Barking and Dagenham"),
    ("E09000003", "Barnet"),
    ("E09000004", "Bexley"),
    ("E09000005", "Brent"),
    ("E09000006", "Bromley"),
    ("E09000007", "Camden"),
    ("E09000008", "Croydon"),
    ("E09000009", "Ealing"),
    ("E09000010", "Enfield"),
    ("E09000011", "Greenwich"),
    ("E09000012", "Hackney"),
    ("E09000013", "Hammersmith and Fulham"),
    ("E09000014", "Haringey"),
    ("E09000015", "Harrow"),
    ("E09000016", "Havering"),
    ("E09000017", "Hillingdon"),
    ("E09000018", "Hounslow"),
    ("E09000019", "Islington"),
    ("E09000020", "Kensington and Chelsea"),
    ("E09000021", "Kingston upon Thames"),
    ("E09000022", "Lambeth"),
    ("E09000023", "Lewisham"),
    ("E09000024", "Merton"),
    ("E09000025", "Newham"),
    ("E09000026", "Redbridge"),
    ("E09000027", "Richmond upon Thames"),
    ("E09000028", "Southwark"),
    ("E09000029", "Sutton"),
    ("E09000030", "Tower Hamlets"),
    ("E09000031", "Waltham Forest"),
    ("E09000032", "Wandsworth"),
    ("E09000033", "Westminster"),
]


@pytest.fixture(scope="module")
def london() -> AreaNames:
    return AreaNames.from_pairs(LONDON_BOROUGHS, label="borough")


@pytest.mark.parametrize(
    ("written", "code"),
    [
        ("Camden", "E09000007"),
        ("camden", "E09000007"),
        ("CAMDEN", "E09000007"),
        ("  Camden  ", "E09000007"),
        ("Hammersmith & Fulham", "E09000013"),
        ("Hammersmith and Fulham", "E09000013"),
        ("HAMMERSMITH AND FULHAM", "E09000013"),
        ("Hammersmith&Fulham", "E09000013"),
        ("Barking & Dagenham", "E09000002"),
        ("Kensington & Chelsea", "E09000020"),
        ("London Borough of Camden", "E09000007"),
        ("LONDON BOROUGH OF TOWER HAMLETS", "E09000030"),
        ("Royal Borough of Greenwich", "E09000011"),
        ("Royal Borough of Kingston upon Thames", "E09000021"),
        ("Royal Borough of Kensington and Chelsea", "E09000020"),
        ("City of Westminster", "E09000033"),
        ("Westminster City Council", "E09000033"),
        ("City of London", "E09000001"),
        ("City", "E09000001"),
        ("City of London Corporation", "E09000001"),
        ("Haringey Council", "E09000014"),
        ("LB Hackney", "E09000012"),
        ("Kingston", "E09000021"),
        ("Kingston-upon-Thames", "E09000021"),
        ("Richmond", "E09000027"),
        ("Richmond upon Thames", "E09000027"),
        ("Barking", "E09000002"),
        ("Kensington", "E09000020"),
        ("Chelsea", "E09000020"),
        ("Hammersmith", "E09000013"),
        ("Waltham Forest", "E09000031"),
        ("E09000019", "E09000019"),
        ("e09000019", "E09000019"),
    ],
)
def test_names_written_the_usual_ways_resolve(london: AreaNames, written: str, code: str) -> None:
    assert london.resolve(written) == code


def test_every_official_name_resolves_to_its_own_code(london: AreaNames) -> None:
    for code, name in LONDON_BOROUGHS:
        assert london.resolve(name) == code
        assert london.name_of(code) == name
    assert london.codes == tuple(code for code, _ in LONDON_BOROUGHS)


@pytest.mark.parametrize("written", ["London", "", "Manchester", "Borough", "Council"])
def test_text_that_is_no_borough_is_unknown(london: AreaNames, written: str) -> None:
    with pytest.raises(UnknownArea):
        london.resolve(written)
    assert london.find(written) is None


def test_unknown_name_lists_the_three_nearest_names(london: AreaNames) -> None:
    with pytest.raises(UnknownArea) as caught:
        london.resolve("Hackny")
    assert len(caught.value.nearest) == 3
    assert caught.value.nearest[0] == "Hackney"
    assert all(name in dict(map(reversed, LONDON_BOROUGHS)) for name in caught.value.nearest)
    assert "'Hackny' is not a known borough name" in str(caught.value)
    assert "'Hackney'" in str(caught.value)


def test_unknown_area_is_a_value_error(london: AreaNames) -> None:
    with pytest.raises(ValueError):
        london.resolve("Gotham")


def test_resolve_many_splits_found_and_unknown(london: AreaNames) -> None:
    found, unknown = london.resolve_many(["Camden", "Hackny", "Camden", "City"])
    assert found == {"Camden": "E09000007", "City": "E09000001"}
    assert list(unknown) == ["Hackny"]
    assert unknown["Hackny"].nearest[0] == "Hackney"


def test_short_forms_are_derived_only_when_unique() -> None:
    # A made-up city: "North" starts two names so it must not resolve; "Newcastle" starts one.
    city = AreaNames.from_pairs(
        [
            ("X01", "Newcastle upon Tyne"),
            ("X02", "North Tyneside"),
            ("X03", "North Shields and Tynemouth"),
            ("X04", "Gateshead"),
        ]
    )
    assert city.resolve("Newcastle") == "X01"
    assert city.resolve("Tynemouth") == "X03"
    assert city.resolve("north tyneside council") == "X02"
    with pytest.raises(UnknownArea):
        city.resolve("North")


def test_aliases_from_the_city_pack_are_honoured() -> None:
    city = AreaNames.from_pairs(LONDON_BOROUGHS, aliases={"The Square Mile": "City of London", "Tower": "E09000030"})
    assert city.resolve("the square mile") == "E09000001"
    assert city.resolve("TOWER") == "E09000030"


def test_an_alias_to_a_missing_area_is_refused() -> None:
    with pytest.raises(UnknownArea):
        AreaNames.from_pairs(LONDON_BOROUGHS, aliases={"Metroland": "Nowhere"})


def test_duplicate_codes_are_refused() -> None:
    with pytest.raises(ValueError, match="listed twice"):
        AreaNames.from_pairs([("E1", "One"), ("e1", "Another")])


def test_from_boundaries_reads_code_and_name_properties() -> None:
    features = [
        {"type": "Feature", "properties": {"code": code, "name": name}, "geometry": None}
        for code, name in LONDON_BOROUGHS
    ]
    areas = AreaNames.from_boundaries({"type": "FeatureCollection", "features": features}, label="borough")
    assert areas.resolve("Royal Borough of Greenwich") == "E09000011"
    assert len(areas.codes) == 33
    with pytest.raises(ValueError, match="'code'/'name'"):
        AreaNames.from_boundaries([{"properties": {"GSS_CODE": "E09000001"}}])


def test_real_gla_boundaries_give_the_same_33_boroughs() -> None:
    if not LONDON.exists():
        pytest.skip("../shared/data/london not present: real-sample test needs it")
    collection = json.loads(GLA_BOUNDARIES.read_text())
    areas = AreaNames.from_boundaries(collection, code_property="GSS_CODE", name_property="NAME")
    assert sorted((code, areas.name_of(code)) for code in areas.codes) == LONDON_BOROUGHS


def test_real_dft_borough_names_all_resolve() -> None:
    if not LONDON.exists():
        pytest.skip("../shared/data/london not present: real-sample test needs it")
    locations = json.loads((LONDON / "transport" / "london_dft_traffic_count_locations.json").read_text())
    names = {feature["properties"]["la_name"] for feature in locations["features"]}
    areas = AreaNames.from_pairs(LONDON_BOROUGHS)
    found, unknown = areas.resolve_many(sorted(names))
    assert unknown == {}
    assert sorted(set(found.values())) == [code for code, _ in LONDON_BOROUGHS]


def test_the_city_packs_own_boundaries_when_present() -> None:
    if not PACK_BOUNDARIES.exists():
        pytest.skip("data/boundaries/london_boroughs.geojson not written yet")
    areas = AreaNames.from_boundaries(json.loads(PACK_BOUNDARIES.read_text()))
    assert sorted(areas.codes) == [code for code, _ in LONDON_BOROUGHS]
    assert areas.resolve("Hammersmith & Fulham") == "E09000013"
