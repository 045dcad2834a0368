# ruff: noqa: RUF001 (the report writes the multiplication sign, as docs/benchmarks.md does)
from bench.run import _targets


def _load(rps):
    return {"requests_per_second": rps, "p50_ms": 1.0, "p99_ms": 2.0, "errors": ""}


def _run(days, p50_ms, *, artists_cached, dashboard_cached):
    baseline = _load(1000)
    rows = {
        "API artists": {
            "p50_ms": p50_ms,
            "cached": _load(artists_cached),
            "304": _load(950),
            "uncached": _load(160),
            "baseline": baseline,
        },
        "dashboard": {"p50_ms": p50_ms, "cached": _load(dashboard_cached), "baseline": baseline},
        "feed": {"p50_ms": 3.0, "cached": _load(600), "baseline": baseline},
    }
    return {"days": days, "artists": 10, "rows": rows}


def _verdicts(lines):
    """{target: verdict} from the table's rows."""
    rows = [[cell.strip() for cell in line.strip("|").split("|")] for line in lines[4:-1]]
    return {target: verdict for target, _, verdict in rows}


def test_targets_judge_p50_on_the_largest_set_and_shares_of_the_baseline_on_each():
    small = _run(31, 4.0, artists_cached=850, dashboard_cached=100)
    year = _run(365, 16.0, artists_cached=790, dashboard_cached=600)

    verdicts = _verdicts(_targets([small, year]))

    assert verdicts["API artists: p50 uncached ≤ 15 ms (365 days, 10 artists)"] == "**FAIL**"
    assert verdicts["API artists: p50 ≤ 1.5× its 31-day figure"] == "**FAIL**"
    assert verdicts["feed: p50 uncached ≤ 15 ms (365 days, 10 artists)"] == "PASS"
    assert verdicts["feed: p50 ≤ 1.5× its 31-day figure"] == "PASS"
    assert verdicts["API artists cached ≥ 0.8× baseline (31 days, 10 artists)"] == "PASS"
    assert verdicts["API artists cached ≥ 0.8× baseline (365 days, 10 artists)"] == "**FAIL**"
    assert verdicts["dashboard cached ≥ 0.5× baseline (31 days, 10 artists)"] == "**FAIL**"
    assert verdicts["API artists 304 ≥ 0.9× baseline (365 days, 10 artists)"] == "PASS"
    assert verdicts["API artists uncached ≥ 0.15× baseline (365 days, 10 artists)"] == "PASS"


def test_a_read_without_etag_fails_its_304_target():
    run = _run(31, 4.0, artists_cached=900, dashboard_cached=900)
    del run["rows"]["API artists"]["304"]

    verdicts = _verdicts(_targets([run]))

    assert verdicts["API artists 304 ≥ 0.9× baseline (31 days, 10 artists)"] == "**FAIL**"
