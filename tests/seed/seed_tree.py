"""anonymize-rs's test folder, rebuilt in a temporary directory: its configs as they are
(paths relative to the crate folder, where ``cargo test`` runs), its keyword and pattern
files, and tiny ONNX token classifiers in place of the Hugging Face models its NER tests
load from ``examples/`` (dslim/bert-base-NER, clarin-pl/FastPDN).

The tiny models tag fixed words with fixed labels: a one-token-per-word tokenizer and a
lookup table of logits, so a test checks the words replaced and their numbering, not a
model's judgement.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

# anonymize-rs/tests/config/config.yaml, verbatim.
CONFIG_YAML = """pipeline:
  - kind: flashText
    name: FRUIT_FLASH
    file: ./tests/config/fruits.txt
  - kind: regex
    name: FRUIT_REGEX
    file: ./tests/config/fruits_regex.txt"""
# anonymize-rs/tests/config/fruits.txt and fruits_regex.txt.
FRUITS_TXT = "apple\nbanana\n"
FRUITS_REGEX_TXT = "\\bapple\\w*\\b\n\\bbanana\\w*\\b\n\\bplum\\w*\\b"

# The labels of dslim/bert-base-NER, as in anonymize-rs/tests/config/config_ner_en.yaml.
EN_LABELS = ["O", "B-MISC", "I-MISC", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC"]
EN_TAGS = {"Sarah": "B-PER", "London": "B-LOC"}
# A few of clarin-pl/FastPDN's labels (config_ner_pl.yaml lists all 165; replace flags as
# there): the ones its test text needs, and some it must leave alone.
PL_LABELS = [("B-nam_adj", False), ("B-nam_fac_road", True), ("B-nam_liv_person", True),
             ("B-nam_loc_gpe_city", True), ("B-nam_org_company", False),
             ("I-nam_fac_road", True), ("I-nam_liv_person", True), ("I-nam_loc_gpe_city", True),
             ("O", False)]
PL_TAGS = {"Jan": "B-nam_liv_person", "Kowalski": "I-nam_liv_person",
           "Anna": "B-nam_liv_person", "Kowalska": "I-nam_liv_person",
           "Krakowie": "B-nam_loc_gpe_city", "Warszawskiej": "B-nam_fac_road"}


def write_seed_tree(root: Path) -> Path:
    """The crate folder with ``tests/config/`` as anonymize-rs has it; returns ``root``."""
    config = root / "tests" / "config"
    config.mkdir(parents=True, exist_ok=True)
    (config / "config.yaml").write_text(CONFIG_YAML, encoding="utf-8")
    (config / "fruits.txt").write_text(FRUITS_TXT, encoding="utf-8")
    (config / "fruits_regex.txt").write_text(FRUITS_REGEX_TXT, encoding="utf-8")
    return root


def ner_config(model: str, labels: list[tuple[str, bool]], *, naming: str = "seed") -> str:
    """A config_ner_*.yaml as anonymize-rs writes it (paths from the crate folder), plus
    ``naming``, the one key anonymize-rs does not have (its naming is our option)."""
    lines = ["pipeline:", "  - kind: ner", f"    model_path: ./examples/{model}/model.onnx",
             f"    tokenizer_path: ./examples/{model}/tokenizer.json",
             "    token_type_ids_included: true", f"    naming: {naming}", "    id2label:"]
    lines += [f'      "{i}": ["{label}", {str(flag).lower()}]'
              for i, (label, flag) in enumerate(labels)]
    return "\n".join(lines) + "\n"


def write_tiny_model(folder: Path, words: list[str], labels: list[str],
                     tags: dict[str, str]) -> Path:
    """``model.onnx`` + ``tokenizer.json`` in ``folder``: each word of ``words`` is one token,
    the words of ``tags`` get their label (logit 6 against 0), every other token ``O``."""
    from onnx import TensorProto, helper, numpy_helper, save
    from tokenizers import Tokenizer, models, pre_tokenizers, processors

    folder.mkdir(parents=True, exist_ok=True)
    vocab = {token: i for i, token in enumerate(["[PAD]", "[UNK]", "[CLS]", "[SEP]"])}
    for word in words:
        vocab.setdefault(word, len(vocab))
    tokenizer = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", 2), ("[SEP]", 3)])
    tokenizer.save(str(folder / "tokenizer.json"))

    table = np.zeros((len(vocab), len(labels)), dtype=np.float32)
    table[:, labels.index("O")] = 6.0
    for word, label in tags.items():
        table[vocab[word]] = 0.0
        table[vocab[word], labels.index(label)] = 6.0
    inputs = [helper.make_tensor_value_info(name, TensorProto.INT64, ["b", "s"])
              for name in ("input_ids", "attention_mask", "token_type_ids")]
    output = helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["b", "s", len(labels)])
    graph = helper.make_graph([helper.make_node("Gather", ["table", "input_ids"], ["logits"])],
                              "tiny-token-classifier", inputs, [output],
                              [numpy_helper.from_array(table, "table")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    save(model, str(folder / "model.onnx"))
    return folder / "model.onnx"


def words_of(*texts: str) -> list[str]:
    """Every word and punctuation mark of ``texts``, as the tiny tokenizer splits them."""
    from tokenizers import pre_tokenizers

    split = pre_tokenizers.BertPreTokenizer()
    return [piece for text in texts for piece, _ in split.pre_tokenize_str(text)]
