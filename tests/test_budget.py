"""genlib.budget: the one way every prompt fits text and files into its character budget."""

from __future__ import annotations

from genlib.budget import Candidate, ShownFile, clip_list, fit, fit_files, head_tail


def test_head_tail_keeps_both_ends_and_a_marker() -> None:
    text = "".join(f"line {n}\n" for n in range(1000))
    cut = head_tail(text, 300)
    assert len(cut) <= 300 and cut.startswith("line 0\n") and cut.endswith("line 999\n") and "chars cut" in cut
    one_line = "x" * 5000 + "END"
    assert head_tail(one_line, 200).endswith("END")
    assert head_tail("short", 10) == "short"


def test_clip_list_says_how_many_it_left_out() -> None:
    assert clip_list(["aaaa", "bbbb", "cccc"], 13) == ["aaaa", "bbbb", "… and 1 more"]
    assert clip_list(["a" * 50], 10) == ["aaaaaaaaa…"]
    assert clip_list([], 10) == []


FILES = {"big.py": "b" * 3000, "small.py": "s" * 100, "other.py": "o" * 2000, "gone.bin": None}


def test_fit_files_shows_whole_files_by_rank_and_smaller_ones_fill_the_rest() -> None:
    ranked = [Candidate("small.py"), Candidate("big.py"), Candidate("other.py"), Candidate("gone.bin")]
    shown, omitted = fit_files(ranked, 2500, FILES.get)
    assert [(f.path, f.truncated) for f in shown] == [("small.py", False), ("other.py", False)]
    assert omitted == ["big.py", "gone.bin"]  # too big and not first; unreadable


def test_fit_files_cuts_the_first_file_to_the_room() -> None:
    shown, omitted = fit_files([Candidate("big.py"), Candidate("small.py")], 2500, FILES.get)
    assert [(f.path, f.truncated, f.size) for f in shown] == [("big.py", True, 3000)]
    assert len(shown[0].content) < 2500 and shown[0].content.startswith("bbb") and omitted == ["small.py"]


def test_fit_files_cuts_a_named_file_and_lists_only_the_listed() -> None:
    ranked = [Candidate("small.py"), Candidate("other.py", may_cut=True), Candidate("big.py", listed=False)]
    shown, omitted = fit_files(ranked, 1500, FILES.get)
    assert [(f.path, f.truncated) for f in shown] == [("small.py", False), ("other.py", True)]
    assert omitted == []


def render(shown: list[ShownFile], omitted: list[str]) -> str:
    frame = "".join(f"### {f.path}\n```\n{f.content}\n```\n" for f in shown)
    return "x" * 500 + frame + "not shown: " + ", ".join(omitted)


def test_fit_fills_the_budget_without_passing_it() -> None:
    ranked = [Candidate(p) for p in FILES]
    for budget in (1200, 2000, 3000):  # the first file cut to what the rest leaves
        fitted = fit(render, ranked, FILES.get, budget)
        assert budget - 300 <= len(fitted.text) <= budget, budget
        assert fitted.text == render(fitted.shown, fitted.omitted) and fitted.shown[0].truncated
    fitted = fit(render, ranked, FILES.get, 9000)
    assert [f.path for f in fitted.shown] == ["big.py", "small.py", "other.py"] and len(fitted.text) <= 9000


def test_fit_shows_no_files_when_the_rest_alone_exceeds_the_budget() -> None:
    fitted = fit(render, [Candidate(p) for p in FILES], FILES.get, 300)
    assert fitted.shown == [] and fitted.omitted == list(FILES) and fitted.text.startswith("x" * 500)
