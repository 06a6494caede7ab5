"""coconut.bench's program mode: every benchmark has a standalone script (the crash
this guards against: a benchmark added without its PROGRAM_ARGS broke `--programs`)."""
import subprocess
import sys

from coconut import bench


def test_every_benchmark_has_program_arguments():
    missing = [b.name for b in bench.BENCHMARKS if b.name not in bench.PROGRAM_ARGS]
    assert not missing, missing
    names = [name for name, _, _ in bench.program_scripts()]
    assert names[:len(bench.BENCHMARKS)] == [b.name for b in bench.BENCHMARKS]


def test_a_quick_program_script_runs_and_prints_its_result():
    scripts = {name: source for name, _, source in bench.program_scripts(quick=True)}
    for name in ("generators", "match_classes"):
        out = subprocess.run([sys.executable, "-c", scripts[name]], capture_output=True,
                             text=True, timeout=120)
        assert out.returncode == 0, out.stderr
        assert out.stdout.strip(), name


def test_unknown_program_is_a_clear_error():
    try:
        bench.program_scripts(["no_such_program"])
    except bench.BenchError as exc:
        assert "no_such_program" in str(exc)
    else:
        raise AssertionError("no error")
