"""A served vector followed back to the landing file that carried it.

Two landing days, a second catalogue file on day two that updates one day-one item, one
embed run and one published snapshot; each traced vector must end at the one file whose
line holds its item's version. (The embed job's Change Data Feed path is tested in
test_embedding_changes.py.)
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest
from contentlake.jobs import embed_content, ingest_catalog, publish_index

from contentlake.config import load_config
from contentlake.index_snapshot import current_snapshot_name
from contentlake.lineage import Lineage, describe, snapshot_inputs
from contentlake.sample_data import SampleSpec, catalog_path, generate
from contentlake.tables import ensure_tables

# A lakehouse of its own, two days of every job: the slow suite (make test-slow).
pytestmark = pytest.mark.slow

SPEC = SampleSpec(items=12, days=2, users=5, events_per_day=20, seed=5)
DATABASE = "t_lineage"
EXTRA_FILE = "late-fixes.jsonl"


def landing_files_with(landing: Path, content_id: str, updated_at: datetime) -> list[str]:
    """The landing files holding a line of ``content_id`` at ``updated_at``, read directly
    from the JSON (independently of the pipeline's transforms)."""
    found = []
    for path in sorted(landing.glob("catalog/date=*/*.jsonl")):
        for line in path.read_text().splitlines():
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            stamp = record.get("updated_at") if isinstance(record, dict) else None
            if record.get("content_id") != content_id or not isinstance(stamp, str):
                continue
            try:
                when = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
            except ValueError:
                continue
            if when.astimezone(timezone.utc).replace(tzinfo=None) == updated_at:
                found.append(f"file:{path}")
    # A file may repeat a line (the generator's duplicates): one file all the same.
    return sorted(set(found))


def good_record(line: str) -> dict | None:
    """A line the generator meant as a good record (its ids stay below c900000)."""
    try:
        record = json.loads(line)
    except json.JSONDecodeError:
        return None
    content_id = record.get("content_id") if isinstance(record, dict) else None
    if not (isinstance(content_id, str) and content_id[1:].isdigit()):
        return None
    return (
        record if int(content_id[1:]) < 900_000 and isinstance(record.get("title"), str) else None
    )


@pytest.fixture(scope="module")
def lake(spark, tmp_path_factory, tiny_model):
    spark.sql(f"drop database if exists {DATABASE} cascade")
    cfg = load_config(
        "local",
        root=tmp_path_factory.mktemp("lineage"),
        overrides={
            "database": DATABASE,
            "index": {"factory": "Flat", "modality": "text"},
            **tiny_model,
        },
    )
    generate(cfg.paths.landing, SPEC)
    day_1, day_2 = SPEC.landing_dates()
    # A day-one item corrected by a second file on day two.
    first = next(
        record
        for record in map(
            good_record, catalog_path(cfg.paths.landing, day_1).read_text().splitlines()
        )
        if record
    )
    fixed = {**first, "title": "Corrected title", "updated_at": f"{day_2}T23:59:59Z"}
    (catalog_path(cfg.paths.landing, day_2).parent / EXTRA_FILE).write_text(json.dumps(fixed))
    ensure_tables(spark, cfg)
    for day in (day_1, day_2):
        ingest_catalog.run(spark, cfg, day, f"lineage__{day}")
    embed_content.run(spark, cfg, day_2, f"lineage__{day_2}")
    publish_index.run(spark, cfg, day_2, f"lineage__{day_2}")
    return cfg, first["content_id"]


def test_every_served_vector_leads_to_the_landing_file_of_its_version(spark, lake):
    cfg, corrected_id = lake
    day_1, day_2 = SPEC.landing_dates()
    snapshot = current_snapshot_name(cfg.paths.snapshots)
    assert snapshot is not None
    lineage = Lineage(spark, cfg)
    content = {
        row.content_id: row
        for row in spark.table("content")
        .select("content_id", "updated_at", "_ingest_date")
        .collect()
    }
    # One item from each file: the corrected one, one last changed on day one, one on day two.
    from_day_1 = min(cid for cid, row in content.items() if row._ingest_date == day_1)
    from_day_2 = min(
        cid for cid, row in content.items() if row._ingest_date == day_2 and cid != corrected_id
    )
    expected = {
        corrected_id: f"file:{catalog_path(cfg.paths.landing, day_2).parent / EXTRA_FILE}",
        from_day_1: f"file:{catalog_path(cfg.paths.landing, day_1)}",
        from_day_2: f"file:{catalog_path(cfg.paths.landing, day_2)}",
    }
    for content_id, landing_file in expected.items():
        assert landing_files_with(
            cfg.paths.landing, content_id, content[content_id].updated_at
        ) == [landing_file]
        trace = lineage.trace_item(snapshot, content_id)
        assert trace.landing_file == landing_file, content_id
        assert [(s.table, s.job) for s in trace.steps] == [
            ("content_embeddings", "embed_content"),
            ("content", "ingest_catalog"),
            ("bronze_catalog", "ingest_catalog"),
        ]
        ingest_day = content[content_id]._ingest_date.isoformat()
        assert [s.run_id for s in trace.steps[1:]] == [f"lineage__{ingest_day}"] * 2
        # The listener recorded that bronze write, reading the landing catalogue: the file
        # itself when it was the day's only one, else the folder it names the dataset by.
        assert trace.steps[2].openlineage_run_id is not None
        named = landing_file if ingest_day == str(day_1) else f"file:{cfg.paths.landing}/catalog"
        assert trace.steps[2].detail.endswith(f"(OpenLineage input {named})")


def test_the_command_prints_the_chain_and_the_manifest_entry_names_the_runs(spark, lake):
    cfg, corrected_id = lake
    _, day_2 = SPEC.landing_dates()
    lineage = Lineage(spark, cfg)
    text = describe(lineage, "CURRENT", content_id=corrected_id)
    extra = catalog_path(cfg.paths.landing, day_2).parent / EXTRA_FILE
    assert text.splitlines()[-1].strip() == f"<- landing file:{extra}"
    chain = describe(lineage, "content_embeddings")
    assert f"<- landing file:{catalog_path(cfg.paths.landing, day_2)}" in chain
    assert f"<- landing file:{extra}" in chain

    versions = {
        table: int(spark.sql(f"describe history {table} limit 1").first()["version"])
        for table in ("content_embeddings", "content")
    }
    inputs = snapshot_inputs(spark, cfg, versions)
    embeddings = inputs[f"{DATABASE}.content_embeddings"]
    assert (embeddings["job"], embeddings["run_id"], embeddings["operation"]) == (
        "embed_content",
        f"lineage__{day_2}",
        "MERGE",
    )
    assert inputs[f"{DATABASE}.content"]["run_id"] == f"lineage__{day_2}"
    assert embeddings["openlineage_run_id"] is not None
    # Only the three tables the chain passes through appear in it, bronze last.
    assert chain.index("content_embeddings") < chain.index("<- content") < chain.index("bronze")
