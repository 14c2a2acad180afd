"""haiend.findings: the schema, the four kinds of query, and every verdict on synthetic and real records."""

import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml

from haiend import findings, records
from haiend.errors import HaiendError
from haiend.records import Record

ROOT = Path(__file__).resolve().parents[1]
FINDINGS_FILE = ROOT / "results" / "findings.yaml"
ZEN3 = Path(__file__).parent / "fixtures" / "results-zen3"

AVX2 = {
    "machine_id": "avx2-box",
    "simd": ["sse2", "avx", "avx2", "fma"],
    "architecture": "x86_64",
    "last_level_cache_bytes": 32 * 2**20,
}
AVX512 = {**AVX2, "machine_id": "avx512-box", "simd": [*AVX2["simd"], "avx512f"]}


def record(kernel, variant, median_s, *, machine=AVX2, size=(16777216,), spread=0.01, seed=0, **changes):
    """The one place synthetic records are built: a dict shaped like a saved file, through Record.from_dict.

    ``median_s`` sets the times (ten, a little skewed upwards); rates follow from a per-call
    work of 1 GB and 1 GFLOP, so a rate ratio is the inverse ratio of the medians.
    """
    rng = np.random.default_rng(seed)
    times = median_s * (1 + np.abs(rng.normal(0, spread, 10)))
    median = float(np.median(times))
    data = {
        "schema_version": 2,
        "kernel": kernel,
        "variant": variant,
        "size": list(size),
        "dtype": "float64",
        "threads": 1,
        "ranks": 1,
        "times": times.tolist(),
        "warmup_times": [median],
        "cold_time": median,
        "batch": 1,
        "clock": "perf_counter",
        "bytes_moved": 1e9,
        "flops": 1e9,
        "roof": {"bandwidth": 1e9, "peak": 1e10, "threads": 1},
        "error": 0.0,
        "tolerance": 1e-14,
        "correct": True,
        "machine_id": machine["machine_id"],
        "machine": machine,
        "details": {"device": "cpu"},
        "timestamp": f"2026-12-02T10:00:{seed:02d}.000000Z",
        "haiend_version": "0.1.0",
    }
    data.update(changes)
    return Record.from_dict(data)


def finding(query, conditions=None, id="f"):
    raw = {
        "schema_version": 1,
        "findings": [
            {
                "id": id,
                "claim": "A claim.",
                "taught_in": ["labs/stream.ipynb"],
                "conditions": conditions or {},
                "query": query,
            }
        ],
    }
    return findings.parse(raw)[0]


NUMBA_VS_C = {
    "ratio": {
        "numerator": {"kernel": "stream.triad", "variant": "numba"},
        "denominator": {"kernel": "stream.triad", "variant": "c"},
        "metric": "gb_per_s",
    },
    "at_least": 0.95,
}
MEMORY = {"records": {"threads": 1, "data_in": "memory"}}


def only(verdicts, machine="avx2-box"):
    (verdict,) = [v for v in verdicts if v.machine_id == machine]
    return verdict


# -- verdicts ---------------------------------------------------------------------------------------


def test_a_ratio_that_meets_its_bound_holds_with_its_evidence():
    recs = [record("stream.triad", "numba", 1.0, seed=1), record("stream.triad", "c", 1.0, seed=2)]
    v = only(findings.evaluate(finding(NUMBA_VS_C, MEMORY), recs))
    assert v.verdict == "holds"
    assert v.value == pytest.approx(1.0, abs=0.03)
    assert v.low >= 0.95 and v.cell().startswith("holds 1.0")
    assert {e["variant"] for e in v.evidence} == {"numba", "c"}
    assert all(e["level"] == "memory" and e["size"] == [16777216] for e in v.evidence)


def test_a_ratio_below_its_bound_is_contradicted_and_stays_in_the_table():
    recs = [record("stream.triad", "numba", 1.4, seed=1), record("stream.triad", "c", 1.0, seed=2)]
    f = finding(NUMBA_VS_C, MEMORY)
    verdicts = findings.evaluate(f, recs)
    v = only(verdicts)
    assert v.verdict == "contradicted"
    assert v.value == pytest.approx(1 / 1.4, rel=0.03)
    assert "below 0.95" in v.reason
    table = findings.findings_table([f], verdicts)
    assert table.rows[0]["avx2-box"] == v.cell() == f"contradicted {v.value:.2f}"
    assert table.evidence[0]["verdict"] == "contradicted" and len(table.evidence[0]["records"]) == 2


def test_a_ratio_whose_interval_straddles_the_bound_is_inconclusive():
    recs = [
        record("stream.triad", "numba", 0.93, spread=0.2, seed=1),
        record("stream.triad", "c", 1.0, seed=2),
    ]
    v = only(findings.evaluate(finding(NUMBA_VS_C, MEMORY), recs))
    assert v.low < 0.95 < v.high
    assert v.verdict == "inconclusive"


def test_missing_records_are_not_measured_and_say_which():
    recs = [record("stream.triad", "numba", 1.0)]
    v = only(findings.evaluate(finding(NUMBA_VS_C, MEMORY), recs))
    assert v.verdict == "not measured" and v.value is None and v.cell() == "not measured"
    assert "stream.triad c" in v.reason


def test_records_that_miss_the_record_conditions_are_not_measured():
    in_cache = [record("stream.triad", v, 1.0, size=(1000,)) for v in ("numba", "c")]
    v = only(findings.evaluate(finding(NUMBA_VS_C, MEMORY), in_cache))
    assert v.verdict == "not measured"
    assert "none with" in v.reason and "data in memory" in v.reason


def test_a_machine_without_the_simd_flag_does_not_apply():
    query = {
        "faster": {"kernel": "matmul.float64", "variant": "numba_blocked", "details": {"vector_bits": 512}},
        "than": {"kernel": "matmul.float64", "variant": "numba_blocked", "details": {"vector_bits": 256}},
    }
    f = finding(query, {"machine": {"simd": ["avx512f"]}})
    recs = [
        record(
            "matmul.float64",
            "numba_blocked",
            1.0,
            size=(64, 64, 64),
            machine=m,
            details={"vector_bits": bits},
        )
        for m in (AVX2, AVX512)
        for bits in (256, 512)
    ]
    recs[3] = record(
        "matmul.float64",
        "numba_blocked",
        0.7,
        size=(64, 64, 64),
        machine=AVX512,
        details={"vector_bits": 512},
    )
    verdicts = findings.evaluate(f, recs)
    assert only(verdicts, "avx2-box").verdict == "does not apply"
    assert "lacks avx512f" in only(verdicts, "avx2-box").reason
    assert only(verdicts, "avx512-box").verdict == "holds"
    assert only(verdicts, "avx512-box").value == pytest.approx(1 / 0.7, rel=0.03)
    absent = findings.evaluate(f, [r for r in recs if r.details.get("vector_bits") == 256])
    assert only(absent, "avx512-box").verdict == "not measured"


def test_faster_claims_noise_and_too_small_a_difference():
    query = {
        "faster": {"kernel": "stream.triad", "variant": "numba"},
        "than": {"kernel": "stream.triad", "variant": "numpy"},
    }
    f = finding(query)
    clear = [record("stream.triad", "numba", 1.0, seed=1), record("stream.triad", "numpy", 2.0, seed=2)]
    assert only(findings.evaluate(f, clear)).verdict == "holds"
    reversed_ = [record("stream.triad", "numba", 2.0, seed=1), record("stream.triad", "numpy", 1.0, seed=2)]
    assert only(findings.evaluate(f, reversed_)).verdict == "contradicted"
    same = [
        record("stream.triad", "numba", 1.0, spread=0.002, seed=1),
        record("stream.triad", "numpy", 1.01, spread=0.002, seed=2),
    ]
    v = only(findings.evaluate(f, same))
    assert v.verdict == "contradicted" and "too small" in v.reason
    noisy = [
        record("stream.triad", "numba", 1.0, spread=0.5, seed=1),
        record("stream.triad", "numpy", 1.05, spread=0.5, seed=2),
    ]
    assert only(findings.evaluate(f, noisy)).verdict == "inconclusive"


def test_ratio_of_ratios_and_fraction_of_roof():
    ratio = lambda kernel: {  # noqa: E731
        "numerator": {"kernel": kernel, "variant": "numba"},
        "denominator": {"kernel": kernel, "variant": "numba_strict"},
        "metric": "gflop_per_s",
    }
    f = finding(
        {"ratio_of_ratios": {"top": ratio("nbody.float32"), "bottom": ratio("nbody.float64")}, "at_least": 1}
    )
    recs = [
        record("nbody.float32", "numba", 1.0, size=(256,)),
        record("nbody.float32", "numba_strict", 8.0, size=(256,)),
        record("nbody.float64", "numba", 1.0, size=(256,)),
        record("nbody.float64", "numba_strict", 4.0, size=(256,)),
    ]
    v = only(findings.evaluate(f, recs))
    assert v.verdict == "holds" and v.value == pytest.approx(2.0, rel=0.05)
    roof = finding({"fraction_of_roof": {"kernel": "stencil2d", "variant": "numba_blocked"}, "at_least": 1.0})
    above = record("stencil2d", "numba_blocked", 0.8, size=(500, 500, 4), fraction_of_roof=1.25)
    v = only(findings.evaluate(roof, [above]))
    assert v.verdict == "holds" and v.value == pytest.approx(1.25, rel=0.02)


def test_several_runs_are_pooled_at_the_largest_common_size():
    recs = [
        record("stream.triad", "numba", 1.0, seed=1),
        record("stream.triad", "numba", 1.0, seed=2),
        record("stream.triad", "c", 1.0, seed=3),
        record("stream.triad", "c", 9.0, seed=4, size=(2**25,)),  # no numba at this size
        record("stream.triad", "numba", 9.0, seed=5, size=(1000,)),
        record("stream.triad", "c", 1.0, seed=6, size=(1000,)),
    ]
    v = only(findings.evaluate(finding(NUMBA_VS_C), recs))
    assert sorted(e["variant"] for e in v.evidence) == ["c", "numba", "numba"]
    assert all(e["size"] == [16777216] for e in v.evidence)
    assert v.verdict == "holds"


def test_data_level_prefers_the_recorded_level():
    assert findings.data_level(record("stream.triad", "c", 1.0, size=(1000,))) == "cache"
    assert findings.data_level(record("stream.triad", "c", 1.0)) == "memory"
    recorded = record(
        "stream.triad", "c", 1.0, roof={"bandwidth": 1e9, "peak": 1e10, "threads": 1, "level": "L2"}
    )
    assert findings.data_level(recorded) == "L2"
    unknown = record("stream.triad", "c", 1.0, machine={"machine_id": "bare"})
    assert findings.data_level(unknown) is None


def test_evaluation_is_deterministic():
    recs = [
        record("stream.triad", "numba", 1.0, seed=1, spread=0.1),
        record("stream.triad", "c", 1.0, seed=2),
    ]
    first, again = (only(findings.evaluate(finding(NUMBA_VS_C), recs)) for _ in range(2))
    assert (first.low, first.high) == (again.low, again.high)


# -- the file and its schema ------------------------------------------------------------------------


def write(tmp_path, data, name="findings.yaml"):
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data))
    return path


def good():
    return yaml.safe_load(FINDINGS_FILE.read_text())


@pytest.mark.parametrize(
    "change, expected",
    [
        (lambda d: d["findings"][1].pop("query"), "finding 'stream-numpy-extra-pass' lacks 'query'"),
        (
            lambda d: d["findings"][0].update(verdict="holds"),
            "finding 'stream-numba-matches-c' has the unknown key",
        ),
        (lambda d: d["findings"][0]["query"].pop("at_least"), "must have exactly one of"),
        (
            lambda d: d["findings"][0]["query"].update(than={"kernel": "stream.triad", "variant": "c"}),
            "must have exactly one of",
        ),
        (lambda d: d["findings"][0]["query"]["ratio"].update(metric="speed"), "must be one of gb_per_s"),
        (
            lambda d: d["findings"][0]["conditions"]["records"].update(threads=0),
            "key 'conditions.records.threads'",
        ),
        (
            lambda d: d["findings"][0]["query"]["ratio"]["numerator"].update(variant="numba_fast"),
            "'numba_fast', which is not a variant of stream.triad",
        ),
        (
            lambda d: d["findings"][0]["query"]["ratio"]["numerator"].update(kernel="stream.triads"),
            "unknown kernel 'stream.triads'",
        ),
        (lambda d: d["findings"][1].update(id="stream-numba-matches-c"), "appears twice"),
        (lambda d: d.update(schema_version=2), "the file, key 'schema_version'"),
    ],
)
def test_a_bad_file_is_one_sentence_naming_the_file_and_the_finding(tmp_path, change, expected):
    data = good()
    change(data)
    path = write(tmp_path, data)
    with pytest.raises(HaiendError) as caught:
        findings.load(path)
    message = str(caught.value)
    assert expected in message
    assert message.startswith(f"findings file {path}") and message.endswith(".")
    assert "\n" not in message


def test_a_file_that_is_not_yaml_says_where(tmp_path):
    with pytest.raises(HaiendError, match=r"is not valid YAML at line \d+\.$"):
        findings.load(write(tmp_path, "findings:\n  - id: [unclosed\n"))


def test_the_findings_file_validates_and_teaches_what_the_labs_teach():
    found = findings.load(FINDINGS_FILE)
    assert len(found) >= 8
    for f in found:
        for path in f.taught_in:
            assert (ROOT / path).is_file(), f"{f.id} names {path}, which does not exist"


def test_every_finding_evaluates_on_the_real_zen3_records(tmp_path):
    shutil.copytree(ZEN3, tmp_path / "results")
    loaded = records.load(tmp_path / "results")
    assert loaded.problems == [] and len(loaded.records) >= 10
    verdicts = findings.evaluate_all(FINDINGS_FILE, loaded)
    found = findings.load(FINDINGS_FILE)
    assert len(verdicts) == len(found)  # one machine
    assert all(v.verdict in findings.VERDICTS and v.reason for v in verdicts)
    by_id = {v.finding: v for v in verdicts}
    # what these records say, checked so that a change in the evaluation shows here
    assert by_id["stream-numba-matches-c"].verdict == "holds"
    assert by_id["stream-copy-numpy-above-roof"].verdict == "contradicted"
    assert by_id["matmul-512-bit-tile-beats-256"].verdict == "does not apply"
    table = findings.findings_table(found, verdicts)
    assert [row["finding"] for row in table.rows] == [f.id for f in found]
    assert len(table.evidence) == len(found)


def test_times_compare_only_at_a_common_size():
    query = {
        "faster": {"kernel": "stream.triad", "variant": "numba"},
        "than": {"kernel": "stream.triad", "variant": "numpy"},
    }
    apart = [record("stream.triad", "numba", 1.0), record("stream.triad", "numpy", 2.0, size=(1000,))]
    v = only(findings.evaluate(finding(query), apart))
    assert v.verdict == "not measured" and "common size" in v.reason
