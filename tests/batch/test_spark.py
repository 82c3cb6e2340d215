"""The Spark path in local mode (``local[2]``, Java 17): one session for the module, small
data. Pseudonyms must agree across partitions and with the ``batch`` command."""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from batch.keys import derive
from batch.pseudonyms import KeyedScheme, RedisAllocator
from batch.spark import anonymize_column, collect_mapping
from tests.batch.conftest import FRUITS, REDIS_URL

pyspark = pytest.importorskip("pyspark")
if shutil.which("java") is None:
    pytest.skip("Spark needs Java", allow_module_level=True)

ROWS = [(1, "apples and plums"), (2, None), (3, "bananas, apples"), (4, "nothing"),
        (5, "plums again"), (6, "apple and bananas")]


@pytest.fixture(scope="module")
def spark() -> Iterator[object]:
    from pyspark.sql import SparkSession

    before = os.environ.get("PYSPARK_PYTHON")
    os.environ["PYSPARK_PYTHON"] = sys.executable  # the Python workers run this venv
    session = (SparkSession.builder.master("local[2]").appName("anonymize-proxy-test")
               .config("spark.ui.enabled", "false")
               .config("spark.sql.shuffle.partitions", "2")
               .config("spark.sql.execution.arrow.pyspark.enabled", "true")
               .getOrCreate())
    yield session
    session.stop()
    if before is None:
        os.environ.pop("PYSPARK_PYTHON", None)
    else:
        os.environ["PYSPARK_PYTHON"] = before


def test_keyed_pseudonyms_need_no_coordination(spark, tmp_path: Path, key: bytes) -> None:
    df = spark.createDataFrame(ROWS, "id long, notes string").repartition(2)
    out = anonymize_column(df, "notes", FRUITS, key=key, items_column="items")
    rows = {r["id"]: r for r in out.collect()}
    assert out.columns == ["id", "notes", "items"]
    assert rows[2]["notes"] is None and rows[4]["notes"] == "nothing"
    apples = f"FRUIT_FLASH_{KeyedScheme(derive(key).pseudonyms).digest('apples')}"
    assert rows[1]["notes"].startswith(apples + " and ")  # what `batch --scheme keyed` writes
    assert rows[3]["notes"].endswith(", " + apples)

    mapping = collect_mapping(out, "items", tmp_path / "spark.mapping", key)
    assert mapping[apples] == "apples"
    assert set(mapping.values()) == {"apples", "plums", "bananas", "apple"}


def test_numbered_placeholders_coordinated_through_redis(spark, key: bytes) -> None:
    run_id = f"spark-{uuid.uuid4().hex}"
    df = spark.createDataFrame(ROWS, "id long, notes string").repartition(2)
    try:
        out = anonymize_column(df, "notes", FRUITS, key=key, scheme="numbered",
                               redis_url=REDIS_URL, run_id=run_id, output_column="masked",
                               items_column="items")
        rows = out.collect()
        seen: dict[str, str] = {}
        for row in rows:
            for name, value in json.loads(row["items"] or "{}").items():
                assert seen.setdefault(value, name) == name  # one value, one placeholder
        assert set(seen) == {"apples", "plums", "bananas", "apple"}
        assert all(re.fullmatch(r"FRUIT_(FLASH|REGEX)\d", n) for n in seen.values())
        assert {r["notes"] for r in rows} == {t for _, t in ROWS}  # the source column is kept
    finally:
        RedisAllocator(REDIS_URL, run_id, derive(key).pseudonyms).delete()
