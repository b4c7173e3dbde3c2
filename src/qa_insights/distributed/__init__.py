"""Scale-out of the monthly job on a dask cluster, for months that outgrow one machine.

Needs the ``dask`` extra (``dask[dataframe]`` and ``distributed``). The same job as
:func:`qa_insights.pipeline.run`, with the same outputs and, on the same data and seed, the same
results:

* :func:`load_partitioned` — load, validate and redact each partition on the workers
  (a dask DataFrame, a directory or glob of Parquet files); counts and quarantine combined;
* :func:`analyse` — embedding, policy areas and theme assignment per partition on the workers
  (the model loaded once per worker), theme discovery on a sample drawn by a seeded hash of the
  record id, root causes from per-partition counts;
* :func:`run_distributed` — the whole job, writing the outputs.

Examples
--------
>>> from distributed import Client                                   # doctest: +SKIP
>>> from qa_insights.distributed import run_distributed             # doctest: +SKIP
>>> result = run_distributed("exports/2026-10/", "out/", client=Client("tcp://sched:8786"))
... # doctest: +SKIP
"""

from ._analyse import analyse
from ._load import PartitionedLoadResult, get_client, load_partitioned
from ._run import run_distributed
from ._workers import build_encoder

__all__ = ["load_partitioned", "analyse", "run_distributed", "PartitionedLoadResult",
           "get_client", "build_encoder"]
