"""Spark jobs: each is ``run(spark, cfg, run_date)`` plus a small ``main()``."""
