from latte_loadtests.payloads import RequestBody
from latte_loadtests.profiles import SweepPlan
from latte_loadtests.scenarios import InferUser, StepSweepShape, level_at, make_user_class

PLAN = SweepPlan(concurrency=(1, 4, 16), step_seconds=10, warmup_seconds=3)


def test_level_at_walks_warm_up_then_each_step_then_stops():
    assert [level_at(PLAN, t) for t in (0, 2.9, 3, 12.9, 13, 23, 33)] == [16, 16, 1, 1, 4, 16, None]


def test_shape_ticks_follow_the_plan():
    shape = StepSweepShape()
    shape.plan = SweepPlan(concurrency=(2,), step_seconds=100, warmup_seconds=0)
    assert shape.tick() == (2, 2.0)
    shape.start_time -= 200  # as if 200 s had passed
    assert shape.tick() is None


def test_user_class_is_concrete_with_its_own_row_counter():
    body = RequestBody(b"{}", {}, 1)
    one = make_user_class({"b": [body], "a": [body]}, {"a": 3.0})
    two = make_user_class({"a": [body]})
    assert issubclass(one, InferUser)
    assert not one.abstract
    assert one.models == ["a", "b"]
    assert one.weights == [3.0, 1.0]
    one.rows_sent["a"] += 5
    assert two.rows_sent["a"] == 0
