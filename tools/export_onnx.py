"""Export a Hugging Face token-classification model to a folder the ``ner`` stage loads.

    pip install torch transformers          # export-time only, not needed by the proxy
    python tools/export_onnx.py dslim/bert-base-NER models/bert-base-ner
    # or a local folder saved with save_pretrained():
    python tools/export_onnx.py ./my-finetuned-model models/mine

The output folder holds ``model.onnx``, ``tokenizer.json`` and ``config.json`` (with its
``id2label``), so a stage needs only ``model_path: models/bert-base-ner/model.onnx``; the
script prints a ready ``id2label`` block in the seed's format as well.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def export(source: str, out: Path, opset: int = 17) -> dict[str, str]:
    """Write model.onnx + tokenizer.json + config.json to ``out``; return id2label."""
    import torch
    from transformers import AutoModelForTokenClassification, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(source)
    if not getattr(tokenizer, "is_fast", False):
        raise SystemExit("the model has no fast tokenizer (tokenizer.json); cannot export")
    model = AutoModelForTokenClassification.from_pretrained(source).eval()
    out.mkdir(parents=True, exist_ok=True)
    sample = tokenizer(["Alex Rivera lives in Springfield."], return_tensors="pt")
    names = [n for n in ("input_ids", "attention_mask", "token_type_ids") if n in sample]
    dynamic = {n: {0: "batch_size", 1: "sequence_length"} for n in names}
    dynamic["logits"] = {0: "batch_size", 1: "sequence_length"}

    class Logits(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.inner = model

        def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
            return self.inner(**dict(zip(names, inputs, strict=True))).logits

    with torch.no_grad():
        torch.onnx.export(Logits(), tuple(sample[n] for n in names), str(out / "model.onnx"),
                          input_names=names, output_names=["logits"],
                          dynamic_axes=dynamic, opset_version=opset, dynamo=False)
    tokenizer.backend_tokenizer.save(str(out / "tokenizer.json"))
    model.config.to_json_file(str(out / "config.json"))
    return {str(k): v for k, v in model.config.id2label.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source", help="hub name or local folder of the model")
    parser.add_argument("out", type=Path, help="output folder")
    parser.add_argument("--opset", type=int, default=17)
    args = parser.parse_args()
    id2label = export(args.source, args.out, args.opset)
    print(f"wrote {args.out}/model.onnx, tokenizer.json, config.json\n")
    print("  - kind: ner")
    print(f"    model_path: {args.out / 'model.onnx'}")
    print("    id2label:")
    for key, label in sorted(id2label.items(), key=lambda kv: int(kv[0])):
        print(f"      {json.dumps(key)}: [{json.dumps(label)}, {str(label != 'O').lower()}]")


if __name__ == "__main__":
    main()
