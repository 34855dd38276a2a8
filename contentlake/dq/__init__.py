"""Data-quality checks, split the way databrickslabs/dqx splits them.

* :mod:`contentlake.dq.rules` parses the checks in ``sql/dq/<table>/<check>.sql`` (no Spark);
* :mod:`contentlake.dq.engine` runs them against a table and returns their results;
* :mod:`contentlake.dq.store` undoes a run's rows when a gate fails.

The results of a job's checks are recorded with the job's own bookkeeping row
(:mod:`contentlake.job_run`), in one commit; ``python -m contentlake.dq`` runs a table's
checks on demand.
"""
