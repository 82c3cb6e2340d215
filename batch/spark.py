"""Anonymize a Spark DataFrame column: a pandas UDF (Arrow batches) whose pipeline is loaded
once per Python worker of each executor and reused for every batch after that.

Pseudonyms hold across the whole DataFrame, however Spark splits it:
- ``scheme="keyed"``: HMAC pseudonyms, no coordination (every executor computes the same);
- ``scheme="numbered"``: ``PERSON0`` placeholders whose indexes come from Redis
  (``redis_url`` + ``run_id``), so every executor of the cluster numbers alike.

    from batch.spark import anonymize_column, collect_mapping
    out = anonymize_column(df, "notes", "config/default.yaml", key=key, items_column="items")
    collect_mapping(out, "items", "notes.mapping", key)   # encrypted, for --deanonymize
    out.drop("items").write.parquet("notes-anonymized")
"""

import json
import os
from dataclasses import dataclass
from typing import Any

from batch.keys import derive
from batch.mapping import write_mapping
from batch.transform import merge_items
from batch.worker import TransformSpec, build_transform
from pipeline.errors import PipelineError

_CACHE: dict[tuple[Any, ...], Any] = {}


@dataclass(frozen=True)
class _Job:
    config: str
    scheme: str
    master_key: bytes
    digest_length: int
    redis_url: str | None
    run_id: str
    threads: int

    def __repr__(self) -> str:
        return f"_Job(config={self.config!r}, scheme={self.scheme!r})"

    def transform(self) -> Any:
        """The worker's transform, built on first use: one pipeline per Python worker."""
        cache_key = (self.config, self.scheme, self.master_key, self.digest_length,
                     self.redis_url, self.run_id, self.threads)
        if cache_key not in _CACHE:
            keys = derive(self.master_key)
            _CACHE[cache_key] = build_transform(TransformSpec(
                config=self.config, threads=self.threads, scheme=self.scheme,
                hmac_key=keys.pseudonyms, digest_length=self.digest_length,
                redis_url=self.redis_url, run_id=self.run_id))
        return _CACHE[cache_key]


def anonymize_column(df: Any, column: str, config: str | os.PathLike[str], *, key: bytes,
                     scheme: str = "keyed", output_column: str | None = None,
                     items_column: str | None = None, redis_url: str | None = None,
                     run_id: str | None = None, digest_length: int = 12,
                     threads: int = 1) -> Any:
    """``df`` with ``column`` (or a new ``output_column``) anonymized; nulls stay null.

    ``key`` is the 32-byte master key (as ``ANONYMIZE_PROXY_KEY`` decodes). ``config`` must be
    readable at the same path on every executor. With ``items_column``, a JSON column of each
    row's ``{pseudonym: original}`` is added for ``collect_mapping``; drop it before sharing.
    """
    from pyspark.sql import functions as sf
    from pyspark.sql.functions import pandas_udf

    if scheme not in ("keyed", "numbered"):
        raise ValueError("scheme must be 'keyed' or 'numbered'")
    if scheme == "numbered" and not (redis_url and run_id):
        raise ValueError("numbered placeholders on Spark need redis_url and run_id: executors "
                         "are separate processes and must share one numbering")
    job = _Job(os.fspath(os.path.abspath(config)), scheme, bytes(key), digest_length,
               redis_url, run_id or "", threads)

    import pandas as pd

    @pandas_udf("text string, items string")  # type: ignore[call-overload]
    def anonymize(texts: pd.Series) -> pd.DataFrame:
        present = texts.notna()
        done = job.transform()(texts[present].tolist())
        if done.errors:
            raise PipelineError(f"{len(done.errors)} texts already contain strings that read as "
                                "their pseudonyms; not anonymized")
        out = pd.Series([None] * len(texts), dtype=object, index=texts.index)
        out[present] = done.texts
        items = pd.Series([None] * len(texts), dtype=object, index=texts.index)
        if items_column:
            restore = [json.dumps(_used(done.items, t), ensure_ascii=False)
                       for t in done.texts]
            items[present] = restore
        return pd.DataFrame({"text": out, "items": items})

    target = output_column or column
    tmp = f"__anonymized_{column}"
    out = df.withColumn(tmp, anonymize(sf.col(column)))
    out = out.withColumn(target, sf.col(f"{tmp}.text"))
    if items_column:
        out = out.withColumn(items_column, sf.col(f"{tmp}.items"))
    return out.drop(tmp)


def _used(items: dict[str, str], text: str) -> dict[str, str]:
    return {name: value for name, value in items.items() if name in text}


def collect_mapping(df: Any, items_column: str, path: str | os.PathLike[str],
                    key: bytes) -> dict[str, str]:
    """Merge the per-row items into one mapping and write it encrypted (``--deanonymize``
    restores files with it). Streams the column to the driver partition by partition."""
    items: dict[str, str] = {}
    for row in df.select(items_column).toLocalIterator():
        if row[0]:
            merge_items(items, json.loads(row[0]))
    write_mapping(path, items, derive(bytes(key)), {"source": "spark"})
    return items
