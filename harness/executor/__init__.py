"""Where the work of a command runs: the local process pool (``harness.judge.pool``) or Dask distributed.

``cluster``: a Dask client, on a local cluster of worker processes or on an existing scheduler, and the
stream of task outcomes as they finish (a worker that dies is retried on another, then the task is lost).
"""
