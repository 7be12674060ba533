"""Opacity N (不透光度, %) and light absorption coefficient k (光吸收系数, m⁻¹).

Beer–Lambert over the meter's effective optical path length L_A (GB 3847-2018 uses the
standard L_A = 0.430 m so that meters of different geometry report comparable k):

    k = −ln(1 − N/100) / L_A        N = 100 · (1 − e^(−k·L_A))

k 1.2 m⁻¹ ↔ N 40.3 %; k 0.7 m⁻¹ ↔ N 26.0 %. N = 100 % (no light at all) has no finite k, so
:func:`k_from_n` refuses it instead of returning infinity into an average.
"""

from __future__ import annotations

import math

#: effective optical path length L_A of GB 3847-2018, metres
EFFECTIVE_PATH_LENGTH_M = 0.430


def k_from_n(n_pct: float, path_length_m: float = EFFECTIVE_PATH_LENGTH_M) -> float:
    """Light absorption coefficient k (m⁻¹) of an opacity reading N (%)."""
    if path_length_m <= 0:
        raise ValueError(f"path length must be positive, not {path_length_m!r}")
    if not 0.0 <= n_pct < 100.0:
        raise ValueError(f"opacity must be in [0, 100) % to have a finite k, not {n_pct!r}")
    return -math.log1p(-n_pct / 100.0) / path_length_m


def n_from_k(k_m1: float, path_length_m: float = EFFECTIVE_PATH_LENGTH_M) -> float:
    """Opacity N (%) of a light absorption coefficient k (m⁻¹)."""
    if path_length_m <= 0:
        raise ValueError(f"path length must be positive, not {path_length_m!r}")
    if k_m1 < 0 or math.isnan(k_m1):
        raise ValueError(f"light absorption coefficient must be ≥ 0, not {k_m1!r}")
    return -100.0 * math.expm1(-k_m1 * path_length_m)
