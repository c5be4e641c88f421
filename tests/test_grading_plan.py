"""Planning a grading run (skip / merge / grade): a pure function of the records."""

from nnbook.course.grade.plan import plan


def test_new_submissions_are_graded_in_student_order():
    p = plan({"bob": "h2", "alice": "h1"}, {}, {})
    assert p.grade == [("alice", "h1"), ("bob", "h2")] and p.merge == [] and p.skip == []


def test_a_submission_already_in_the_gradebook_is_skipped():
    p = plan({"alice": "h1"}, {"alice": {"hash": "h1"}}, {"alice": {"hash": "h1"}})
    assert p.skip == ["alice"] and p.grade == [] and p.merge == []


def test_a_graded_but_unmerged_submission_is_merged_not_graded_again():
    result = {"hash": "h1", "student": "alice", "grades": {}}
    p = plan({"alice": "h1"}, {"alice": None}, {"alice": result})
    assert p.merge == [result] and p.grade == [] and p.skip == []


def test_a_resubmission_is_graded_again_whatever_the_old_records_say():
    p = plan({"alice": "new"}, {"alice": {"hash": "old"}}, {"alice": {"hash": "old"}})
    assert p.grade == [("alice", "new")] and p.merge == [] and p.skip == []


def test_a_failed_grading_is_graded_again_even_with_a_done_marker():
    p = plan({"alice": "h1"}, {"alice": {"hash": "h1"}}, {}, failed={"alice"})
    assert p.grade == [("alice", "h1")] and p.skip == []
    shard_failure = {"hash": "h1", "student": "alice", "failed": "OSError"}
    assert plan({"alice": "h1"}, {}, {"alice": shard_failure}).grade == [("alice", "h1")]


def test_regrade_grades_what_is_already_graded():
    p = plan({"alice": "h1", "bob": "h2"}, {"alice": {"hash": "h1"}}, {"bob": {"hash": "h2"}}, regrade=True)
    assert p.grade == [("alice", "h1"), ("bob", "h2")] and p.skip == [] and p.merge == []


def test_failures_sharing_one_cause_stop_the_run_and_are_said_once():
    import pytest

    from nnbook.course.grade.outcome import STOP_AFTER, Outcome, StopGrading, Summary

    summary, lines = Summary(), []
    outcome = Outcome(summary, 10, finish=lambda result: None, log=lines.append)
    with pytest.raises(StopGrading):
        for i in range(STOP_AFTER):
            outcome.add({"student": f"s{i}", "failed": f"OSError: [Errno 28] No space left on device: '/r/s{i}.json'"})
    problems = summary.problems()
    assert len(summary.failed) == STOP_AFTER and sum("No space left" in line for line in problems) == 1
