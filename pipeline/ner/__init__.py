"""The NER engine behind ``kind: ner``: an ONNX token classifier turned into word-level spans.

One idea a module: ``model`` loads and checks the ONNX session and tokenizer, ``labels``
reads the label map and merges tagged words into entities, ``windows`` cuts any length of
text into overlapping token windows and maps predictions back, ``batcher`` runs windows of
concurrent calls together on one worker thread, ``engine`` ties them together.
"""

from pipeline.ner.engine import NerEngine, NerOptions
from pipeline.ner.labels import LabelMap, LabelRule
from pipeline.ner.model import ModelFiles, OnnxTokenClassifier, resolve_bundled_model

__all__ = [
    "LabelMap",
    "LabelRule",
    "ModelFiles",
    "NerEngine",
    "NerOptions",
    "OnnxTokenClassifier",
    "resolve_bundled_model",
]
