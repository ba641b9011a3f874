"""The comparison of two runs on the pages (``/compare?a=…&b=…``): what was asked, cost,
each fleet's availability and the differences, side by side."""

from __future__ import annotations

import html
import json
from typing import Any


def _e(value: object) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _fleet_values(doc: dict[str, Any] | None) -> dict[str, float]:
    out: dict[str, float] = {}
    for f in (doc or {}).get("fleets", []):
        value = f.get("availability")
        if isinstance(value, dict):
            value = value.get("mean")
        if isinstance(value, int | float):
            out[f"{f.get('system')}@{f.get('site')}"] = float(value)
    return out


def _money(value: Any) -> str:
    return f"{value:,.0f}" if isinstance(value, int | float) else ""


def _diff(a: Any, b: Any, fmt: str) -> str:
    if isinstance(a, int | float) and isinstance(b, int | float):
        d = b - a
        return f"{d:+,.0f}" if fmt == "money" else f"{d:+.4f}"
    return ""


def compare_html(a: dict[str, Any], b: dict[str, Any]) -> str:
    """Two runs side by side: what was asked, cost, availability per fleet, differences."""
    rows: list[tuple[str, str, str, str]] = []

    def add(label: str, x: Any, y: Any, fmt: str = "") -> None:
        show = {"money": _money, "share": lambda v: "" if v is None else f"{v:.4f}"}.get(
            fmt, lambda v: "" if v is None else json.dumps(v) if isinstance(v, list | dict)
            else str(v))
        rows.append((label, show(x), show(y), _diff(x, y, fmt) if fmt else
                     ("" if x == y else "differs")))

    add("kind", a["kind"], b["kind"])
    add("status", a["status"], b["status"])
    add("scenario", a["scenario"]["name"], b["scenario"]["name"])
    add("scenario files (SHA-256)", a["scenario"]["sha256"][:12], b["scenario"]["sha256"][:12])
    for key in sorted(set(a["parameters"]) | set(b["parameters"])):
        add(f"parameter {key}", a["parameters"].get(key), b["parameters"].get(key))
    add("seed", a["seed"], b["seed"])
    add("sustain version", a["sustain_version"], b["sustain_version"])
    add("seconds", a["seconds"], b["seconds"])
    da, db = a.get("result") or {}, b.get("result") or {}
    for key, label in (("stock_cost", "stock cost"), ("purchase_cost", "purchase cost"),
                       ("budget", "budget")):
        if key in da or key in db:
            add(label, da.get(key), db.get(key), "money")
    fa, fb = _fleet_values(da), _fleet_values(db)
    for fleet in sorted(set(fa) | set(fb)):
        add(f"availability {fleet}", fa.get(fleet), fb.get(fleet), "share")
    body = "".join(f"<tr><th>{_e(r[0])}</th><td>{_e(r[1])}</td><td>{_e(r[2])}</td>"
                   f'<td class="{"changed" if r[3] else ""}">{_e(r[3])}</td></tr>'
                   for r in rows)
    out = (f'<table class="data compare"><thead><tr><th></th>'
           f'<th><a href="/runs/{_e(a["id"])}">run A</a></th>'
           f'<th><a href="/runs/{_e(b["id"])}">run B</a></th><th>B − A</th></tr></thead>'
           f"<tbody>{body}</tbody></table>")
    if "purchases" in da or "purchases" in db:
        out += _purchase_differences(da.get("purchases", []), db.get("purchases", []))
    return out


def _purchase_differences(a: list[dict[str, Any]], b: list[dict[str, Any]]) -> str:
    """The items and sites where two plans buy different quantities."""
    qa = {(p["item"], p["site"]): p["qty"] for p in a}
    qb = {(p["item"], p["site"]): p["qty"] for p in b}
    keys = sorted(k for k in set(qa) | set(qb) if qa.get(k, 0) != qb.get(k, 0))
    if not keys:
        return "<h2>Purchases</h2><p>Both plans buy the same.</p>"
    rows = "".join(f"<tr><td>{_e(i)}</td><td>{_e(s)}</td><td>{qa.get((i, s), 0)}</td>"
                   f"<td>{qb.get((i, s), 0)}</td>"
                   f"<td>{qb.get((i, s), 0) - qa.get((i, s), 0):+d}</td></tr>"
                   for i, s in keys)
    return (f"<h2>Purchases that differ ({len(keys)})</h2>"
            '<table class="data" id="purchase-differences"><thead><tr><th>item</th>'
            "<th>site</th><th>A buys</th><th>B buys</th><th>B − A</th></tr></thead>"
            f"<tbody>{rows}</tbody></table>")
