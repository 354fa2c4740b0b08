#!/bin/sh
# The issue's Bar for packaging, end to end (docs/plugin.md, "Installing elsewhere"): in a temporary folder
# outside this checkout, a fresh virtual environment installs the project from its git URL with every
# dependency, then
#   1. `nest-parity compare` judges a packaged scenario against its packaged stored reference, from there;
#   2. the ten-line test file of docs/plugin.md judges the exact engine and a broken copy of it through the
#      plugin, loaded by its entry point alone: 2 passed, 2 failed, the comparator's table printed.
# Not part of `make test`: the dependencies are about 1.2 GB, downloaded on a cold pip cache.
#   PYTHON=python3.11 scripts/check_install.sh [REV]     (REV: a committed revision, default HEAD)
set -eu

repo=$(cd "$(dirname "$0")/.." && pwd)
rev=${1:-HEAD}
python=${PYTHON:-python3.11}
work=$(mktemp -d "${TMPDIR:-/tmp}/nest-parity-install.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work"

seconds() { date +%s; }
fail() { echo "check_install: $*" >&2; exit 1; }

start=$(seconds)
"$python" -m venv venv
venv/bin/python -m pip install --quiet "git+file://$repo@$(git -C "$repo" rev-parse "$rev")" pytest \
    2>&1 | grep -v "is ignored: it is neither a file nor a directory" || true
venv/bin/python -c "import nest_parity.plugin" || fail "the install did not give nest_parity.plugin"
installed=$(seconds)
echo "installed in $((installed - start)) s: $(venv/bin/python -m pip list 2>/dev/null | wc -l) packages"

scenario=$(venv/bin/python -c "from harness import catalogue; assert catalogue.INSTALLED; \
print(catalogue.SCENARIOS / 'mixed_inputs.yaml')")
venv/bin/nest-parity compare "$scenario" --reference stored > compare.txt || fail "compare: $(cat compare.txt)"
grep -q "profile exact: PASS" compare.txt || fail "compare did not pass: $(cat compare.txt)"

mkdir port && cd port
sed -n '/^```python$/,/^```$/p' "$repo/docs/plugin.md" | sed '1d;/^```$/,$d' > test_bar.py
started=$(seconds)
venv=../venv
$venv/bin/python -m pytest -p no:cacheprovider test_bar.py > pytest.txt 2>&1 && fail "the broken copy passed"
grep -q "2 failed, 2 passed" pytest.txt || fail "expected 2 failed, 2 passed: $(tail -5 pytest.txt)"
grep -q "run_variant('nmda-unweighted') (candidate), profile exact: FAIL" pytest.txt || fail "no comparator table"
grep -q "(installed)" pytest.txt || fail "the plugin did not use the installed catalogue"
echo "ten-line test: 2 passed, 2 failed with the comparator's table, in $(($(seconds) - started)) s"
echo "check_install: OK ($(($(seconds) - start)) s in all)"
