"""On random organisations, no proposal ever puts anyone at a target they have a conflict with
(other than a marked local liaison), exceeds the liaison share, or places anyone twice; and
everyone left out has a reason."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from handlers.campaigns.proposal import LOCAL, Person, Place, propose, reasons_for, split_targets


@st.composite
def organisations(draw: st.DrawFn) -> tuple[list[Person], list[Place], int, float, dict[int, set[int]]]:
    regions = draw(st.integers(1, 6))
    units = draw(st.integers(1, 8))
    n_people = draw(st.integers(0, 40))
    people = [Person(i, f"p{i}", f"P{i}", draw(st.integers(1, 5)), draw(st.integers(1, regions)),
                     draw(st.booleans()),
                     frozenset(draw(st.sets(st.integers(1, units), max_size=2))),
                     frozenset(draw(st.sets(st.integers(1, units), max_size=1))))
              for i in range(1, n_people + 1)]
    places = [Place(k, draw(st.integers(1, regions)), draw(st.one_of(st.none(), st.integers(1, units))))
              for k in range(1, draw(st.integers(1, 10)) + 1)]
    recent = {t.key: set(draw(st.sets(st.integers(1, max(1, n_people)), max_size=3))) for t in places}
    return people, places, draw(st.integers(1, 6)), draw(st.sampled_from([0.0, 0.1, 0.2, 0.34, 0.5])), recent


@settings(max_examples=300, deadline=None)
@given(organisations())
def test_no_proposal_violates_a_conflict_or_the_liaison_share(org) -> None:  # type: ignore[no-untyped-def]
    people, places, n, share, recent = org
    plan = propose(people, places, n, share, recent=recent)
    by_id = {p.id: p for p in people}
    shares = split_targets(places, n)
    seen: list[int] = []
    for g, grp in enumerate(plan.groups):
        assert sorted(grp.target_keys) == sorted(t.key for t in shares[g])
        for sid in ([grp.lead] if grp.lead is not None else []) + grp.members:
            for t in shares[g]:
                assert reasons_for(by_id[sid], t, recent.get(t.key, ())) == [], (sid, t)
        for sid in grp.liaisons:
            why = {r for t in shares[g] for r in reasons_for(by_id[sid], t, recent.get(t.key, ()))}
            assert why and why <= LOCAL  # local, and nothing else
        assert len(grp.liaisons) <= share * len(grp.everyone()) + 1e-9
        seen += grp.everyone()
    assert len(seen) == len(set(seen))
    left_out = {e.staff_id for e in plan.exclusions if e.group == 0}
    assert set(by_id) == set(seen) | left_out and not (set(seen) & left_out)
    assert all(e.reasons for e in plan.exclusions)


def test_subgroups_mix_offices_and_spread_evenly() -> None:
    people = [Person(i, f"p{i}", f"P{i}", i % 7, 99, i % 7 == 0) for i in range(35)]
    places = [Place(k, k % 4, None) for k in range(16)]
    plan = propose(people, places, 4, 0.2)
    sizes = [len(g.everyone()) for g in plan.groups]
    assert max(sizes) - min(sizes) <= 1 and sum(sizes) == 35
    for g in plan.groups:
        assert len({by.office_id for by in people if by.id in g.everyone()}) >= 5
        assert g.lead is not None and people[g.lead].lead


def test_a_local_person_becomes_a_marked_liaison_only_within_the_share() -> None:
    outsiders = [Person(i, f"p{i}", f"P{i}", i % 3, 1, i == 0) for i in range(8)]
    locals_ = [Person(100 + i, f"l{i}", f"L{i}", 9, 2) for i in range(5)]
    plan = propose(outsiders + locals_, [Place(1, 2, None)], 1, 0.2)
    g = plan.groups[0]
    assert len(g.liaisons) == 2 and set(g.liaisons) <= {100, 101, 102, 103, 104}  # 2 of 10 is 20 %
    out = {e.staff_id: e.reasons for e in plan.exclusions if e.group == 0}
    assert out == {102: ["liaison_share"], 103: ["liaison_share"], 104: ["liaison_share"]}
