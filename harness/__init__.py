"""nest-parity: NEST-parity validation harness for iaf_bw_2001_exact."""
__version__ = "0.1.0"
