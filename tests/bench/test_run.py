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


def test_each_load_is_paired_with_the_baseline_run_right_after_it(monkeypatch):
    from bench import run

    def load(rps):
        return run.Load(requests_per_second=rps, p50_ms=1000 / rps, p99_ms=2000 / rps, errors="")

    # The machine slows down and speeds up between rounds; each app run is followed by a baseline.
    app_runs = iter([load(800), load(900), load(400), load(450), load(1200), load(1350)])
    baseline_runs = iter(load(rps) for rps in [1000, 1000, 500, 500, 1500, 1500])
    calls = []

    def app(kind):
        def measure():
            calls.append(kind)
            return next(app_runs)

        return measure

    def baseline(wrk, url):
        calls.append(("baseline", url))
        return next(baseline_runs)

    monkeypatch.setattr(run, "ROUNDS", 3)
    monkeypatch.setattr(run, "_wrk", baseline)

    measured = run._alternate("wrk", "http://b/0/", {"cached": app("cached"), "304": app("304")})

    baseline_run = ("baseline", "http://b/0/")
    assert calls == ["cached", baseline_run, "304", baseline_run] * 3
    # The median of the rounds' ratios, each to the baseline run right after.
    assert measured["cached"]["ratio"] == 0.8
    assert measured["304"]["ratio"] == 0.9
    assert measured["cached"]["requests_per_second"] == 800
    assert measured["cached"]["rounds"] == [[800, 1000], [400, 500], [1200, 1500]]
    assert measured["baseline"]["requests_per_second"] == 1000


def test_targets_judge_the_median_of_the_rounds_ratios_when_there_is_one():
    run = _run(31, 4.0, artists_cached=700, dashboard_cached=900)
    # 700 / 1000 req/s in the medians, but 0.85 of the baseline right after in the median round.
    run["rows"]["API artists"]["cached"]["ratio"] = 0.85

    verdicts = _verdicts(_targets([run]))

    assert verdicts["API artists cached ≥ 0.8× baseline (31 days, 10 artists)"] == "PASS"
