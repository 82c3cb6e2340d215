"""European ids, address shapes and phone regions added for agent traffic (issue 14)."""

from __future__ import annotations

import random

import phonenumbers
import pytest
from faker import Faker
from stdnum.de import idnr
from stdnum.pl import nip

from pipeline import Pipeline

TYPES = ["ip_address", "mac_address", "es_dni", "es_nie", "de_idnr", "pl_pesel", "pl_nip",
         "nl_bsn", "gb_nino"]
RNG = random.Random(14)


@pytest.fixture(scope="module")
def ids() -> Pipeline:
    return Pipeline.from_dict({"pipeline": [{"kind": "identifier", "types": TYPES}]})


def found(p: Pipeline, text: str) -> list[str]:
    return [text[s.start : s.end] for s in p.analyze(text)]


def with_check_digit(is_valid, prefix_digits: int, total: int) -> str:
    """A random number that ``is_valid`` accepts (python-stdnum has no generators)."""
    while True:
        base = "".join(RNG.choice("123456789") for _ in range(prefix_digits))
        for tail in range(10 ** (total - prefix_digits)):
            value = base + str(tail).zfill(total - prefix_digits)
            if is_valid(value):
                return value


def test_german_polish_and_dutch_ids_are_masked_after_an_id_word(ids: Pipeline) -> None:
    for _ in range(5):
        steuer = with_check_digit(idnr.is_valid, 10, 11)
        grouped = f"{steuer[:2]} {steuer[2:5]} {steuer[5:8]} {steuer[8:]}"
        pesel = Faker("pl_PL").pesel()
        tax = with_check_digit(nip.is_valid, 9, 10)
        bsn = Faker("nl_NL").ssn()
        for text, value in ((f"Steuer-IdNr: {steuer}", steuer), (f"tax_id | {grouped}", grouped),
                            (f"PESEL {pesel}", pesel), (f"NIP: {tax}", tax),
                            (f"BSN {bsn}", bsn)):
            assert value in found(ids, text), text


def test_checksum_valid_digit_runs_without_an_id_word_stay_as_written(ids: Pipeline) -> None:
    # One 9-11 digit run in ten passes these checksums: timestamps, account and invoice numbers.
    tax = with_check_digit(nip.is_valid, 9, 10)
    bsn = Faker("nl_NL").ssn()
    assert found(ids, f"created_at={tax} account 607491000067 order {bsn}") == []


def test_a_valid_id_inside_a_longer_digit_run_is_no_match(ids: Pipeline) -> None:
    # "id: 4155550123" once became "id: GOV_ID03": a valid BSN is the 10-digit run's prefix.
    from stdnum.nl import bsn

    for _ in range(5):
        value = with_check_digit(bsn.is_valid, 7, 9)
        dotted = f"{value[:4]}.{value[4:6]}.{value[6:]}"
        for text in (f"id: {value}3", f"BSN 9{value}", f"id: {dotted}7"):
            assert not {value, dotted} & set(found(ids, text)), text  # a whole run, or nothing
        assert found(ids, f"BSN {value}") == [value]


def test_uk_national_insurance_numbers_follow_hmrcs_prefix_rules(ids: Pipeline) -> None:
    assert found(ids, "NINO: PX 93 45 49 A") == ["PX 93 45 49 A"]
    assert found(ids, "nino ab123456c") == ["ab123456c"]
    # D, F, I, Q, U, V never start one; GB, ZZ, NK are not allotted; the suffix is A-D.
    for bad in ("DA123456A", "GB123456A", "ZZ123456A", "AB123456E"):
        assert found(ids, f"NINO {bad}") == []


def test_lower_case_and_spaced_spanish_ids_are_masked(ids: Pipeline) -> None:
    nif = Faker("es_ES").nif()
    for value in (nif, nif.lower(), f"{nif[:8]} {nif[8]}", "12345678z"):
        assert found(ids, f"DNI {value} ok") == [value]


@pytest.mark.parametrize(("text", "value"), [
    ("10.0.3.7:5432", "10.0.3.7"), ("db at 192.168.1.20:6379,", "192.168.1.20"),
    ("::ffff:10.0.0.1", "::ffff:10.0.0.1"), ("[2001:db8::7]:443", "2001:db8::7"),
    ("64:ff9b::192.0.2.33 ok", "64:ff9b::192.0.2.33"),
    ("mac 3c:22:fb:1a:07:9e", "3c:22:fb:1a:07:9e"),
    ("MAC 3C-22-FB-1A-07-9E.", "3C-22-FB-1A-07-9E"),
])
def test_addresses_in_technical_forms_are_masked_without_the_port(ids: Pipeline, text: str,
                                                                   value: str) -> None:
    assert found(ids, text) == [value]


@pytest.mark.parametrize("text", ["127.0.0.1:8000", "0.0.0.0", "::1", "10.20.0.0/16",
                                  "std::vector", "at 12:30:45", "ff:ff:ff:ff:ff:ff"])
def test_loopback_networks_and_look_alikes_are_left_alone(ids: Pipeline, text: str) -> None:
    assert found(ids, text) == []


@pytest.fixture(scope="module")
def eu_phones() -> Pipeline:
    regions = ["US", "GB", "DE", "FR", "ES", "IT", "NL", "PL", "PT", "SE"]
    return Pipeline.from_dict({"pipeline": [{"kind": "phone", "regions": regions}]})


@pytest.mark.parametrize("region", ["ES", "PL", "IT", "NL", "PT", "SE"])
def test_national_landlines_of_eu_regions_are_found(eu_phones: Pipeline, region: str) -> None:
    example = phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.FIXED_LINE)
    national = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.NATIONAL)
    assert national in found(eu_phones, f"Llame / call {national} please")


def test_order_numbers_dates_and_amounts_are_not_phones(eu_phones: Pipeline) -> None:
    text = ("Invoice 2025-208546 of 2024-06-20, order 4471920381 for 1234.56 EUR, "
            "build 20240620123")
    assert found(eu_phones, text) == []
