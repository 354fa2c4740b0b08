"""The test suite's own rules (docs/testing.md): markers that stay true, targets that select by them."""
import os
import re

import pytest
from conftest import REPO, SCENARIO_DIR, TEST_JAX_SHARDS

from harness.backends import nest as nest_backend
from harness.jax_engine import sharding
from harness.scenario.schema import load_scenario


def test_a_test_without_the_nest_marker_cannot_reach_nest():
    with pytest.raises(pytest.fail.Exception, match="runs NEST but is not marked `nest`"):
        nest_backend.run_nest(load_scenario(SCENARIO_DIR / "rest_no_input.yaml"))


@pytest.mark.nest
def test_a_test_with_the_nest_marker_reaches_nest():
    assert nest_backend.run_nest(load_scenario(SCENARIO_DIR / "rest_no_input.yaml")).steps.size > 0


def test_the_jax_engine_sees_the_same_host_devices_on_every_machine():
    expected = int(os.environ.get("NEST_PARITY_JAX_SHARDS", TEST_JAX_SHARDS))
    assert sharding.host_device_count() == expected  # not os.cpu_count()-based inside the suite


def test_make_check_leaves_out_browser_and_slow_tests_and_make_test_runs_everything():
    makefile = (REPO / "Makefile").read_text()
    check = re.search(r"^check:.*\n((?:\t.*\n)+)", makefile, re.M).group(1)
    test = re.search(r"^test:.*\n((?:\t.*\n)+)", makefile, re.M).group(1)
    assert '-m "not browser and not slow"' in check.split("pytest", 1)[1]
    assert not re.search(r" -(m|k) ", test.split("pytest", 1)[1])  # no selection: the whole suite
