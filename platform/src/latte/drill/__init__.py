"""``latte drill``: a restore drill on real PostgreSQL and an S3 server, measuring RTO and RPO.

It registers versions, backs them up (twice: the second is incremental), registers one more
(what the backup will lose), destroys the database and the artifact store, restores into
fresh ones, verifies every digest and serves the restored model through ``latte up``.
"""

from __future__ import annotations

from latte.drill.run import DrillConfig, DrillError, DrillReport, run_drill

__all__ = ["DrillConfig", "DrillError", "DrillReport", "run_drill"]
