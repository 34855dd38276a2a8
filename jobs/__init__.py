"""Spark jobs: each is ``run(spark, cfg, run_date, run_id)`` plus a small ``main()``."""

# Applied once per lakehouse before any daily job (idempotent): the DAG's first task.
SETUP_JOB = "create_tables"
# The daily pipeline, in dependency order (module names under jobs/).
DAILY_JOBS = (
    "ingest_catalog",
    # Posters and video keyframes of the catalogue's media (docs/media.md).
    "extract_keyframes",
    "ingest_events",
    "build_features",
    "embed_content",
    # The other modalities and their fusion (docs/multimodal.md); publish_index indexes
    # the fused vectors by default.
    "embed_media",
    "embed_behaviour",
    "fuse_vectors",
    # One canonical id per work (docs/entities.md): publish_index may serve one per entity.
    "resolve_entities",
    "publish_index",
    # Last: it compares what build_features, embed_content and publish_index produced.
    "measure_drift",
)
# Weekly, on its own schedule (airflow_dags/contentlake_maintenance.py).
WEEKLY_JOBS = ("maintain_tables",)
