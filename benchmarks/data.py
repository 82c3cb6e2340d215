"""Deterministic inputs for the benchmarks: prompts with personal data, keyword lists, configs.

Generated with Faker under a fixed seed (Faker is pinned in constraints.txt), so every run of
every benchmark sees the same text and nothing large is committed.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from pathlib import Path

from faker import Faker

LOCALES = ["en_US", "en_GB", "de_DE", "fr_FR", "it_IT", "es_ES", "nl_NL", "pl_PL", "sv_SE"]

TEMPLATES = [
    "Hi, my name is {name} and I work at {company} in {city}. {filler} Please draft a short "
    "reply to {name2} ({email}) about invoice {number}; they can be reached on {phone}.",
    "Summarize this support ticket. Customer: {name}, account {iban}, phone {phone}. {filler} "
    "The customer says {company} charged the card twice and wants a refund to the same account.",
    "{filler} Translate to French: Dear {name2}, thank you for visiting our office in {city}. "
    "Your contact at {company} is {name}; write to {email} with any questions.",
    "Rewrite more politely: {name}, the shipment for {company} left {city} late again. "
    "{filler} Call me at {phone} or email {email} before Friday.",
]


def _faker(seed: int) -> Faker:
    fake = Faker(LOCALES)
    fake.seed_instance(seed)
    return fake


LISTED_KEYWORDS = 1000


def prompts(n: int, seed: int = 5) -> list[str]:
    """``n`` chat prompts of ~300-700 characters, each with names, contacts and plain prose."""
    fake = _faker(seed)
    english = fake["en_US"]
    rng = random.Random(seed)
    listed = keywords(LISTED_KEYWORDS)

    def pick(make: Callable[[], str]) -> str:
        # Most names are on the rules config's list (a team lists its customers), some not.
        return rng.choice(listed) if rng.random() < 0.7 else make()

    out = []
    for _ in range(n):
        template = rng.choice(TEMPLATES)
        out.append(template.format(
            name=pick(fake.name), name2=pick(fake.name), company=pick(fake.company),
            city=pick(fake.city),
            email=fake.email(), phone=fake.phone_number(), iban=fake.iban(),
            number=rng.randrange(10_000, 99_999),
            filler=english.paragraph(nb_sentences=rng.randint(2, 6)),
        ))
    return out


def keywords(n: int, seed: int = 7) -> list[str]:
    """``n`` distinct keywords as a team would list them: surnames, companies, cities, names."""
    fake = _faker(seed)
    makers = [fake.last_name, fake.company, fake.city, fake.name, fake.first_name]
    seen: dict[str, None] = {}
    rng = random.Random(seed)
    for _ in range(n * 50):
        if len(seen) >= n:
            break
        word = rng.choice(makers)().strip()
        if word and "\n" not in word:
            seen.setdefault(word, None)
    if len(seen) < n:
        raise RuntimeError(f"only {len(seen)} distinct keywords could be generated")
    return list(seen)


def keyword_text(chars: int, words: list[str], seed: int = 11, density: float = 0.02) -> str:
    """Prompt-like prose of about ``chars`` characters with listed ``words`` mixed in."""
    fake = _faker(seed)
    english = fake["en_US"]
    rng = random.Random(seed)
    pieces: list[str] = []
    total = 0
    while total < chars:
        sentence = english.sentence(nb_words=rng.randint(6, 16))
        if rng.random() < density * 10:
            at = rng.randint(0, sentence.count(" "))
            parts = sentence.split(" ")
            parts.insert(at, rng.choice(words))
            sentence = " ".join(parts)
        pieces.append(sentence)
        total += len(sentence) + 1
    return " ".join(pieces)


def chat_body(text: str, stream: bool = False) -> str:
    """An OpenAI chat completion request with ``text`` as the user message."""
    return json.dumps({
        "model": "gpt-4o-mini",
        "stream": stream,
        "messages": [
            {"role": "system", "content": "You are a helpful assistant for a customer team."},
            {"role": "user", "content": text},
        ],
    })


RULES_PATTERNS = [
    r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+",
    r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){3,7}(?: ?[A-Z0-9]{1,3})?\b",
    r"(?<![\w+])\+?\d[\d ()./-]{7,}\d\b",
]


def write_rules_config(folder: Path, n_keywords: int = LISTED_KEYWORDS) -> Path:
    """The benchmark's regex + keyword pipeline (no NER): names list, e-mails, IBANs, phones."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "names.txt").write_text("\n".join(keywords(n_keywords)) + "\n", encoding="utf-8")
    patterns = "".join(f"      - '{p}'\n" for p in RULES_PATTERNS[1:])
    config = folder / "rules.yaml"
    config.write_text(
        "pipeline:\n"
        "  - kind: flashText\n    name: NAME\n    file: ./names.txt\n    match: word\n"
        f"  - kind: regex\n    name: EMAIL\n    patterns:\n      - '{RULES_PATTERNS[0]}'\n"
        f"  - kind: regex\n    name: NUMBER\n    patterns:\n{patterns}",
        encoding="utf-8",
    )
    return config
