"""The simulation report: one HTML file with its charts (Chart.js embedded, so it opens
offline, from a file or from the manager's screen)."""

from __future__ import annotations

import html
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from station.models import STATION_KIND_LABELS, StationKind

from .compare import Comparison
from .figures import DayFigures
from .profile import DayProfile, Duration

ROOT = Path(__file__).resolve().parents[2]
CHART_JS = ROOT / "node_modules" / "chart.js" / "dist" / "chart.umd.min.js"
POLICY_LABELS = {"priority": "预约优先规则 Priority policy", "fifo": "先到先办 FIFO"}


def _fmt(pair: tuple[float, float] | None) -> str:
    if pair is None or pair[0] is None or math.isnan(pair[0]):
        return "—"
    mean, half = pair
    return f"{mean:.1f}" if math.isnan(half) else f"{mean:.1f} ± {half:.1f}"


def _num(value: float, spec: str) -> str:
    """A number, or a dash where there is none (a ratio needs both policies)."""
    return "—" if math.isnan(value) else format(value, spec)


def _rows(comparison: Comparison) -> str:
    lines = []
    names = [("counter_wait", "候叫等候 Wait for a counter"), ("lane_wait", "候检等候 Wait for a lane"),
             ("waiting", "等候合计 Waiting in all"), ("in_station", "在站时间 Time in station")]
    for group, label in (("booked", "预约 Booked"), ("walk_in", "现场 Walk-in"), ("all", "全部 All")):
        for name, name_label in names:
            cells = []
            for policy in ("priority", "fifo"):
                f = comparison.figures.get(policy, {})
                cells += [_fmt(f.get(f"{group}.{name}.{stat}")) for stat in ("mean", "median", "p90", "max")]
            lines.append(f"<tr><th>{label}</th><th>{name_label}</th>"
                         + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    return "\n".join(lines)


def _minutes(d: Duration) -> str:
    """A service time in words: 「3–5 分（均匀）」, 「均值 5 分，标准差 2（对数正态）」."""
    if d.kind == "fixed":
        return f"{d.a:g} 分 min"
    if d.kind == "uniform":
        return f"{d.a:g}–{d.b:g} 分 min（均匀 uniform）"
    return f"均值 mean {d.a:g} 分 min, 标准差 sd {d.b:g}（对数正态 lognormal）"


def _offset(d: Duration) -> str:
    """When a punctual booking arrives relative to its slot (negative: early)."""
    def one(m: float) -> str:
        return f"提前 {-m:g} 分 {-m:g} min early" if m < 0 else f"晚 {m:g} 分 {m:g} min late"
    if d.kind == "uniform":
        return f"{one(d.a)} — {one(d.b)}（均匀 uniform）"
    return _minutes(d)


def _conditions(profile: DayProfile) -> str:
    """The day's conditions as the manager set them, in words (the JSON follows, folded)."""
    pct = "{:.0%}".format
    windows = "全天 all day" if profile.counters is None else "，".join(
        f"{c.number}号窗口 {c.start:%H:%M}–{c.end:%H:%M}" for c in profile.counters)
    closures = "，".join(
        f"{c.lane}号线{'' if c.station_position is None else f' 第{c.station_position}工位'} "
        f"{c.start:%H:%M}–{c.end:%H:%M} {c.reason}" for c in profile.closures) or "无 none"
    rows = [
        ("当日车辆 Vehicles", f"{profile.vehicles}"),
        ("预约占比 Booked", f"{pct(profile.booked_share)}；爽约 no-shows {pct(profile.no_show_share)}，"
                            f"迟到 late {pct(profile.late_share)}（迟 by {_minutes(profile.late_by)}）"),
        ("预约车到站（相对时段开始）Booked arrival vs slot", _offset(profile.booked_offset)),
        ("各时段到站权重 Arrivals by hour",
         "，".join(f"{h}时 {w:g}" for h, w in sorted(profile.hourly.items()))),
        ("车辆构成 Vehicle mix",
         f"柴油 diesel {pct(profile.diesel_share)}，电动 electric {pct(profile.electric_share)}，"
         f"大型 large {pct(profile.large_share)}，营运 commercial {pct(profile.commercial_share)}，"
         f"绿色通道 priority service {pct(profile.special_needs_share)}，"
         f"有不合格项 failing {pct(profile.fail_share)}"),
        ("值班窗口 Windows staffed", windows),
        ("引车员 Runners · 交钥匙台 Key desks", f"{profile.runners} · {profile.desks}"),
        ("停用 Closures", closures),
        ("交钥匙 Key handover", _minutes(profile.desk_minutes)),
        ("窗口办理 At the window", _minutes(profile.counter_minutes)),
        ("引车 Drive to the lane", _minutes(profile.drive_minutes)),
        ("车主到窗口 Owner comes to the window", _minutes(profile.owner_delay_minutes)),
        ("取件 Pick-up", _minutes(profile.pickup_minutes)),
        *((f"{STATION_KIND_LABELS[StationKind(k)][0]} {STATION_KIND_LABELS[StationKind(k)][1]}",
           _minutes(d) + (f"；{profile.positions(StationKind(k))} 个工位 positions"
                          if profile.positions(StationKind(k)) > 1 else ""))
          for k, d in profile.station_minutes.items()),
    ]
    return "\n".join(f"<tr><th>{html.escape(name)}</th><td class=\"text\">{html.escape(value)}</td></tr>"
                     for name, value in rows)


def render(profile: DayProfile, days: Sequence[DayFigures], comparison: Comparison, *,
           title: str = "检测站一日仿真 Station-day simulation") -> str:
    first = {d.policy: d for d in days if d.seed == min(x.seed for x in days)}
    hours = sorted({h for d in days for h in d.waits_by_hour})

    def mean_by_hour(policy: str) -> list[float | None]:
        out = []
        for h in hours:
            values = [d.waits_by_hour[h] for d in days if d.policy == policy and h in d.waits_by_hour]
            out.append(round(sum(values) / len(values), 1) if values else None)
        return out

    ours = [d for d in days if d.policy == "priority"]
    utilisation: dict[str, float] = {}
    names: dict[str, str] = {}
    for d in ours:
        names.update(d.labels)
        for name, value in d.utilisation.items():
            utilisation[name] = utilisation.get(name, 0.0) + value / len(ours)
    charts = {
        "queue": {p: {"t": [round(m) for m, *_ in d.queue_samples],
                      "counter": [c for _, c, _ in d.queue_samples],
                      "lane": [lane for *_, lane in d.queue_samples]} for p, d in first.items()},
        "hours": {"labels": [f"{h}:00" for h in hours],
                  "priority": mean_by_hour("priority"), "fifo": mean_by_hour("fifo")},
        "utilisation": {"labels": [names.get(k, k) for k in utilisation],
                        "values": [round(v * 100, 1) for v in utilisation.values()]},
    }
    # the headline policy: ours, or the one policy a run used
    lead = "priority" if "priority" in comparison.figures else next(iter(comparison.figures), "priority")
    share = comparison.figures.get(lead, {}).get("throughput_share")
    chart_js = CHART_JS.read_text(encoding="utf-8") if CHART_JS.exists() else ""
    profile_json = html.escape(json.dumps(profile.as_dict(), ensure_ascii=False, indent=1))
    return f"""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>
body{{font-family:"Noto Sans CJK SC","Microsoft YaHei",sans-serif;margin:24px;color:#1d2733;background:#f6f8fb}}
h1{{font-size:1.6rem}} section{{background:#fff;border-radius:10px;padding:16px 20px;margin:16px 0;box-shadow:0 1px 3px #0001}}
table{{border-collapse:collapse;font-size:.9rem}} td,th{{border:1px solid #dde3ea;padding:4px 8px;text-align:right}}
th{{background:#eef2f7;text-align:left}} .kpi{{display:flex;gap:16px;flex-wrap:wrap}}
.kpi div{{background:#eef6ff;border-radius:8px;padding:10px 16px}} .kpi b{{display:block;font-size:1.5rem}}
td.text{{text-align:left}} summary{{cursor:pointer;margin-top:12px;color:#3b5b7d}}
canvas{{max-width:100%}} .grid{{display:grid;grid-template-columns:1fr 1fr;gap:16px}}
</style></head><body>
<h1>{html.escape(title)}</h1>
<p>{profile.day.isoformat()} · {profile.vehicles} 辆 vehicles · {comparison.seeds} 个随机种子 seeds ·
预约占比 booked {profile.booked_share:.0%} · 引车员 runners {profile.runners}</p>
<section class="kpi">
<div>预约车辆等候比 Booked wait, ours/FIFO<b>{_num(comparison.booked_wait_ratio, ".2f")}</b></div>
<div>现场车辆等候比 Walk-in wait, ours/FIFO<b>{_num(comparison.walkin_wait_ratio, ".2f")}</b></div>
<div>检测量/能力上限 Throughput / capacity bound ({POLICY_LABELS[lead]})<b>{_fmt((share[0] * 100, share[1] * 100)) if share else "—"} %</b></div>
<div>现场最长候叫 Longest walk-in wait (min, {POLICY_LABELS[lead]})<b>{_num(comparison.max_walkin_wait_min.get(lead, float("nan")), ".0f")}</b></div>
</section>
<section><h2>等候时间（分钟，均值 ± 95% 置信区间）Waits (minutes, mean ± 95 % CI over seeds)</h2>
<table><tr><th></th><th></th><th colspan="4">{POLICY_LABELS["priority"]}</th><th colspan="4">{POLICY_LABELS["fifo"]}</th></tr>
<tr><th></th><th></th>{"<th>均值 mean</th><th>中位 median</th><th>P90</th><th>最长 max</th>" * 2}</tr>
{_rows(comparison)}</table></section>
<section class="grid">
<div><h2>排队长度 Queue length over the day</h2><canvas id="queue"></canvas></div>
<div><h2>各时段等候 Waits by hour of arrival</h2><canvas id="hours"></canvas></div>
</section>
<section><h2>利用率 Utilisation (%)</h2><canvas id="util" height="90"></canvas></section>
<section id="conditions"><h2>推演条件 Conditions</h2><table>{_conditions(profile)}</table>
<details><summary>日客流画像（JSON，可在推演页面载入再算）Day profile (JSON, to load and run again)</summary>
<pre>{profile_json}</pre></details></section>
<script>{chart_js}</script>
<script>
const data = {json.dumps(charts)};
const q = data.queue.priority || Object.values(data.queue)[0];
window.charts = [];
if (window.Chart) {{
  Chart.defaults.animation = false;
  window.charts.push(new Chart(document.getElementById("queue"), {{type: "line", data: {{labels: q.t,
    datasets: [{{label: "候叫 counter", data: q.counter, borderColor: "#2f6fd6", pointRadius: 0}},
               {{label: "候检 lane", data: q.lane, borderColor: "#e07a1f", pointRadius: 0}}]}},
    options: {{scales: {{x: {{title: {{display: true, text: "开门后分钟 minutes after opening"}}}}}}}}}}));
  window.charts.push(new Chart(document.getElementById("hours"), {{type: "bar", data: {{labels: data.hours.labels,
    datasets: [{{label: "预约优先 priority", data: data.hours.priority, backgroundColor: "#2f6fd6"}},
               {{label: "先到先办 FIFO", data: data.hours.fifo, backgroundColor: "#9aa7b8"}}]}}}}));
  window.charts.push(new Chart(document.getElementById("util"), {{type: "bar", data: {{labels: data.utilisation.labels,
    datasets: [{{label: "%", data: data.utilisation.values, backgroundColor: "#3c9d6b"}}]}},
    options: {{plugins: {{legend: {{display: false}}}}, scales: {{y: {{max: 100}}}}}}}}));
}}
</script></body></html>"""


def write(path: Path, profile: DayProfile, days: Sequence[DayFigures], comparison: Comparison) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(profile, days, comparison), encoding="utf-8")
    return path


def summary_dict(profile: DayProfile, days: Sequence[DayFigures], comparison: Comparison) -> dict[str, Any]:
    return {"profile": profile.as_dict(), "comparison": comparison.as_dict(),
            "days": [d.as_dict() for d in days]}
