"""Parameter sweeps (``nest-parity sweep``): a sweep file, its variants, their runs on Dask, the results
dataset and its report. The data flow: ``spec`` (the file) -> ``expand`` (variants with stable ids) ->
``tasks`` (batches run on workers) -> ``store`` (a partitioned Parquet dataset) -> ``report``.
"""
