"""Run the gold suite once with the probe plugin and store the impact map."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

from cligym.catalog import Catalog
from cligym.config import Settings
from cligym.errors import GoldTestsError
from cligym.probe.impact import parse_probe_payload
from cligym.progress import NULL_REPORTER, Reporter
from cligym.records import GoldEnv, ImpactMap
from cligym.runtime.protocol import Runtime
from cligym.shipped import shipped_source
from cligym.testbed.command import render_test_command, render_test_script
from cligym.testbed.layout import RESULTS_DIR, TEST_USER
from cligym.testbed.run import run_tests

PLUGIN_DIR = "/tmp/cligym-probe"
PLUGIN_MODULE = "cligym_probe"
IMPACT_PATH = f"{RESULTS_DIR}/impact.json"


def run_probe(
    gold: GoldEnv,
    settings: Settings,
    runtime: Runtime,
    catalog: Catalog,
    reporter: Reporter = NULL_REPORTER,
    refresh: bool = False,
) -> ImpactMap:
    """The stored impact map of `gold`, probing it first if needed (or if `refresh`)."""
    if not refresh:
        cached = catalog.get_impact(gold.id)
        if cached is not None:
            return cached
    reporter.stage("probe", f"probing {len(gold.stability.stable_passing)} tests of {gold.name}")
    with tempfile.TemporaryDirectory(prefix="cligym-probe-") as tmp:
        plugin_dir = Path(tmp) / Path(PLUGIN_DIR).name
        plugin_dir.mkdir()
        (plugin_dir / f"{PLUGIN_MODULE}.py").write_text(shipped_source("probe_plugin.py"))
        # Tracing slows tests several-fold: no per-test limit here (the run's bound stays).
        no_limit = ("-o", "timeout=0") if gold.recipe.per_test_timeout_sec else ()
        script = render_test_script(
            gold.recipe, gold.layout, with_metadata=False,
            extra_args=("-p", PLUGIN_MODULE, *no_limit),
        )
        run = run_tests(
            runtime,
            gold.image_tag,
            render_test_command(script, gold.layout),
            stage="probe",
            timeout_sec=settings.test_timeout_sec * 3,
            env={
                "HOME": f"/home/{TEST_USER}",
                "PYTHONPATH": PLUGIN_DIR,
                "CLIGYM_PROBE_OUT": IMPACT_PATH,
                "PYTHONHASHSEED": "1",
            },
            workdir=gold.layout.app_dir,
            inputs=[(plugin_dir, "/tmp")],
        )
    result = run.result
    if result.timed_out:
        raise GoldTestsError(f"{gold.name}: the probe run did not finish in time")
    raw = run.text(IMPACT_PATH)
    if raw is None:
        tail = " | ".join(result.output.strip().splitlines()[-3:])
        raise GoldTestsError(f"{gold.name}: the probe wrote no impact data ({tail})")
    impact = parse_probe_payload(
        gold.id, json.loads(raw), gold.stability.stable_passing, gold.layout
    )
    artifacts = settings.paths.gold_artifacts(gold.id)
    artifacts.mkdir(parents=True, exist_ok=True)
    partial = artifacts / "probe.json.partial"
    partial.write_text(raw)
    shutil.move(partial, artifacts / "probe.json")
    catalog.put_impact(impact)
    return impact
