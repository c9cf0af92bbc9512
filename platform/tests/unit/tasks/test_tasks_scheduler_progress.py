import io
import threading
import time

from latte.tasks.progress import PlainReporter, RichReporter, make_reporter
from latte.tasks.scheduler import run_dag

DEPS = {"a": [], "b": ["a"], "c": [], "d": ["b", "c"]}
ORDER = ["a", "b", "c", "d"]


def test_dependencies_finish_before_dependants():
    finished: list[str] = []
    lock = threading.Lock()

    def job(node):
        with lock:
            assert all(dep in finished for dep in DEPS[node])
        time.sleep(0.01)
        with lock:
            finished.append(node)
        return True

    assert run_dag(ORDER, DEPS, job, jobs=3, keep_going=False) == dict.fromkeys(ORDER, True)


def test_independent_jobs_run_in_parallel():
    barrier = threading.Barrier(2, timeout=5)

    def job(node):
        if node in {"a", "c"}:
            barrier.wait()  # deadlocks (times out) unless a and c run together
        return True

    assert all(run_dag(ORDER, DEPS, job, jobs=2, keep_going=False).values())


def test_failure_stops_or_keeps_going():
    def job(node):
        return node != "a"

    stopped = run_dag(ORDER, DEPS, job, jobs=1, keep_going=False)
    assert stopped == {"a": False, "b": None, "c": None, "d": None}
    kept = run_dag(ORDER, DEPS, job, jobs=1, keep_going=True)
    assert kept == {"a": False, "b": None, "c": True, "d": None}


def test_plain_reporter_lines_and_logs():
    out, err = io.StringIO(), io.StringIO()
    reporter = PlainReporter(out=out, err=err)
    reporter.begin(10)
    reporter.started("//p:a")
    reporter.finished("//p:a", "built", 1.5, ("hello\n", "oops"))
    reporter.warn("careful")
    reporter.end()
    assert out.getvalue() == "[ 1/10] built         //p:a (1.50s)\n  | hello\n  | oops\n"
    assert err.getvalue() == "latte: warning: careful\n"


class FakeTTY(io.StringIO):
    def isatty(self):
        return True


def test_reporter_choice_follows_tty_and_ci():
    assert isinstance(make_reporter(ci=False, stream=io.StringIO()), PlainReporter)
    assert isinstance(make_reporter(ci=True, stream=FakeTTY()), PlainReporter)
    assert isinstance(make_reporter(ci=False, stream=FakeTTY()), RichReporter)


def test_rich_reporter_runs_through_a_run():
    reporter = RichReporter()
    reporter.console.file = io.StringIO()
    reporter.begin(1)
    reporter.started("//p:a")
    reporter.finished("//p:a", "failed", 0.1, ("out\n", ""))
    reporter.warn("w")
    reporter.end()
    text = reporter.console.file.getvalue()
    assert "//p:a" in text
    assert "| out" in text
    assert "warning:" in text
