"""Proposing subgroups for a campaign: 300 people over 50 targets (target: under 1 s).

The baseline, measured in the same run, is the least any proposal must do: every person's
conflict reasons at every target once. Runs are interleaved; min and median are printed.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time

from handlers.campaigns.proposal import Person, Place, propose, reasons_for


def organisation(people: int, targets: int, seed: int = 16) -> tuple[list[Person], list[Place], dict[int, set[int]]]:
    rnd = random.Random(seed)
    staff = [Person(i, f"p{i}", f"P{i}", i % 40, rnd.randint(1, 20), i % 8 == 0,
                    frozenset({i % 40 + 1}), frozenset(rnd.sample(range(1, 61), 1) if i % 17 == 0 else ()))
             for i in range(people)]
    places = [Place(k, rnd.randint(1, 20), rnd.choice([None, rnd.randint(1, 60)])) for k in range(targets)]
    recent = {t.key: set(rnd.sample(range(people), 5)) for t in places}
    return staff, places, recent


def baseline(staff: list[Person], places: list[Place], recent: dict[int, set[int]]) -> None:
    for p in staff:
        for t in places:
            reasons_for(p, t, recent[t.key])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--people", type=int, default=300)
    ap.add_argument("--targets", type=int, default=50)
    ap.add_argument("--subgroups", type=int, default=10)
    ap.add_argument("--runs", type=int, default=15)
    a = ap.parse_args()
    staff, places, recent = organisation(a.people, a.targets)
    times: dict[str, list[float]] = {"baseline": [], "propose": []}
    for _ in range(a.runs):  # interleaved, so load on the machine hits both alike
        t0 = time.perf_counter()
        baseline(staff, places, recent)
        t1 = time.perf_counter()
        propose(staff, places, a.subgroups, 0.2, recent=recent)
        t2 = time.perf_counter()
        times["baseline"].append(t1 - t0)
        times["propose"].append(t2 - t1)
    for name, ts in times.items():
        print(f"{name:9s} min {min(ts) * 1000:8.2f} ms  median {statistics.median(ts) * 1000:8.2f} ms")
    ratio = statistics.median(times["propose"]) / statistics.median(times["baseline"])
    print(f"propose / baseline (median): {ratio:.1f}x; target under 1 s: "
          f"{'met' if max(times['propose']) < 1 else 'NOT met'}")


if __name__ == "__main__":
    main()
