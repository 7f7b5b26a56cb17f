"""The benchmark harness itself (scripts/lifeboat_drill/bench_lambda.py and bench.py): it must measure what
it says, so it is tested like the rest. Needs the debug binaries (`make test` builds them); the
scale scenarios run small against the emulator, with the debug builds standing in for release.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
from lifeboat_drill import bench  # noqa: E402
from lifeboat_drill.bench_lambda import BenchError, Process, Subject, cold_start  # noqa: E402

DEBUG = ROOT / "target" / "debug"


def hello() -> Subject:
    return Subject("hello-lambda", [str(DEBUG / "hello-lambda")], {}, {"name": "bench"}, kind="floor")


def test_a_cold_start_is_timed_to_the_first_next_and_the_first_answer():
    # GIVEN the floor function WHEN it is cold-started through our Runtime API
    got = cold_start(hello())
    # THEN init, the first invocation and the peak RSS are measured, and it answered
    assert got.error is None
    assert 0 < got.init_ms < 10_000
    assert 0 < got.first_invoke_ms < 10_000
    assert got.peak_rss_kib > 100


def test_a_warm_process_answers_each_event_in_turn():
    p = Process(hello())
    try:
        p.wait_ready()
        assert p.invoke({"name": "a"}).result == {"message": "hello, a"}
        assert p.invoke({}).result == {"message": "hello, world"}
    finally:
        p.stop()


def test_an_init_error_is_reported_not_timed():
    script = ("import os, urllib.request; urllib.request.urlopen(urllib.request.Request("
              "os.environ['AWS_LAMBDA_RUNTIME_API'] + '/2018-06-01/runtime/init/error', "
              "data=b'{\"errorType\": \"Boom\"}', method='POST'))")
    with pytest.raises(BenchError, match="Boom"):
        cold_start(Subject("broken", [sys.executable, "-c", script], {}, {}))


def test_a_function_error_is_named():
    script = ROOT / "bench/python/runtime.py"
    # the boto3 handler without an endpoint or region: its init fails (no region) or its call does
    sub = Subject("py", [sys.executable, str(script)],
                  {"AWS_DEFAULT_REGION": "us-west-2", "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
                   "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "y",
                   "AWS_MAX_ATTEMPTS": "1"}, {})
    got = cold_start(sub)
    assert got.error == "EndpointConnectionError"


def test_symbol_tables_are_seen(tmp_path):
    assert bench.has_symbol_table(DEBUG / "hello-lambda")  # the dev profile keeps symbols
    not_elf = tmp_path / "x"
    not_elf.write_bytes(b"#!/bin/sh\n")
    with pytest.raises(BenchError):
        bench.has_symbol_table(not_elf)


def test_a_dns_flip_costs_one_read_and_one_change_per_zone():
    got = bench.dns(3, 20, 0.02, DEBUG, DEBUG, ROOT / "target")
    assert got["records"] == 60
    assert got["calls"]["route53:ListResourceRecordSets"] == 3
    assert got["calls"]["route53:ChangeResourceRecordSets"] == 3
    assert got["calls_without_polls"] == 6
    # one call per record: a read and a change for each
    assert got["baseline_calls"]["route53:ListResourceRecordSets"] == 60
    assert got["baseline_calls"]["route53:ChangeResourceRecordSets"] == 60


def test_ecs_services_scale_up_together():
    got = bench.ecs(4, 1, 0.02, DEBUG, DEBUG, ROOT / "target")
    assert got["calls_all"]["ecs:UpdateService"] == 4
    assert got["calls_one"]["ecs:UpdateService"] == 1
    assert got["one_service_seconds"] > 60 * 0.02  # it waited for the ramp
    assert got["ratio"] > 0


def test_rewrite_renders_the_last_results_with_the_notes(tmp_path, monkeypatch):
    # GIVEN a last run's results, notes and a README
    monkeypatch.setattr(bench, "ROOT", tmp_path)
    monkeypatch.setattr(bench, "TARGET", tmp_path / "target")
    (tmp_path / "bench").mkdir()
    (tmp_path / "bench/NOTES.md").write_text("## Why\n\nbecause\n")
    (tmp_path / "README.md").write_text("intro\n[results](bench/RESULTS.md)\nrest\n")
    assert bench.main(["--rewrite"]) == 2  # no results yet: refused, nothing written
    assert not (tmp_path / "bench/RESULTS.md").exists()
    (tmp_path / "target/bench").mkdir(parents=True)
    sizes = {"binaries": {f: {"bytes": 9_000_000, "zipped_bytes": 3_500_000, "stripped": True}
                          for f in bench.FUNCTIONS + [bench.FLOOR]}, "max_zipped_bytes": 3_500_000}
    (tmp_path / "target/bench/results.json").write_text(
        bench.json.dumps({"date": "2026-11-23", "machine": "test box", "sizes": sizes}))
    # WHEN the tables are written again
    assert bench.main(["--rewrite"]) == 0
    # THEN the results file shows the figures, the notes follow in it; the README only links it
    results = (tmp_path / "bench/RESULTS.md").read_text()
    assert "| Zipped binary ≤ 8 MB | ≤ 3.50 MB | met |" in results
    assert "2026-11-23 on test box" in results
    assert results.rstrip().endswith("because")
    assert (tmp_path / "README.md").read_text() == "intro\n[results](bench/RESULTS.md)\nrest\n"
    # AND results that lack a figure are refused with a message, not a traceback
    (tmp_path / "target/bench/results.json").write_text('{"date": "x"}')
    assert bench.main(["--rewrite"]) == 2


def test_detection_is_within_30_seconds_at_published_durations() -> None:
    got = bench.detection(24, DEBUG)
    assert got["outages"] == 24
    for case in ("cadence_errors", "cadence_silent"):
        c = got["cases"][case]
        assert len(c["detections"]) == 24
        assert 0 < c["median"] <= c["max"] <= 30, (case, c)
    # the cadence before took up to a minute and more
    assert got["cases"]["before_errors"]["max"] > 50


def test_the_anchors_and_the_share_of_compute_follow_the_documented_sequences() -> None:
    # GIVEN the example's us-west-2 (web 1 -> 6, checkout 1 -> 4, workers 1 -> 6 instances)
    plan = {"traffic": {}, "regions": {"w": {"compute": {
        "ecs_services": [{"standby_count": 1, "active_count": 6},
                         {"standby_count": 1, "active_count": 4}],
        "autoscaling_groups": [{"standby": {"min": 1, "desired": 1},
                                "active": {"min": 4, "desired": 6}}]}}}}
    # THEN full capacity waits for the instances; at 50 % too (1 of 6 is not 3)
    assert bench.compute_seconds(plan, "w", 60, 120) == 120
    plan["traffic"]["shift_at_capacity_percent"] = 50
    assert bench.compute_seconds(plan, "w", 60, 120) == 120
    # AND warm standby at half of each: nothing to wait for
    c = plan["regions"]["w"]["compute"]
    c["ecs_services"][0]["standby_count"], c["ecs_services"][1]["standby_count"] = 3, 2
    c["autoscaling_groups"][0]["standby"] = {"min": 3, "desired": 3}
    assert bench.compute_seconds(plan, "w", 60, 120) == 0
    # AND one service below its share waits for its tasks, linearly (web 2 of 6, needs 3)
    c["ecs_services"][0]["standby_count"] = 2
    assert bench.compute_seconds(plan, "w", 60, 120) == 60 * (3 - 2) / (6 - 2)
    # THEN the anchors: parallel takes the slowest, a sequence the sum
    a = bench.anchors(promotion=70, compute_full=120, compute_share=0, dns=60)
    assert a == {"lifeboat": 130, "arc_parallel": 130, "arc_sequential": 130,
                 "seed_sequential": 250}
