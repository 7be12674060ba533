"""Smoke limits for the free-acceleration test (自由加速法), kept as data with their source.

GB 3847-2018 table 1 gives two limit columns for the opacity method: limit a (限值a), and the
stricter limit b (限值b) that a province may adopt for its region. A station picks one set by
name in configuration; a new regional rule is a new row here, never an ``if`` in the procedure.
"""

from __future__ import annotations

from dataclasses import dataclass

from station.emissions.opacity import n_from_k


@dataclass(frozen=True)
class SmokeLimit:
    """One named limit on the light absorption coefficient k."""

    name: str
    #: the highest k (m⁻¹) that still passes (the result passes when k ≤ this)
    k_max_m1: float
    label_zh: str
    label_en: str
    #: where the number comes from, shown with every result
    source: str

    @property
    def n_max_pct(self) -> float:
        """The same limit expressed as opacity N (%), for screens that show N."""
        return n_from_k(self.k_max_m1)


SMOKE_LIMITS: dict[str, SmokeLimit] = {
    limit.name: limit
    for limit in (
        SmokeLimit(
            name="gb3847_2018_a",
            k_max_m1=1.2,
            label_zh="限值a",
            label_en="limit a",
            source="GB 3847-2018 表1 限值a（自由加速法，光吸收系数）",
        ),
        SmokeLimit(
            name="gb3847_2018_b",
            k_max_m1=0.7,
            label_zh="限值b",
            label_en="limit b",
            source="GB 3847-2018 表1 限值b（自由加速法，光吸收系数）",
        ),
    )
}

#: the limit set used when configuration names none
DEFAULT_SMOKE_LIMIT = "gb3847_2018_a"


def smoke_limit(name: str = DEFAULT_SMOKE_LIMIT) -> SmokeLimit:
    """The limit set called ``name``; a typo in configuration fails loudly here."""
    try:
        return SMOKE_LIMITS[name]
    except KeyError:
        known = ", ".join(sorted(SMOKE_LIMITS))
        raise ValueError(f"unknown smoke limit {name!r}; known: {known}") from None
