"""Bad configs stop with one error that names the YAML path; good ones load as the seed's do."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline import ConfigError, Pipeline


def write(tmp_path: Path, text: str, name: str = "config.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def error_of(tmp_path: Path, text: str) -> str:
    with pytest.raises(ConfigError) as caught:
        Pipeline.from_yaml(write(tmp_path, text))
    return str(caught.value)


def test_seed_example_config_loads_and_reproduces_the_seed_output() -> None:
    pipeline = Pipeline.from_yaml("config/fruits.yaml")
    result = pipeline.anonymize("I like to eat apples and bananas and plums")
    assert result.text == "I like to eat FRUIT_FLASH0 and FRUIT_FLASH1 and FRUIT_REGEX0"
    assert result.items == {"FRUIT_FLASH0": "apples", "FRUIT_FLASH1": "bananas",
                            "FRUIT_REGEX0": "plums"}


def test_bad_regex_names_stage_and_pattern_index(tmp_path: Path) -> None:
    message = error_of(tmp_path, """
pipeline:
  - {kind: flashText, name: A, keywords: [x]}
  - {kind: flashText, name: B, keywords: [y]}
  - kind: regex
    name: C
    patterns: ['ok\\d+', '[unterminated']
""")
    assert message.startswith("pipeline[2].patterns[1]: unterminated character set")


def test_bad_regex_in_a_pattern_file_names_file_and_line(tmp_path: Path) -> None:
    write(tmp_path, "# comment\n\ngood\\d\n(open\n", "patterns.txt")
    message = error_of(tmp_path, "pipeline:\n  - {kind: regex, name: R, file: patterns.txt}\n")
    assert message.startswith("pipeline[0].file(patterns.txt:4): missing ), unterminated")


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ("pipeline:\n  - {kind: spacy, name: X}\n", "pipeline[0].kind: unknown kind 'spacy'"),
        ("pipeline:\n  - {kind: regex, patterns: [a]}\n", "pipeline[0].name: missing required key"),
        ("pipeline:\n  - {kind: regex, name: R, patterns: a}\n",
         "pipeline[0].patterns: expected a list of strings, got a string"),
        ("pipeline:\n  - {kind: regex, name: R, patterns: [1]}\n",
         "pipeline[0].patterns[0]: expected a string, got a number"),
        ("pipeline:\n  - {kind: flashText, name: K, file: missing.txt}\n",
         "pipeline[0].file: file not found"),
        ("pipeline:\n  - {kind: flashText, name: K}\n",
         "pipeline[0]: a flashText stage needs 'keywords' or a 'file'"),
        ("pipeline:\n  - {kind: flashText, name: K, keywords: [a], case_sensitive: 'yes'}\n",
         "pipeline[0].case_sensitive: expected true or false, got a string"),
        ("pipeline:\n  - {kind: flashText, name: K, keywords: [a], match: words}\n",
         "pipeline[0].match: unknown value 'words' (expected one of: prefix, word)"),
        ("pipeline:\n  - {kind: flashText, name: K, keywords: [a], keyword: [b]}\n",
         "pipeline[0].keyword: unknown key"),
        ("pipeline:\n  - {kind: regex, name: R, patterns: ['a*']}\n",
         "pipeline[0].patterns[0]: pattern matches the empty string"),
        ("pipeline:\n  - {kind: regex, name: R, patterns: [a], flags: [SHOUTY]}\n",
         "pipeline[0].flags[0]: unknown flag"),
        ("pipeline:\n  - just a string\n", "pipeline[0]: expected a mapping"),
        ("pipeline: []\n", "pipeline: expected a non-empty list of stages"),
        ("stages: []\n", "stages: unknown key (expected one of: allow, allow_file, auth"),
        ("pipeline:\n  - {kind: regex, name: R, patterns: [a]}\nplaceholder: '{name}'\n",
         "placeholder: must contain {name} and {index} exactly once each"),
        ("pipeline:\n  - {kind: regex, name: '${NO_SUCH_VARIABLE_FOR_TEST}', patterns: [a]}\n",
         "pipeline[0].name: environment variable NO_SUCH_VARIABLE_FOR_TEST is not set"),
    ],
)
def test_each_config_error_names_its_yaml_path(tmp_path: Path, config: str, expected: str) -> None:
    assert error_of(tmp_path, config).startswith(expected)


def test_yaml_syntax_error_gives_line(tmp_path: Path) -> None:
    message = error_of(tmp_path, "pipeline:\n  - kind: regex\n   name: [oops\n")
    assert "line" in message and "config.yaml" in message


def test_missing_config_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        Pipeline.from_yaml(tmp_path / "nope.yaml")


def test_environment_substitution_with_and_without_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SECRET_WORDS_FILE", "words.txt")
    write(tmp_path, "kiwi\n", "words.txt")
    pipeline = Pipeline.from_yaml(write(tmp_path, """
pipeline:
  - {kind: flashText, name: '${STAGE_NAME:-FRUIT}', file: '${SECRET_WORDS_FILE}'}
"""))
    assert pipeline.anonymize("one kiwi").text == "one FRUIT0"


def test_relative_files_resolve_against_the_config_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "conf"
    folder.mkdir()
    write(folder, "  # indented comment\n\nmango\n  papaya  \n", "k.txt")
    config = write(folder, "pipeline:\n  - {kind: flashText, name: F, file: ./k.txt}\n")
    monkeypatch.chdir(tmp_path)
    result = Pipeline.from_yaml(config).anonymize("mango and papaya")
    assert result.text == "F0 and F1"


def test_relative_files_fall_back_to_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "conf").mkdir()
    write(tmp_path, "mango\n", "k.txt")
    config = write(tmp_path / "conf", "pipeline:\n  - {kind: flashText, name: F, file: k.txt}\n")
    monkeypatch.chdir(tmp_path)
    assert Pipeline.from_yaml(config).anonymize("a mango").text == "a F0"
    (tmp_path / "k.txt").unlink()
    message = error_of(tmp_path / "conf", config.read_text())
    assert message.startswith("pipeline[0].file: file not found: neither ")
    assert str(tmp_path / "conf" / "k.txt") in message
    assert f"nor {tmp_path / 'k.txt'} (working directory)" in message


def test_regex_flags(tmp_path: Path) -> None:
    pipeline = Pipeline.from_yaml(write(tmp_path, """
pipeline:
  - {kind: regex, name: CODE, patterns: ['secret-\\d+'], flags: [IGNORECASE]}
"""))
    assert pipeline.anonymize("SECRET-12 and secret-7").text == "CODE0 and CODE1"


@pytest.mark.parametrize("typo", ["alow", "auht", "pipline"])
def test_an_unknown_top_level_key_is_an_error(tmp_path: Path, typo: str) -> None:
    message = error_of(tmp_path, f"""
pipeline:
  - {{kind: regex, name: R, patterns: [x+]}}
{typo}: [Acme]
""")
    assert message.startswith(f"{typo}: unknown key (expected one of: ")
    valid = message.split("expected one of: ", 1)[1].rstrip(")").split(", ")
    assert {"allow", "allow_file", "auth", "pipeline", "placeholder", "server", "store",
            "upstream"} <= set(valid)


def test_extra_top_level_sections_are_left_to_the_proxy(tmp_path: Path) -> None:
    pipeline = Pipeline.from_yaml(write(tmp_path, """
pipeline:
  - {kind: regex, name: R, patterns: [x+]}
upstream: {base_url: 'http://127.0.0.1:1/v1'}
store: {url: 'memory://'}
"""))
    assert pipeline.anonymize("a xx b").text == "a R0 b"
