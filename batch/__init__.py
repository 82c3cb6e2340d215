"""Batch anonymization of datasets (JSONL, CSV, Parquet, folders of texts, Spark DataFrames).

A first-class use of the ``pipeline`` library: the same value gets the same pseudonym in
every row and file of a run, the mapping is kept in an AES-GCM encrypted file, and bad input
is reported and set aside instead of being lost.
"""
