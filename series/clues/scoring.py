"""Points of a find and of an accusation, and the achievements a player has earned.

A clue is worth its base points (set by the editors, 100 by default) to its first finder and
decays with the number of earlier finders, like CTFd's dynamic challenges:

    value(n) = max(minimum, base − (base − minimum) × (n / DECAY)²)   n = earlier finders
    minimum  = MINIMUM_SHARE × base

The curve is flat at first (the first few dozen finders lose little) and reaches the minimum
after DECAY finders. The first three finders also get a bonus (FIRST_FINDER_BONUS, a share of
the base). Unlike CTFd, where every solve lowers the value for all earlier solvers too, each
find keeps the points it earned: nobody's score ever goes down because others caught up, and
the points of a find depend only on its rank, which is assigned atomically (one finder per
rank, see services.record_find), so concurrent finds always add up to consistent totals.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

#: Finders after which a clue is worth its minimum.
DECAY = 100
#: The minimum, as a share of the base points.
MINIMUM_SHARE = 0.2
#: Bonus of the first finders, as a share of the base points, by rank.
FIRST_FINDER_BONUS = {1: 0.5, 2: 0.3, 3: 0.1}

#: Points of an accusation, per right answer, and for all three right.
ACCUSATION_POINTS = {"suspect": 300, "motive": 150, "place": 150}
ACCUSATION_ALL_RIGHT_BONUS = 200


def clue_value(base: int, earlier_finders: int) -> int:
    """The decayed value of a clue for a finder with this many earlier finders."""
    minimum = math.ceil(base * MINIMUM_SHARE)
    decayed = base - (base - minimum) * (min(earlier_finders, DECAY) / DECAY) ** 2
    return max(minimum, math.ceil(decayed))


def find_points(base: int, rank: int) -> int:
    """Points earned by the rank-th finder of a clue worth `base` points."""
    bonus = math.ceil(base * FIRST_FINDER_BONUS.get(rank, 0))
    return clue_value(base, rank - 1) + bonus


def accusation_points(choice: dict[str, str], solution: dict[str, str]) -> int:
    """Points of an accusation against the solution."""
    right = [part for part in ACCUSATION_POINTS if choice.get(part) == solution.get(part)]
    total = sum(ACCUSATION_POINTS[part] for part in right)
    return total + (ACCUSATION_ALL_RIGHT_BONUS if len(right) == len(ACCUSATION_POINTS) else 0)


@dataclass(frozen=True)
class Achievement:
    """A distinction shown in the notebook: a code, and what it refers to."""

    code: str
    #: The episode or season number it is about, when it is about one.
    subject: str = ""
