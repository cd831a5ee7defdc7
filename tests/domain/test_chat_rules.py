"""The rules of a live chat question, without storage or models: the schema's defaults, judgements,
the conversation a model continues, and a submission checked against the stored tree."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from assay.domain import chat as rules
from assay.domain.schema import ChatQuestion, parse_schema
from assay.errors import Invalid


def _question(**extra: Any) -> ChatQuestion:
    schema = parse_schema(
        {
            "inputs": [{"name": "topic", "kind": "text"}],
            "questions": [{"name": "c", "kind": "chat", "models": ["a", "b"], **extra}],
        }
    )
    question = schema.chat_question()
    assert question is not None
    return question


def _tree() -> dict[int, rules.Turn]:
    def cands(*ids: int) -> tuple[rules.Candidate, ...]:
        return tuple(
            rules.Candidate(id=i, model="ab"[i % 2], content=f"answer {i}", state="done") for i in ids
        )

    return {
        1: rules.Turn(1, None, "hello", "human", cands(10, 11), {"preferred": 10, "strength": 2}, (2, 3)),
        2: rules.Turn(
            2, 1, "and then?", "human", cands(20, 21), {"preferred": 21, "strength": 1, "rewrite": "mine"}, ()
        ),
        3: rules.Turn(3, 1, "other way", "human", cands(30, 31), None, ()),
    }


def test_the_schema_fills_in_candidates_and_the_judge_and_refuses_what_cannot_work() -> None:
    q = _question()
    assert (q.candidates, q.judge, q.max_turns) == (2, "preference", 8)
    assert _question(candidates=3).judge == "ranking"
    with pytest.raises(Invalid, match="preference compares two candidates"):
        _question(candidates=3, judge="preference")
    with pytest.raises(Invalid, match="one chat question"):
        parse_schema(
            {
                "inputs": [{"name": "t", "kind": "text"}],
                "questions": [
                    {"name": "c1", "kind": "chat", "models": ["a"]},
                    {"name": "c2", "kind": "chat", "models": ["a"]},
                ],
            }
        )
    with pytest.raises(Invalid, match="is not an input"):
        _question(input="nowhere")


def test_the_model_continues_the_judged_path_with_the_rewrite_in_place() -> None:
    q = _question(system="Be brief.", rewrite=True)
    tree = _tree()
    assert rules.history(q, tree, 2) == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "hello"},
        {"role": "assistant", "content": "answer 10"},
        {"role": "user", "content": "and then?"},
        {"role": "assistant", "content": "mine"},
    ]
    with pytest.raises(rules.ChatProblem, match="judge turn 3"):
        rules.history(q, tree, 3)


def test_a_submission_follows_the_tree_and_keeps_the_judgements_it_went_on_with() -> None:
    q = _question(rewrite=True)
    tree = _tree()
    ok = {"turns": [{"turn_id": 1, "preferred": 10, "strength": 2}, {"turn_id": 3, "preferred": "tie"}]}
    assert rules.check_conversation(q, ok, tree)["turns"][1] == {"turn_id": 3, "preferred": "tie"}
    cases = [
        ({"turns": [{"turn_id": 3, "preferred": 30, "strength": 1}]}, "is not the first turn"),
        (
            {"turns": [{"turn_id": 1, "preferred": 11, "strength": 2}, {"turn_id": 3, "preferred": "tie"}]},
            "as it was judged",
        ),
        ({"turns": [{"turn_id": 1, "preferred": 99, "strength": 2}]}, "is not a candidate"),
        ({"turns": [{"turn_id": 1, "preferred": 10, "strength": 9}]}, "strength from 1 to 3"),
        ({"turns": [{"turn_id": 1, "preferred": 10, "strength": 2, "content": "x"}]}, "unknown field"),
        ({"turns": [{"turn_id": 7, "preferred": 10, "strength": 2}]}, "not a turn of this assignment"),
        ({"turns": []}, "give the judged turns"),
        ({"turns": [{"turn_id": 1, "ranking": [[10], [11]]}]}, "not a ranking"),
    ]
    for value, problem in cases:
        with pytest.raises(rules.ChatProblem, match=problem):
            rules.check_conversation(q, value, tree)
    with pytest.raises(rules.ChatProblem, match="annotation screen"):
        rules.check_conversation(q, ok, None)


def test_a_ranking_places_every_candidate_once() -> None:
    q = _question(candidates=3, ties=False)
    turn = rules.Turn(1, None, "x", "human", tuple(rules.Candidate(i, "a", "c", "done") for i in (1, 2, 3)))
    assert rules.check_judgement(q, turn, {"ranking": [3, [1], 2]}) == {"ranking": [[3], [1], [2]]}
    for ranking, problem in (([[1, 2], [3]], "no ties"), ([[1], [1], [3]], "twice"), ([[1], [2]], "missing")):
        with pytest.raises(rules.ChatProblem, match=problem):
            rules.check_judgement(q, turn, {"ranking": ranking})


@given(st.integers(min_value=1, max_value=10**9), st.integers(min_value=1, max_value=10**9))
def test_the_shown_order_is_a_fixed_permutation_per_assignment_and_turn(assignment: int, turn: int) -> None:
    ids = [5, 9, 2, 7]
    shown = rules.shown_order(ids, assignment_id=assignment, turn_id=turn)
    assert sorted(shown) == sorted(ids)
    assert shown == rules.shown_order(list(reversed(ids)), assignment_id=assignment, turn_id=turn)


@given(
    st.one_of(
        st.none(), st.booleans(), st.integers(), st.text(max_size=5), st.lists(st.integers(), max_size=3)
    )
)
def test_any_judgement_value_is_refused_or_normalised_never_crashes(value: Any) -> None:
    q = _question(rewrite=True)
    turn = _tree()[3]
    for body in (
        {"preferred": value, "strength": 1},
        {"preferred": 30, "strength": value},
        {"preferred": 30, "strength": 1, "rewrite": value},
    ):
        try:
            out = rules.check_judgement(q, turn, body)
        except rules.ChatProblem:
            continue
        assert out["preferred"] in (30, 31, "tie")
