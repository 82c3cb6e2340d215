"""Loading a model from files (``model_path``): tiny ONNX models built here, and the exporter.

The tiny models need the ``onnx`` package (the ``export`` extra); the exporter test needs
torch and transformers. Each test skips cleanly when its tools are not installed.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from pipeline import ConfigError, Pipeline
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


def test_export_script_output_loads(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    pytest.importorskip("onnx")
    source = tmp_path / "tiny-bert"
    config = transformers.BertConfig(
        vocab_size=200, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
        intermediate_size=32, max_position_embeddings=64,
        id2label={0: "O", 1: "B-PER", 2: "I-PER"}, label2id={"O": 0, "B-PER": 1, "I-PER": 2})
    torch.manual_seed(0)
    transformers.BertForTokenClassification(config).save_pretrained(source)
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + [f"w{i}" for i in range(195)]
    (source / "vocab.txt").write_text("\n".join(vocab) + "\n")
    transformers.BertTokenizerFast(vocab_file=str(source / "vocab.txt")).save_pretrained(source)
    out = tmp_path / "exported"
    run = subprocess.run([sys.executable, str(ROOT / "tools" / "export_onnx.py"), str(source),
                          str(out)], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    assert '"1": ["B-PER", true]' in run.stdout
    with Pipeline.from_dict({"pipeline": [{"kind": "ner", "model_path": str(out / "model.onnx"),
                                           "max_length": 64, "stride": 8,
                                           "threshold": 0.0}]}) as p:
        text = "w1 w2 w3 " * 40
        spans = p.analyze(text)
        assert all(text[s.start : s.end].strip() == text[s.start : s.end] for s in spans)
        assert p.anonymize(text).text  # runs end to end on windows
