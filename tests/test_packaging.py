"""Packaging for use elsewhere: the wheel carries the catalogue (scenarios, NEST and truth references, the default
candidates.yaml) and the pytest plugin's entry point, and a scenario's references are found from the
scenario's own place (its project's reference_traces/, or the catalogue's), never from the current directory.

The wheel is built from a copy of the working tree (a build in the tree would leave build/ and an egg-info
there, whose entry points every later pytest in this checkout would load). The full check, a fresh virtual
environment that installs the project from its git URL with every dependency, downloads about a gigabyte on
a cold cache: it is scripts/check_install.sh, run by hand (docs/plugin.md, "Installing elsewhere").
"""
import json
import os
import shutil
import subprocess
import sys
import tomllib
import zipfile

import pytest
from conftest import REFERENCE_DIR, REPO, SCENARIO_DIR

from harness import catalogue
from harness.cli import main
from harness.errors import UsageError
from harness.scenario.schema import load_scenario
from harness.traces import references
from harness.traces.references import is_reference_folder, record_reference, reference_folder
from harness.traces.traces import Traces

PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())
CATALOGUE_FOLDERS = (catalogue.SCENARIO_FOLDER, catalogue.REFERENCE_FOLDER)


def catalogue_files() -> set[str]:
    """Every file of the catalogue, relative to the repository's root."""
    files = {catalogue.REGISTRY_FILE}
    for folder in CATALOGUE_FOLDERS:
        files |= {p.relative_to(REPO).as_posix() for p in (REPO / folder).rglob("*")
                  if p.is_file() and not p.name.startswith(".")}
    return files


# ------------------------------------------------------------------------------------------- pyproject
def test_every_package_and_every_folder_of_the_catalogue_is_listed():
    setuptools = PYPROJECT["tool"]["setuptools"]
    code = {".".join(p.parent.relative_to(REPO).parts) for top in ("harness", "nest_parity")
            for p in (REPO / top).rglob("__init__.py")}
    importable = {".".join(("nest_parity", "catalogue", *d.relative_to(REPO).parts)) for folder in CATALOGUE_FOLDERS
                  for d in [REPO / folder, *(REPO / folder).rglob("*")]
                  if d.is_dir() and all(part.isidentifier() for part in d.relative_to(REPO).parts)}
    assert set(setuptools["packages"]) == code | {"nest_parity.catalogue"} | importable
    assert setuptools["package-dir"] == {"nest_parity.catalogue": "."}
    assert PYPROJECT["project"]["entry-points"]["pytest11"] == {"nest_parity.plugin": "nest_parity.plugin"}


def test_the_package_data_patterns_take_every_file_of_the_catalogue_and_nothing_else():
    patterns = PYPROJECT["tool"]["setuptools"]["package-data"]["nest_parity.catalogue"]
    taken = {p.relative_to(REPO).as_posix() for pattern in patterns for p in REPO.glob(pattern) if p.is_file()}
    assert taken == catalogue_files()
    assert len([f for f in taken if f.startswith("scenarios/ports/")]) >= 10


# ------------------------------------------------------------------------------------------- where references are
def test_compare_from_another_folder_reads_the_references_of_the_scenarios_project(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["compare", str(SCENARIO_DIR / "ampa_only.yaml"), "--reference", "stored"]) == 0
    out = capsys.readouterr().out
    assert "stored (reference) vs python (candidate), profile exact: PASS" in out
    assert f"note: stored truth reference {REFERENCE_DIR / 'truth' / 'ampa_only.npz'}" in out
    assert not (tmp_path / "reference_traces").exists()


def test_a_copy_outside_any_project_is_judged_against_the_catalogues_reference_by_its_content(tmp_path, monkeypatch,
                                                                                              capsys):
    monkeypatch.chdir(tmp_path)
    text = (SCENARIO_DIR / "rest_no_input.yaml").read_text()
    (tmp_path / "copy.yaml").write_text(text)
    assert main(["compare", "copy.yaml", "--reference", "stored"]) == 0
    (tmp_path / "changed.yaml").write_text(text.replace("duration: 200.0", "duration: 100.0"))
    assert main(["compare", "changed.yaml", "--reference", "stored"]) == 2
    assert f"{REFERENCE_DIR / 'rest_no_input.npz'}: was recorded from a different version" in capsys.readouterr().err


def test_a_projects_own_folder_comes_before_the_catalogues_and_a_named_folder_before_both(tmp_path, monkeypatch,
                                                                                         capsys):
    project = tmp_path / "port"
    (project / "tests" / "scenarios").mkdir(parents=True)
    (project / "reference_traces").mkdir()
    scenario = project / "tests" / "scenarios" / "ampa_only.yaml"
    shutil.copy(SCENARIO_DIR / "ampa_only.yaml", scenario)
    monkeypatch.chdir(tmp_path)  # above the project: its folder is found from the scenario, not from here
    assert main(["compare", str(scenario), "--reference", "stored"]) == 2
    assert "no stored reference port/reference_traces/ampa_only.npz" in capsys.readouterr().err
    assert main(["compare", str(scenario), "--reference", "stored", "--references", str(REFERENCE_DIR)]) == 0

    loaded = load_scenario(scenario)
    outcome = record_reference(loaded, Traces.load(REFERENCE_DIR / "ampa_only"), force=False)
    assert (outcome.status, outcome.path) == ("written", project.relative_to(tmp_path) / "reference_traces" /
                                              "ampa_only.npz")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["port"]
    assert main(["compare", str(scenario), "--reference", "stored"]) == 0
    assert reference_folder(loaded) == project / "reference_traces"


def test_record_writes_only_into_a_projects_folder_or_a_named_one(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "loose.yaml").write_text((SCENARIO_DIR / "rest_no_input.yaml").read_text())
    loose = load_scenario(tmp_path / "loose.yaml")
    stored = Traces.load(REFERENCE_DIR / "rest_no_input")
    with pytest.raises(UsageError, match=r"loose.yaml: no folder above it holds reference_traces/, so its project has "
                                         r"no reference folder to record into; create reference_traces/"):
        record_reference(loose, stored, force=False)
    assert record_reference(loose, stored, force=False, directory=tmp_path / "named").status == "written"
    assert (tmp_path / "named" / "rest_no_input.npz").is_file() and not (tmp_path / "reference_traces").exists()


def test_the_installed_packages_references_are_read_never_written(tmp_path, monkeypatch):
    site = tmp_path / "site-packages" / "nest_parity" / "catalogue"
    (site / "scenarios").mkdir(parents=True)
    (site / "reference_traces").mkdir()
    shutil.copy(SCENARIO_DIR / "rest_no_input.yaml", site / "scenarios")
    for suffix in (".npz", ".json"):
        shutil.copy(REFERENCE_DIR / f"rest_no_input{suffix}", site / "reference_traces")
    for name, value in (("ROOT", site), ("INSTALLED", True), ("REFERENCES", site / "reference_traces")):
        monkeypatch.setattr(catalogue, name, value)
    monkeypatch.setattr(references, "REPO_REFERENCE_DIR", site / "reference_traces")
    scenario = load_scenario(site / "scenarios" / "rest_no_input.yaml")
    assert references.load_reference(scenario).equals_exactly(Traces.load(REFERENCE_DIR / "rest_no_input"))
    with pytest.raises(UsageError, match="is a scenario of the installed package, whose references .* are never"):
        record_reference(scenario, Traces.load(REFERENCE_DIR / "rest_no_input"), force=True)
    monkeypatch.chdir(tmp_path)
    assert is_reference_folder(site / "reference_traces" / "truth") and not is_reference_folder(tmp_path)


def test_the_catalogues_folder_is_a_reference_folder_from_anywhere(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert references.REPO_REFERENCE_DIR == catalogue.REFERENCES == REFERENCE_DIR
    assert is_reference_folder(REFERENCE_DIR) and is_reference_folder(REFERENCE_DIR / "truth")
    assert is_reference_folder(tmp_path / "reference_traces")  # the current directory's is still protected
    assert not catalogue.INSTALLED and catalogue.SCENARIOS == SCENARIO_DIR


# ------------------------------------------------------------------------------------------- the wheel
def _tree_copy(destination):
    """The files git would commit (tracked, and untracked ones that are not ignored), copied."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=REPO,
                            capture_output=True, check=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        source = REPO / name
        if source.is_file():
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination / name)
    return destination


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    source = _tree_copy(tmp_path_factory.mktemp("source"))
    out = tmp_path_factory.mktemp("wheel")
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out), str(source)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "BuildBackendWarning" not in proc.stderr  # every folder of the catalogue is a listed package
    [built] = out.glob("nest_parity-*.whl")
    return built


@pytest.mark.slow
def test_the_wheel_holds_the_catalogue_the_references_the_registry_and_the_entry_points(wheel):
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        prefix = "nest_parity/catalogue/"
        assert {n[len(prefix):] for n in names if n.startswith(prefix)} == catalogue_files()
        truth = "reference_traces/truth/stiff_dt1.npz"
        assert z.read(prefix + truth) == (REPO / truth).read_bytes()
        [entry_points] = [n for n in names if n.endswith(".dist-info/entry_points.txt")]
        text = z.read(entry_points).decode()
    assert "[pytest11]\nnest_parity.plugin = nest_parity.plugin" in text and "nest-parity = harness.cli:main" in text
    code = {p.relative_to(REPO).as_posix() for top in ("harness", "nest_parity") for p in (REPO / top).rglob("*.py")}
    assert code <= names and {"harness/catalogue.py", "nest_parity/plugin.py"} <= names
    assert "harness/candidates/brainpy-requirements.txt" in names


@pytest.mark.slow
def test_the_installed_wheel_finds_its_own_catalogue_from_elsewhere_and_loads_the_plugin_by_its_entry_point(
        wheel, tmp_path):
    """The wheel's files, installed into a folder of their own; its dependencies are this environment's (the
    fresh environment with them all is scripts/check_install.sh)."""
    target = tmp_path / "site"
    proc = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--quiet", "--target", str(target),
                           str(wheel)], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    work = tmp_path / "elsewhere"
    work.mkdir()
    env = {**os.environ, "PYTHONPATH": str(target)}
    probe = subprocess.run([sys.executable, "-c", "import harness, json; from harness import catalogue; "
                            "print(json.dumps([harness.__file__, str(catalogue.ROOT), catalogue.INSTALLED]))"],
                           cwd=work, env=env, capture_output=True, text=True, timeout=120)
    assert json.loads(probe.stdout) == [str(target / "harness" / "__init__.py"), str(target / "nest_parity" /
                                                                                      "catalogue"), True]
    packaged = target / "nest_parity" / "catalogue" / "scenarios" / "mixed_inputs.yaml"
    compare = subprocess.run([sys.executable, "-m", "harness", "compare", str(packaged), "--reference", "stored"],
                             cwd=work, env=env, capture_output=True, text=True, timeout=300)
    assert compare.returncode == 0, compare.stdout + compare.stderr
    assert f"stored truth reference {packaged.parents[1] / 'reference_traces' / 'truth' / 'mixed_inputs.npz'}" \
        in compare.stdout

    from test_plugin import BAR

    (work / "test_bar.py").write_text(BAR)
    run = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "test_bar.py"], cwd=work,
                         env=env, capture_output=True, text=True, timeout=300)
    assert "2 failed, 2 passed" in run.stdout, run.stdout + run.stderr
    assert f"catalogue {target / 'nest_parity' / 'catalogue'} (installed)" in run.stdout
    assert "profile exact: FAIL" in run.stdout and "accuracy ladder" in run.stdout
