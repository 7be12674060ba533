"""N ↔ k conversion (Beer–Lambert over L_A = 0.430 m) and the limit table."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from station.emissions import (
    DEFAULT_SMOKE_LIMIT,
    EFFECTIVE_PATH_LENGTH_M,
    SMOKE_LIMITS,
    FreeAccelerationConfig,
    k_from_n,
    n_from_k,
    smoke_limit,
)

# (k m⁻¹, N %) worked out by hand: N = 100·(1 − e^(−0.43·k))
TABLE = [
    (0.0, 0.0),
    (0.5, 19.35),
    (0.7, 25.99),
    (1.2, 40.31),
    (1.612, 50.00),
    (2.0, 57.68),
    (3.0, 72.47),
    (10.71, 99.00),
]


@pytest.mark.parametrize(("k", "n"), TABLE)
def test_n_from_k_matches_the_table(k: float, n: float) -> None:
    assert n_from_k(k) == pytest.approx(n, abs=0.01)


@pytest.mark.parametrize(("k", "n"), TABLE)
def test_k_from_n_matches_the_table(k: float, n: float) -> None:
    assert k_from_n(n) == pytest.approx(k, abs=0.005)


def test_the_standard_path_length_and_the_domain_example() -> None:
    assert EFFECTIVE_PATH_LENGTH_M == 0.430
    assert round(n_from_k(1.2), 1) == 40.3


def test_a_longer_path_means_a_smaller_k_for_the_same_opacity() -> None:
    assert k_from_n(40.0, path_length_m=0.86) == pytest.approx(k_from_n(40.0) / 2)


@pytest.mark.parametrize("n", [100.0, 100.5, -0.1, math.nan])
def test_opacity_without_a_finite_k_is_refused(n: float) -> None:
    with pytest.raises(ValueError):
        k_from_n(n)


@pytest.mark.parametrize(("call", "value"), [(n_from_k, -0.01), (n_from_k, math.nan)])
def test_negative_k_is_refused(call, value: float) -> None:
    with pytest.raises(ValueError):
        call(value)


def test_path_length_must_be_positive() -> None:
    with pytest.raises(ValueError):
        k_from_n(10.0, path_length_m=0)
    with pytest.raises(ValueError):
        n_from_k(1.0, path_length_m=-1)


@given(st.floats(min_value=0.0, max_value=99.99))
def test_round_trip_from_opacity(n: float) -> None:
    assert n_from_k(k_from_n(n)) == pytest.approx(n, abs=1e-9)


@given(st.floats(min_value=0.0, max_value=40.0))
def test_round_trip_from_k_and_monotonic(k: float) -> None:
    assert k_from_n(n_from_k(k)) == pytest.approx(k, rel=1e-9, abs=1e-9)
    assert n_from_k(k + 0.01) > n_from_k(k)


def test_limits_a_and_b_with_their_source() -> None:
    a, b = smoke_limit("gb3847_2018_a"), smoke_limit("gb3847_2018_b")
    assert (a.k_max_m1, b.k_max_m1) == (1.2, 0.7)
    assert "GB 3847-2018" in a.source and "限值a" in a.source
    assert "限值b" in b.source
    assert a.n_max_pct == pytest.approx(40.3, abs=0.05)
    assert b.n_max_pct == pytest.approx(26.0, abs=0.05)
    assert smoke_limit() is SMOKE_LIMITS[DEFAULT_SMOKE_LIMIT] is a


def test_limit_is_selected_by_configuration_and_typos_fail() -> None:
    assert FreeAccelerationConfig.from_mapping({"limit": "gb3847_2018_b"}).limit == "gb3847_2018_b"
    with pytest.raises(ValueError, match="unknown smoke limit"):
        FreeAccelerationConfig(limit="gb3847_2018_c")
    with pytest.raises(ValueError, match="unknown free-acceleration settings"):
        FreeAccelerationConfig.from_mapping({"limt": "gb3847_2018_a"})
