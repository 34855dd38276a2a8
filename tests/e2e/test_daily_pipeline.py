"""The demo pipeline end to end on tiny generated data: real Spark, Delta, model, FAISS.

Slow (``make test-slow``, which CI runs): two days of every job cost about five minutes on
two cores, nearly half of what the default suite took with it. Each job's behaviour keeps
its own test in the default suite (tests/integration/, tests/unit/); this module is the one
place where all of them run in sequence, as the demo does, and read each other's tables.

Its last tests rerun each job for the second day on that same lakehouse, after every test
that reads it, and assert that the rerun changed no table (idempotency by run date). Tables
are compared by ``content_hash`` (row multiset over all columns), less the run metadata
listed in ``conftest.RUN_METADATA``.
"""

import importlib
import json

import numpy as np
import pytest
from chispa import assert_df_equality
from contentlake.jobs import DAILY_JOBS
from pyspark.sql import functions as F

from contentlake.config import load_config
from contentlake.demo import demo_run_id, run_demo, show_results
from contentlake.index_choice import DEFAULT_CANDIDATES
from contentlake.index_snapshot import load_snapshot
from contentlake.report import write_pipeline_report
from contentlake.sample_data import SampleSpec, catalog_path, load_expected
from contentlake.tables import SQL_DIR, sql_statements

pytestmark = pytest.mark.slow

ANALYST_DIR = SQL_DIR / "analyst"
# With media for a few items, one bad file of each kind among them (docs/media.md).
SPEC = SampleSpec(items=40, days=2, users=30, events_per_day=300, seed=11, media_items=8)


@pytest.fixture(scope="module")
def pipeline(spark, tmp_path_factory, tiny_model):
    spark.sql("drop database if exists e2e_pipeline cascade")
    cfg = load_config(
        "local",
        root=tmp_path_factory.mktemp("e2e"),
        overrides={"database": "e2e_pipeline", **tiny_model},
    )
    results = run_demo(spark, cfg, SPEC)
    return cfg, results


def test_every_ingest_reconciles_with_what_landed(pipeline):
    cfg, results = pipeline
    expected = load_expected(cfg.paths.landing)["days"]
    by_job = {(r.job, r.run_date.isoformat()): r for r in results}
    for day, landed in expected.items():
        for job, source in (("ingest_catalog", "catalog"), ("ingest_events", "events")):
            result = by_job[(job, day)]
            bad = {f"quarantined.{kind}": str(n) for kind, n in landed[source]["bad"].items() if n}
            assert result.rows_in == landed[source]["rows"]
            assert result.rows_written == landed[source]["good"]
            assert result.rows_in == result.rows_written + result.rows_quarantined
            assert result.details == bad, (job, day)


def test_job_runs_table_matches_the_results(spark, pipeline):
    cfg, results = pipeline
    recorded = {
        (r.job, r.run_date, r.rows_in, r.rows_written, r.rows_quarantined)
        for r in spark.table(f"{cfg.database}.job_runs").collect()
    }
    assert recorded == {
        (r.job, r.run_date, r.rows_in, r.rows_written, r.rows_quarantined) for r in results
    }


def test_content_holds_the_latest_good_version_of_every_item(spark, pipeline):
    cfg, _ = pipeline
    latest = {}
    for day in SPEC.landing_dates():
        for line in catalog_path(cfg.paths.landing, day).read_text().splitlines():
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            content_id = record.get("content_id")
            # The generator keeps good ids below c900000 (see contentlake.sample_data).
            good = content_id and int(content_id[1:]) < 900_000
            if good and record["updated_at"] > latest.get(content_id, ("", ""))[1]:
                latest[content_id] = (record["title"], record["updated_at"])
    content_df = spark.table(f"{cfg.database}.content").select(
        "content_id", "title", F.date_format("updated_at", "yyyy-MM-dd'T'HH:mm:ss'Z'")
    )
    expected_df = spark.createDataFrame(
        [(cid, title, ts) for cid, (title, ts) in latest.items()], content_df.schema
    )
    assert_df_equality(content_df, expected_df, ignore_row_order=True, ignore_nullable=True)


def test_every_check_ran_and_none_failed(spark, pipeline):
    cfg, _ = pipeline
    statuses = (
        spark.table(f"{cfg.database}.dq_results")
        .groupBy("run_date")
        .agg(F.count("*").alias("checks"), F.count_if(F.col("status") == "fail").alias("failed"))
    )
    rows = {row.run_date: (row.checks, row.failed) for row in statuses.collect()}
    assert set(rows) == set(SPEC.landing_dates())
    assert all(checks >= 12 and failed == 0 for checks, failed in rows.values())


def test_snapshot_answers_nearest_neighbour_queries_with_the_right_ids(spark, pipeline):
    cfg, _ = pipeline
    snapshot = load_snapshot(cfg.paths.snapshots)
    model = snapshot.manifest["model"]
    # The default index serves the fused vectors: one per embedded item, media or not.
    assert (cfg.index.modality, model["modality"]) == ("fused", "fused")
    table = spark.table(f"{cfg.database}.content_embeddings")
    embeddings = (
        table.filter((F.col("modality") == "fused") & (F.col("model_version") == model["version"]))
        .orderBy("content_id")
        .collect()
    )
    ids = [row.content_id for row in embeddings]
    vectors = np.array([row.embedding for row in embeddings], dtype=np.float32)
    text_ids = sorted(r.content_id for r in table.filter(F.col("modality") == "text").collect())

    assert snapshot.ids == ids == text_ids
    assert snapshot.manifest["vector_count"] == len(ids)
    # Each item's exact top 10 (itself excluded) against what the published index finds.
    exact = np.argsort(-(vectors @ vectors.T), axis=1)[:, 1:11]
    found = [[ids.index(cid) for cid, _ in snapshot.similar_to(cid, 10)] for cid in ids]
    recall = np.mean([len(set(f) & set(e)) / 10 for f, e in zip(found, exact, strict=True)])
    chosen = snapshot.manifest["index"]["choice"]["chosen"]
    figures = {f["name"]: f for f in snapshot.manifest["index"]["choice"]["candidates"]}
    # The index was chosen for meeting the target on its sample of queries; over every item
    # the served index finds what that measurement said it would.
    assert figures[chosen]["recall_at_10"] >= cfg.index.target_recall_at_10
    assert recall == pytest.approx(figures[chosen]["recall_at_10"], abs=0.05)


def test_items_with_bad_media_keep_their_other_modalities_in_the_fused_vectors(spark, pipeline):
    cfg, _ = pipeline
    media = load_expected(cfg.paths.landing)["media"]
    bad = set(media["bad_videos"]) | set(media["bad_posters"])
    version = load_snapshot(cfg.paths.snapshots).manifest["model"]["version"]
    sources = spark.table(f"{cfg.database}.content_fused_sources").filter(
        F.col("model_version") == version
    )
    visual = {
        r.content_id: ("visual" in r.modalities, "visual" in r.imputed) for r in sources.collect()
    }
    text = spark.table(f"{cfg.database}.content_embeddings").filter(F.col("modality") == "text")

    # One bad file of each kind, each item with a good other file: its own visual vector
    # (from the poster or the video that decoded), its text, and a fused vector; every
    # item without media has its visual block filled from its group.
    assert len(bad) == 6 and bad <= set(media["styles"])
    with_media = {r.content_id: r.content_id in media["styles"] for r in text.collect()}
    assert visual == {cid: (has, not has) for cid, has in with_media.items()}


def test_the_published_index_is_the_smallest_candidate_meeting_the_target(pipeline):
    cfg, _ = pipeline
    index = load_snapshot(cfg.paths.snapshots).manifest["index"]
    candidates = index["choice"]["candidates"]
    met = [f for f in candidates if f["met"]]
    chosen = next(f for f in candidates if f["name"] == index["choice"]["chosen"])

    assert {f["name"] for f in candidates} == {c.name for c in DEFAULT_CANDIDATES}
    assert chosen["met"] and chosen["recall_at_10"] >= cfg.index.target_recall_at_10
    assert chosen["bytes"] == min(f["bytes"] for f in met)
    assert (index["factory"], index["search_params"]) == (
        chosen["factory"],
        chosen["search_params"],
    )
    # Every candidate not met says why; one never built was dismissed by its size bound.
    for figure in candidates:
        assert figure["met"] or figure["reason"]
        if figure["bytes"] is None and "more than" in figure["reason"]:
            assert figure["min_bytes"] > chosen["bytes"]


def test_similar_items_share_genres_more_often_than_chance(spark, pipeline):
    cfg, _ = pipeline
    genres = {
        row.content_id: set(row.genres)
        for row in spark.table(f"{cfg.database}.content").select("content_id", "genres").collect()
    }
    snapshot = load_snapshot(cfg.paths.snapshots)
    ids = snapshot.ids
    neighbour_overlap = np.mean(
        [bool(genres[cid] & genres[snapshot.similar_to(cid, 1)[0][0]]) for cid in ids]
    )
    rng = np.random.default_rng(0)
    random_overlap = np.mean([bool(genres[a] & genres[b]) for a, b in rng.choice(ids, (400, 2))])
    assert neighbour_overlap > random_overlap + 0.2


def test_demo_report_prints_tables_checks_and_similar_items(spark, pipeline, capsys):
    cfg, results = pipeline
    spark.catalog.setCurrentDatabase(cfg.database)
    show_results(spark, cfg, results)
    out = capsys.readouterr().out
    assert f"{cfg.database}.events" in out
    assert "invalid_event_type" in out
    assert "content_id_unique" in out
    # Paths are shown relative to the lakehouse root.
    assert f"  snapshots/{load_snapshot(cfg.paths.snapshots).path.name}\n" in out
    assert "Items similar to" in out
    manifest = load_snapshot(cfg.paths.snapshots).manifest
    chosen = manifest["index"]["choice"]["chosen"]
    figures = {f["name"]: f for f in manifest["index"]["choice"]["candidates"]}
    # One line per candidate, the chosen one marked, with its measured recall.
    assert f"  * {chosen:<14} {figures[chosen]['recall_at_10']:>9.4f}" in out
    assert [name for name in figures if f" {name:<14} " not in out] == []
    assert f"ndcg@10 {manifest['evaluation']['ndcg@10']:.4f}" in out
    assert "gate evaluation" in out


@pytest.mark.parametrize(
    "query", sorted(p.name for p in ANALYST_DIR.glob("*.sql")), ids=lambda name: name[:-4]
)
def test_analyst_queries_run_by_table_name(spark, pipeline, query):
    cfg, _ = pipeline
    spark.catalog.setCurrentDatabase(cfg.database)
    (statement,) = sql_statements(ANALYST_DIR / query)
    rows = spark.sql(statement).collect()
    if query == "duplicate_events.sql":
        # the audit finds nothing: ingest quarantines duplicates before they are stored
        assert rows == []
    else:
        assert rows, f"{query} returned nothing on the demo data"


def test_html_report_plots_accounting_quarantine_and_checks(spark, pipeline, tmp_path):
    cfg, _ = pipeline
    spark.catalog.setCurrentDatabase(cfg.database)
    snapshot = load_snapshot(cfg.paths.snapshots)
    report = write_pipeline_report(spark, tmp_path / "report.html", snapshot)
    page = report.read_text()

    # accounting, quarantine, checks, retrieval evaluation, drift
    assert page.count("<img alt=") == 5
    assert page.count("data:image/png;base64,iVBORw0KGgo") == 5  # real PNGs
    assert "<img alt='Drift against the baselines" in page
    assert "neighbour_overlap_at_10" in page
    assert "ndcg@10" in page
    assert "negative_watch_seconds" in page
    assert "content_id_unique" in page
    assert snapshot.path.name in page
    quarantined = spark.table("events_quarantine").count()
    assert f"<td>{quarantined}</td>" in page or str(quarantined) in page


def test_drift_is_measured_for_every_run_date_of_the_demo(spark, pipeline):
    cfg, _ = pipeline
    rows = spark.table(f"{cfg.database}.drift_metrics").collect()
    first, second = SPEC.landing_dates()
    by_date = {day: [r for r in rows if r.run_date == day] for day in (first, second)}
    keys = {day: {(r.subject, r.feature, r.metric) for r in by_date[day]} for day in by_date}
    assert keys[first] == keys[second] and len(keys[second]) == len(by_date[second]) == 29
    # The first date has no baseline; the second compares with it on every subject.
    assert {r.value for r in by_date[first]} == {None}
    measured = {(r.subject, r.metric): r for r in by_date[second] if r.value is not None}
    overlap = measured["index_snapshot", "neighbour_overlap_at_10"]
    assert 0.0 <= overlap.value <= 1.0 and overlap.current_rows > 0
    assert overlap.baseline_ref.startswith(f"{first}_")
    assert overlap.current_ref.startswith(f"{second}_")
    embeddings = measured["content_embeddings", "changed_share"]
    assert 0.0 <= embeddings.value <= 1.0
    assert {("content_daily_features", "psi"), ("events", "js_divergence")} <= set(measured)


def test_the_served_snapshot_passed_every_gate_and_its_evaluation_is_recorded(spark, pipeline):
    cfg, results = pipeline
    snapshot = load_snapshot(cfg.paths.snapshots)
    manifest = snapshot.manifest

    assert [(g["gate"], g["passed"]) for g in manifest["gates"]] == [
        ("finite_nonzero_vectors", True),
        ("self_recall", True),
        ("one_model_version", True),
        ("vector_count", True),
        ("evaluation", True),
    ]
    assert snapshot.items.column("content_id").to_pylist() == snapshot.ids
    # The runs behind the versions it was built from, for lineage.
    embeddings = f"{cfg.database}.content_embeddings"
    built_from = manifest["inputs"][embeddings]
    assert built_from["version"] == manifest["source_tables"][embeddings]["version"]
    # The last write before publishing: the second day's fusion (its new events refit the
    # behaviour vectors, so every fused vector changed).
    assert built_from["job"] == "fuse_vectors"
    assert built_from["run_id"] == demo_run_id(SPEC.landing_dates()[-1])
    recorded = (
        spark.table(f"{cfg.database}.retrieval_eval")
        .where(F.col("snapshot") == snapshot.path.name)
        .orderBy("run_date")
        .collect()[-1]
    )
    evaluation = manifest["evaluation"]
    assert recorded.queries == evaluation["queries"] > 0
    assert recorded.ndcg_at_k == pytest.approx(evaluation["ndcg@10"])
    published = [r for r in results if r.job == "publish_index"][-1]
    assert published.details["ndcg@10"] == f"{evaluation['ndcg@10']:.4f}"


# Jobs that account for the work this run did rather than for the state they keep: on a rerun
# over unchanged inputs they write nothing and say so.
ACCOUNTS_ITS_OWN_WORK = (
    "embed_content", "extract_keyframes", "embed_media", "embed_behaviour", "fuse_vectors",
)  # fmt: skip


@pytest.fixture(scope="module")
def lake_state_now():
    """The lakehouse's state as the last rerun left it, when it is known: the next rerun's
    "before" is the previous one's "after", so the whole lakehouse is hashed once per job
    instead of twice. Emptied while a job runs, so a rerun that raised is never trusted."""
    return {}


def lake_state(spark, cfg, hash_lake, read_snapshots):
    hashes = hash_lake(lambda table: spark.table(f"{cfg.database}.{table}"))
    accounting = {
        (r.job, r.run_date): (r.rows_in, r.rows_written, r.rows_quarantined)
        for r in spark.table(f"{cfg.database}.job_runs").collect()
    }
    return hashes, read_snapshots(cfg.paths.snapshots), accounting


@pytest.mark.parametrize("job", DAILY_JOBS)
def test_a_second_run_of_a_job_changes_no_table(
    spark, pipeline, job, hash_lake, read_snapshots, lake_state_now
):
    cfg, _ = pipeline
    day = SPEC.landing_dates()[-1]
    before = lake_state_now.pop("state", None) or lake_state(spark, cfg, hash_lake, read_snapshots)
    hashes_before, snapshots_before, accounting_before = before
    assert not [table for table, digest in hashes_before.items() if digest.startswith("0:")]

    # The same run as the demo's: its run id too.
    importlib.import_module(f"contentlake.jobs.{job}").run(spark, cfg, day, demo_run_id(day))

    after = lake_state_now["state"] = lake_state(spark, cfg, hash_lake, read_snapshots)
    hashes_after, snapshots_after, accounting_after = after
    changed = [table for table in hashes_before if hashes_after[table] != hashes_before[table]]
    if job in ACCOUNTS_ITS_OWN_WORK:
        # Its accounting is what this run embedded or fitted: nothing, the inputs are
        # unchanged. That row of job_runs is the only change the rerun may make.
        accounting_after = dict(accounting_after)
        rows_in, rows_written, rows_quarantined = accounting_after.pop((job, day))
        assert accounting_after == {
            key: value for key, value in accounting_before.items() if key != (job, day)
        }
        assert (rows_written, rows_quarantined) == (0, 0)
        # What it read: nothing, or (for a fit over the whole window) the same ratings.
        assert rows_in in (0, accounting_before[(job, day)][0])
        assert changed in ([], ["job_runs"])
    else:
        assert changed == []
    assert snapshots_after == snapshots_before
