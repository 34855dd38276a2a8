"""Spark jobs: each is ``run(spark, cfg, run_date)`` plus a small ``main()``."""

# The daily pipeline, in dependency order (module names under jobs/).
DAILY_JOBS = ("ingest_catalog", "ingest_events", "build_features", "embed_content", "publish_index")
