#!/usr/bin/env bash
# The JAX engine on a lent GPU machine, in one call: what XLA does to float64 there, parity with the exact
# engine and live NEST, and bench_jax.py unchanged (NEST on that machine's CPU beside it).
#
# The machine has JAX with CUDA but no NEST and no network: NEST travels as a wheel in .whl/ (ignored by git),
# fetched here for that machine's Python (3.12 on the lent H200) with
#   python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
#     --platform manylinux2014_x86_64 -d .whl nest-simulator==3.10.0
# Each stage has its own time limit so that one slow stage cannot cost the others; everything lands in $OUT
# (log, probe table, benchmark tables and plot). Results of the last run: reports/bench/gpu/.
set -u
OUT=${OUT:-/tmp/gpu_check}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 PYNEST_QUIET=1
exec > >(tee "$OUT/log") 2>&1

stage() { echo; echo "=== $1 ($(date +%T))"; }

stage "machine"
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm --format=csv
python3 -c "import jax, numpy; print('jax', jax.__version__, jax.devices(), 'numpy', numpy.__version__)"

stage "NEST from .whl"
if ls .whl/*.whl >/dev/null 2>&1; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
    && export PYTHONPATH=/tmp/site
fi
python3 -c "import nest; print('NEST', nest.__version__)" || echo "NEST missing: the NEST columns and the fuzz stage fail"

stage "XLA float64 on this GPU"
timeout 35 python3 bench/xla_probe.py | tee "$OUT/probe_default.md"

stage "benchmark, 10 ports"
timeout -k 5 "${BENCH_S:-140}" python3 bench/bench_jax.py --sizes 1000 10000 100000 --ports 10 --repeat 1 \
  --exact-max-n 0 && cp reports/bench/bench_jax.md "$OUT/bench_gpu_10ports.md" \
  && cp reports/bench/bench_jax.png "$OUT/bench_gpu_10ports.png"

stage "parity with the exact engine (the CPU-only sharding, custom-call and cache tests left out)"
timeout -k 5 "${TESTS_S:-140}" python3 -m pytest -q -p no:cacheprovider tests/test_jax_engine.py \
  tests/test_jax_libm.py -k "not sharded and not partition and not recording_index and not custom_call and not persistent"

stage "benchmark, 100 ports"
timeout -k 5 "${BENCH100_S:-70}" python3 bench/bench_jax.py --sizes 100 1000 --ports 100 --repeat 1 \
  --exact-max-n 0 && cp reports/bench/bench_jax.md "$OUT/bench_gpu_100ports.md"

stage "fuzzing against live NEST"
timeout -k 5 "${FUZZ_S:-120}" python3 -m harness fuzz --candidate python-jax --profile ci --examples 8 \
  --regressions-dir "$OUT/regressions"
stage "done"
