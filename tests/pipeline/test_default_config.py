"""config/default.yaml on a fresh checkout: every stage loads, mixed personal data is masked."""

from __future__ import annotations

from pathlib import Path

import pytest
from faker import Faker

from pipeline import Pipeline, deanonymize

DEFAULT = Path(__file__).resolve().parents[2] / "config" / "default.yaml"


@pytest.fixture(scope="module")
def default() -> Pipeline:
    with Pipeline.from_yaml(DEFAULT) as pipeline:
        yield pipeline


def test_mixed_generated_personal_data_is_masked_and_restored(default: Pipeline) -> None:
    fake = Faker("en_US")
    fake.seed_instance(42)
    for _ in range(5):
        values = {
            "EMAIL": fake.email(),
            "CREDIT_CARD": fake.credit_card_number(card_type="visa"),
            "IBAN": Faker("de_DE").iban(),
            "IP_ADDRESS": fake.ipv4_public(),
            "GOV_ID": fake.ssn(),
            "URL": "https://" + fake.domain_name() + "/profile",
        }
        text = (f"Customer email {values['EMAIL']}, card {values['CREDIT_CARD']}, "
                f"IBAN {values['IBAN']}, logged in from {values['IP_ADDRESS']}, "
                f"SSN {values['GOV_ID']}, page {values['URL']} .")
        result = default.anonymize(text)
        for label, value in values.items():
            assert value not in result.text, label
            assert any(p.startswith(label) and v == value for p, v in result.items.items()), label
        assert deanonymize(result.text, result.items) == text


def test_people_places_and_phones_get_readable_placeholders(default: Pipeline) -> None:
    text = ("My name is Alex Rivera, I live at 1234 Elm Street, Apt 5, Portland, OR 97205 "
            "in the United States. Call me at +44 20 7946 0958 or (415) 555-0134.")
    result = default.anonymize(text)
    assert result.items["PERSON0"] == "Alex Rivera"
    assert "+44 20 7946 0958" in result.items.values()
    assert "(415) 555-0134" in result.items.values()
    assert "United States" in result.items.values()
    assert any(k.startswith("ADDRESS") for k in result.items)
    assert "Elm Street" not in result.text and "Portland" not in result.text


def test_gazetteer_finds_places_the_model_misses(default: Pipeline) -> None:
    text = "We shipped the parts to the Netherlands and Czech Republic, then to Ljubljana."
    values = set(default.anonymize(text).items.values())
    assert {"Netherlands", "Czech Republic", "Ljubljana"} <= values


def test_ordinary_numbers_and_words_are_left_alone(default: Pipeline) -> None:
    text = ("It shipped on 2024-03-15 for 1,299.00 dollars; version 2.4.1 "
            "fixed 37 bugs. Reading is fun and the weather is nice.")
    assert default.anonymize(text).text == text


async def test_async_entry_point_matches_sync(default: Pipeline) -> None:
    texts = ["Email jane.doe@example.com now.", "Alex Rivera lives in Boston.", ""]
    sync = default.anonymize_many(texts)
    asynchronous = await default.anonymize_many_async(texts)
    assert asynchronous == sync


@pytest.mark.parametrize("locale", ["fi_FI", "hu_HU", "pl_PL", "sv_SE", "tr_TR", "es_MX"])
def test_generated_names_of_many_locales_are_masked(default: Pipeline, locale: str) -> None:
    fake = Faker(locale)
    fake.seed_instance(7)
    names = [f"{fake.first_name()} {fake.last_name()}" for _ in range(10)]
    hidden = 0
    for name in names:
        text = f"Have you been to a {name} concert before? I met {name} there."
        masked = default.anonymize(text).text
        hidden += all(part not in masked for part in name.split())
    assert hidden >= 9, f"{locale}: only {hidden} of {len(names)} names fully masked"


def test_middle_initial_and_unknown_surname_stay_in_one_name(default: Pipeline) -> None:
    for name in ("Abby M. Laidlaw", "Antti Q Vihervaara", "Csenger Gábor"):
        result = default.anonymize(f"The report was written by {name} last spring.")
        assert name in result.items.values(), name


def test_social_media_handles_are_masked_but_not_email_addresses(default: Pipeline) -> None:
    text = "RT @kittten_queen99: thanks @JoeBloggs! Mail me at joe.bloggs@example.org"
    result = default.anonymize(text)
    values = {v: k for k, v in result.items.items()}
    assert values["@kittten_queen99"].startswith("USERNAME")
    assert values["@JoeBloggs"].startswith("USERNAME")
    assert values["joe.bloggs@example.org"].startswith("EMAIL")
    assert deanonymize(result.text, result.items) == text


def test_country_abbreviations_and_lower_case_countries_are_masked(default: Pipeline) -> None:
    text = ("She moved from the UK to the U.S. in 2019; the USA office was closer. "
            "i'm originally from switzerland and my wife from mexico lol")
    values = set(default.anonymize(text).items.values())
    assert {"UK", "U.S.", "USA", "switzerland", "mexico"} <= values


def test_regions_below_the_country_are_masked(default: Pipeline) -> None:
    text = "The station sits in a village near Basingstoke, Hampshire, and later King County."
    values = set(default.anonymize(text).items.values())
    assert {"Hampshire", "King County"} <= values


@pytest.mark.parametrize("text", [
    "May I ask what time the meeting starts?",
    "Park the car behind the building, please.",
    "Will you send the report before noon?",
    "Rose early, as always, and left before breakfast.",
    "Young players need more time on the pitch.",
    "Price matters more than colour for most buyers.",
    "Normal service resumes tomorrow morning.",
])
def test_capitalized_everyday_words_at_sentence_start_are_left_alone(
    default: Pipeline, text: str
) -> None:
    assert default.anonymize(text).text == text


def test_names_after_a_title_are_masked_and_the_title_kept(default: Pipeline) -> None:
    text = "The budget went to Director Avery Bullock, then to Senator Ngozi Okafor for review."
    result = default.anonymize(text)
    assert {"Avery Bullock", "Ngozi Okafor"} <= set(result.items.values())
    assert "Director PERSON" in result.text and "Senator PERSON" in result.text


def test_places_named_by_their_feature_are_masked(default: Pipeline) -> None:
    text = ("We crossed the North Sea, stayed on Divar Island near Lake Tahoe, then took the "
            "train from Cosham railway station.")
    values = set(default.anonymize(text).items.values())
    assert {"North Sea", "Divar Island", "Lake Tahoe", "Cosham railway station"} <= values


@pytest.mark.parametrize("surname", ["Pellegrini", "Brankovic", "Okonjo", "Thorsby"])
def test_a_lone_unusual_surname_is_masked_and_an_acronym_is_not(default: Pipeline,
                                                                 surname: str) -> None:
    # The model gives a lone surname a low score; being no everyday word, it is masked (as a
    # person or a place). A retweet marker is an acronym, not a name.
    text = f"In 2004, {surname} was sentenced to two years. RT @newsdesk: more at noon"
    result = default.anonymize(text)
    assert surname in result.items.values()
    assert result.text.startswith("In 2004, ") and " RT " in result.text


FREQUENT_SURNAMES = ("Vargas", "Watson", "Castro", "Hernandez", "Murphy", "Clinton", "Fischer",
                     "Kowalski", "Jensen", "Moreno", "Sullivan", "Novak", "Romero", "Schneider",
                     "Russo", "Nguyen")
SHORT_CONTEXTS = ("Why did {} say that?", "Unlike the {} novel, this one is short.",
                  "{} and Reed founded the company.", "It was a match against {} last year.",
                  "Everyone blamed {} for it.")


def test_frequent_surnames_alone_get_the_low_bar_of_names(default: Pipeline) -> None:
    # wordfreq counts words case-folded, so "watson" looked as everyday as "bright" and a lone
    # surname needed a 20 % model score. The common-words list now leaves out proper nouns
    # that name a person or place (tools/build_common_words.py). Measured on these 80
    # sentences: 65 masked with the old list, 72 with the new; 68 leaves room for the few
    # flips a CPU's kernels cause (docs/ner.md) and still fails on the old list.
    sentences = [context.format(name) for context in SHORT_CONTEXTS
                 for name in FREQUENT_SURNAMES]
    masked = [s for s in sentences
              if not any(name in default.anonymize(s).text for name in FREQUENT_SURNAMES)]
    assert len(masked) >= 68, sorted(set(sentences) - set(masked))


def test_everyday_words_that_are_also_names_keep_their_high_bar() -> None:
    # The words the model must not mask at a sentence start stay on the list; proper nouns
    # that name no person or place (Linux, Thursday) stay too: they are not personal data.
    path = DEFAULT.parent / "gazetteer" / "common_words.txt"
    words = set(path.read_text(encoding="utf-8").split())
    assert {"bright", "will", "rose", "young", "price", "linux", "thursday"} <= words
    assert not {"watson", "clinton", "castro", "vargas", "david"} & words


def test_language_names_are_never_masked(default: Pipeline) -> None:
    text = "Translate this to German, then reply in english. Greek and Hindi versions too."
    assert default.anonymize(text).text == text
