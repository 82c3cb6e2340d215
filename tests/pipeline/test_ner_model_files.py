"""Loading a model from files (``model_path``): tiny ONNX models built here, and the exporter.

The tiny models need the ``onnx`` package; the exporter test needs torch and transformers
(the ``export`` extra, which the ``test`` extra includes: it runs in CI).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from pipeline import ConfigError, Pipeline, deanonymize
from pipeline.ner.model import resolve_bundled_model

ROOT = Path(__file__).resolve().parents[2]
LABELS = ["O", "B-ANIMAL", "I-ANIMAL"]


def tiny_model(folder: Path, *, inputs: tuple[str, ...] = ("input_ids", "attention_mask"),
               width: int = 3, tagged: tuple[str, ...] = ("zebra",)) -> Path:
    """A one-layer "model": each token id looks up its logits in a table.

    Tokens of ``tagged`` words get B-ANIMAL; everything else O. Uses the Rampart tokenizer.
    """
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper, numpy_helper

    rampart = resolve_bundled_model("rampart", "x")
    shutil.copy(rampart.tokenizer, folder / "tokenizer.json")
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
    table = np.zeros((tokenizer.get_vocab_size(), width), dtype=np.float32)
    table[:, 0] = 5.0
    for word in tagged:
        for token in tokenizer.encode(word, add_special_tokens=False).ids:
            table[token] = [0.0, 5.0, 0.0][:width] + [0.0] * (width - 3)
    graph_inputs = [helper.make_tensor_value_info(n, TensorProto.INT64, ["b", "s"])
                    for n in inputs]
    nodes = [helper.make_node("Gather", ["table", inputs[0]], ["logits"], axis=0)]
    output = helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["b", "s", width])
    graph = helper.make_graph(nodes, "tiny", graph_inputs, [output],
                              [numpy_helper.from_array(table, "table")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    path = folder / "model.onnx"
    onnx.save(model, str(path))
    return path


def stage(model: Path, **extra: object) -> dict:
    return {"kind": "ner", "model_path": str(model),
            "id2label": {str(i): [label, label != "O"] for i, label in enumerate(LABELS)},
            **extra}


def test_a_model_from_files_is_loaded_and_decoded(tmp_path: Path) -> None:
    model = tiny_model(tmp_path)
    with Pipeline.from_dict({"pipeline": [stage(model, labels={"ANIMAL": "PET"})]}) as p:
        result = p.anonymize("I saw a zebra, then another zebra and a lion.")
    assert result.text == "I saw a PET0, then another PET0 and a lion."


def test_tokenizer_and_labels_are_found_beside_the_model(tmp_path: Path) -> None:
    tiny_model(tmp_path)
    (tmp_path / "config.json").write_text(json.dumps(
        {"id2label": dict(enumerate(LABELS)), "max_position_embeddings": 64}))
    with Pipeline.from_dict({"pipeline": [{"kind": "ner", "model_path": "model.onnx"}]},
                            base_dir=tmp_path) as p:
        assert p.anonymize("a zebra").text == "a ANIMAL0"
    with pytest.raises(ConfigError, match="64 positions"):
        Pipeline.from_dict({"pipeline": [{"kind": "ner", "model_path": "model.onnx",
                                          "max_length": 128}]}, base_dir=tmp_path)


def test_output_width_must_match_id2label(tmp_path: Path) -> None:
    model = tiny_model(tmp_path, width=5)
    with pytest.raises(ConfigError) as caught:
        Pipeline.from_dict({"pipeline": [stage(model)]})
    assert caught.value.path == "pipeline[0].id2label"
    assert "5 outputs" in str(caught.value)


def test_token_type_ids_flag_must_match_the_model_inputs(tmp_path: Path) -> None:
    model = tiny_model(tmp_path)  # no token_type_ids input
    with pytest.raises(ConfigError) as caught:
        Pipeline.from_dict({"pipeline": [stage(model, token_type_ids_included=True)]})
    assert caught.value.path == "pipeline[0].token_type_ids_included"
    assert "has no token_type_ids input" in str(caught.value)


def test_unknown_model_inputs_are_refused(tmp_path: Path) -> None:
    model = tiny_model(tmp_path, inputs=("input_ids", "pixel_values"))
    with pytest.raises(ConfigError) as caught:
        Pipeline.from_dict({"pipeline": [stage(model)]})
    assert caught.value.path == "pipeline[0].model_path"
    assert "pixel_values" in str(caught.value)


def test_a_file_that_is_not_a_model_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "model.onnx"
    bad.write_bytes(b"not a model")
    (tmp_path / "tokenizer.json").write_text(
        resolve_bundled_model("rampart", "x").tokenizer.read_text())
    with pytest.raises(ConfigError) as caught:
        Pipeline.from_dict({"pipeline": [stage(bad)]})
    assert caught.value.path == "pipeline[0].model_path"


def test_export_script_output_loads_through_the_seed_keys(tmp_path: Path) -> None:
    """The seed's model flow: a Hugging Face token classifier (a tiny random BERT, built
    here, no hub) -> tools/export_onnx.py -> a ``kind: ner`` stage with the seed's keys
    (``model_path``, ``tokenizer_path``, ``token_type_ids_included`` and the ``id2label``
    block the script prints) -> the words the model itself tags, run in torch."""
    import torch
    import transformers
    import yaml

    source = tmp_path / "tiny-bert"
    config = transformers.BertConfig(
        vocab_size=200, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
        intermediate_size=32, max_position_embeddings=64,
        id2label={0: "O", 1: "B-PER", 2: "I-PER"}, label2id={"O": 0, "B-PER": 1, "I-PER": 2})
    torch.manual_seed(0)
    model = transformers.BertForTokenClassification(config).eval()
    with torch.no_grad():  # decisive scores, so no word sits on the 0.5 bar
        model.classifier.weight.mul_(40.0)
    model.save_pretrained(source)
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + [f"w{i}" for i in range(195)]
    (source / "vocab.txt").write_text("\n".join(vocab) + "\n")
    tokenizer = transformers.BertTokenizerFast(vocab_file=str(source / "vocab.txt"))
    tokenizer.save_pretrained(source)
    out = tmp_path / "exported"
    run = subprocess.run([sys.executable, str(ROOT / "tools" / "export_onnx.py"), str(source),
                          str(out)], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    printed = yaml.safe_load(run.stdout[run.stdout.index("  - kind: ner"):])[0]
    assert printed["id2label"] == {"0": ["O", False], "1": ["B-PER", True],
                                   "2": ["I-PER", True]}

    words = [f"w{i}" for i in range(5, 45)]
    text = " ".join(words)
    with torch.no_grad():
        probs = model(**tokenizer(text, return_tensors="pt")).logits.softmax(-1)[0, 1:-1]
    expected = [(word, "B-PER" if p[1] >= p[2] else "I-PER")
                for word, p in zip(words, probs.tolist(), strict=True) if p[1] + p[2] >= 0.5]
    assert 0 < len(expected) < len(words)  # the check below can fail both ways

    stage = {**printed, "model_path": "./exported/model.onnx",
             "tokenizer_path": "./exported/tokenizer.json", "token_type_ids_included": True,
             "naming": "seed"}
    yaml_file = tmp_path / "config.yaml"
    yaml_file.write_text(yaml.safe_dump({"pipeline": [stage]}), encoding="utf-8")
    with Pipeline.from_yaml(yaml_file) as p:
        spans = p.analyze(text)
        assert [(text[s.start : s.end], s.label) for s in spans] == expected
        # Several windows of 64 positions: other context, other tags; whole words, exact
        # round trip.
        long_text = " ".join(words * 8)
        result = p.anonymize(long_text)
        assert result.items and all(v in words for v in result.items.values())
        assert deanonymize(result.text, result.items) == long_text
