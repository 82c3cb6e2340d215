"""The phone and identifier stages on generated data (Faker, python-stdnum), not hand examples."""

from __future__ import annotations

import random

import phonenumbers
import pytest
from faker import Faker
from stdnum import luhn

from pipeline import ConfigError, Pipeline

ALL_TYPES = ["credit_card", "iban", "ip_address", "us_ssn", "es_dni", "it_codicefiscale",
             "br_cpf", "in_aadhaar", "ca_sin", "fr_nir", "us_itin", "es_nie"]


@pytest.fixture(scope="module")
def ids() -> Pipeline:
    return Pipeline.from_dict({"pipeline": [{"kind": "identifier", "types": ALL_TYPES}]})


@pytest.fixture(scope="module")
def phones() -> Pipeline:
    return Pipeline.from_dict({"pipeline": [{"kind": "phone", "regions": ["US", "GB", "DE"]}]})


def masked(pipeline: Pipeline, value: str, label: str) -> bool:
    text = f"Here it is: {value}. Thanks!"
    return [(text[s.start : s.end], s.label) for s in pipeline.analyze(text)] == [(value, label)]


def test_generated_card_numbers_are_found_and_broken_ones_are_not(ids: Pipeline) -> None:
    fake = Faker()
    Faker.seed(1)
    for card_type in ["visa", "mastercard", "amex", "discover", "jcb", "diners"]:
        for _ in range(5):
            number = fake.credit_card_number(card_type=card_type)
            assert masked(ids, number, "CREDIT_CARD"), card_type
            grouped = " ".join(number[i : i + 4] for i in range(0, len(number), 4))
            assert masked(ids, grouped, "CREDIT_CARD"), card_type
            broken = number[:-1] + str((int(number[-1]) + 1) % 10)
            assert ids.analyze(f"order {broken} shipped") == []


def test_random_digit_runs_are_left_alone(ids: Pipeline) -> None:
    rng = random.Random(7)
    kept = 0
    for _ in range(300):
        digits = "".join(rng.choice("0123456789") for _ in range(16))
        if luhn.is_valid(digits):
            continue
        assert ids.analyze(f"tracking number {digits} today") == []
        kept += 1
    assert kept > 200


def test_generated_ibans_are_found_with_and_without_spaces(ids: Pipeline) -> None:
    for locale in ["de_DE", "fr_FR", "en_GB", "nl_NL", "es_ES", "it_IT", "pl_PL"]:
        fake = Faker(locale)
        fake.seed_instance(3)
        for _ in range(4):
            iban = fake.iban()
            assert masked(ids, iban, "IBAN"), locale
            spaced = " ".join(iban[i : i + 4] for i in range(0, len(iban), 4))
            assert masked(ids, spaced, "IBAN"), locale
            wrong = iban[:2] + f"{(int(iban[2:4]) + 1) % 100:02d}" + iban[4:]
            assert ids.analyze(f"account {wrong} closed") == []


def test_generated_ip_addresses_are_found(ids: Pipeline) -> None:
    fake = Faker()
    Faker.seed(5)
    for _ in range(20):
        assert masked(ids, fake.ipv4(), "IP_ADDRESS")
        assert masked(ids, fake.ipv6(), "IP_ADDRESS")
    for text in ["version 1.2.3.4.5", "at 10:30:00", "999.12.1.1", "2024.01.15"]:
        assert ids.analyze(text) == []


def test_generated_national_ids_are_found(ids: Pipeline) -> None:
    for locale, method in [("en_US", "ssn"), ("es_ES", "nif"), ("pt_BR", "cpf"),
                           ("it_IT", "ssn"), ("en_CA", "ssn"), ("fr_FR", "ssn"),
                           ("es_ES", "nie"), ("en_US", "itin")]:
        fake = Faker(locale)
        fake.seed_instance(11)
        for _ in range(5):
            value = getattr(fake, method)()
            assert masked(ids, value, "GOV_ID"), (locale, method, len(value))


def test_ssn_shapes_that_are_never_issued_are_left_alone(ids: Pipeline) -> None:
    for value in ["000-12-3456", "666-12-3456", "123-00-4567", "123-45-0000"]:
        assert ids.analyze(f"ref {value}") == []


def test_generated_phone_numbers_are_found(phones: Pipeline) -> None:
    found = total = 0
    for locale, region in [("en_US", "US"), ("en_GB", "GB"), ("de_DE", "DE")]:
        fake = Faker(locale)
        fake.seed_instance(2)
        for _ in range(25):
            number = fake.phone_number()
            try:
                valid = phonenumbers.is_valid_number(phonenumbers.parse(number, region))
            except phonenumbers.NumberParseException:
                valid = False
            if not valid:
                continue
            total += 1
            text = f"Call me on {number} after six."
            spans = phones.analyze(text)
            found += any(number.strip("()+ ") in text[s.start : s.end] or
                         text[s.start : s.end] in number for s in spans)
            assert all(s.label == "PHONE" for s in spans)
    assert total >= 30
    assert found / total >= 0.9


def test_international_numbers_of_any_country_and_no_dates_or_amounts(phones: Pipeline) -> None:
    for region in ["FR", "JP", "BR", "IN", "AU"]:
        example = phonenumbers.example_number_for_type(
            region, phonenumbers.PhoneNumberType.MOBILE)
        number = phonenumbers.format_number(
            example, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
        assert masked(phones, number, "PHONE"), region
    for text in ["Paid 1,234,567.89 on 2024-03-15", "Invoice 20240315 of 12.03.2024"]:
        assert phones.analyze(text) == []


@pytest.mark.parametrize(
    ("stage", "path", "message"),
    [
        ({"kind": "identifier", "types": ["credit_card", "passport_xx"]},
         "pipeline[0].types.passport_xx", "unknown identifier type"),
        ({"kind": "identifier", "types": {"iban": "iban1"}}, "pipeline[0].types.iban",
         "placeholder name"),
        ({"kind": "identifier"}, "pipeline[0].types", "missing"),
        ({"kind": "phone", "regions": ["US", "XX"]}, "pipeline[0].regions[1]", "unknown region"),
        ({"kind": "phone", "leniency": "loose"}, "pipeline[0].leniency", "expected one of"),
    ],
)
def test_config_errors_name_their_yaml_path(stage: dict, path: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Pipeline.from_dict({"pipeline": [stage]})
    assert caught.value.path == path
    assert message in str(caught.value)
