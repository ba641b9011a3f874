"""Every command's report as a :class:`~sustain.report.model.Report`, built from its JSON
document (the same one ``--json`` prints), so every file type shows the same numbers.

- :func:`evaluation_report`: ``sustain evaluate`` (with plans side by side, the
  approximation error of ``--method exact`` and the repair shops);
- :func:`over_time_report`: ``sustain evaluate --over-time``;
- :func:`optimization_report`: ``sustain optimize``: the evaluation after buying, the
  purchases and the efficient curve;
- :func:`simulation_report`: ``sustain simulate`` (with ``--compare``);
- :func:`stockpile_report`: ``sustain stockpile``.

Each report names its *main table* (:data:`MAIN_TABLE`): the one a ``.csv`` output holds.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sustain.report.before_after import before_after_section
from sustain.report.drivers import drivers_section
from sustain.report.idle import idle_section
from sustain.report.markdown import (
    fmc_shown,
    over_time_columns,
    over_time_minimum,
    plan_labels,
    stock_value_line,
)
from sustain.report.model import (
    Block,
    Cell,
    Chart,
    Column,
    Kind,
    Marker,
    Report,
    Section,
    Series,
    Table,
    Text,
)
from sustain.report.shops import gap_notes, shop_warnings

if TYPE_CHECKING:
    from sustain.scenario.model import Scenario
    from sustain.scenario.oryx import LossRates

#: The table a ``.csv`` output writes, by command: one row per fleet (evaluate,
#: simulate), the month-by-month plan of every consumable (stockpile).  ``optimize``
#: writes its stock plan instead (:func:`sustain.report.documents.plan_csv`).
MAIN_TABLE = {"evaluate": "fleets", "over-time": "series", "simulate": "fleets",
              "stockpile": "monthly", "oryx": "rates"}

_PERCENT = Kind.PERCENT


def _name(scenario: Scenario) -> str:
    return scenario.name or scenario.source


def _fleet_label(f: dict[str, Any]) -> str:
    return f"{f['system']} @ {f['site']}"


# -- evaluate -----------------------------------------------------------------------


def availability_chart(doc: dict[str, Any], *, levels: tuple[tuple[float, str], ...] = ()
                       ) -> Chart:
    """Availability per fleet as bars (unknown for a fleet of no systems: no bar)."""
    fleets = doc["fleets"]
    return Chart(
        name="availability per fleet",
        title="Availability per fleet",
        x_title="fleet (system @ site)",
        y_title="availability (%)",
        series=(Series("availability", tuple(float(n) for n in range(len(fleets))),
                       tuple(f["availability"] for f in fleets), style="bar"),),
        y_kind=Kind.PERCENT,
        levels=levels,
        x_labels=tuple(_fleet_label(f) for f in fleets),
    )


def fleets_table(doc: dict[str, Any]) -> Table:
    """One row per fleet: systems, availability, expected systems available (and fully
    mission capable, when some item is redundant or inessential)."""
    if fmc_shown(doc["fleets"]):
        return Table(
            "fleets",
            (Column("system"), Column("site"), Column("systems", Kind.INT),
             Column("availability", _PERCENT), Column("FMC", _PERCENT),
             Column("expected available", Kind.NUMBER, 2)),
            tuple((f["system"], f["site"], f["count"], f["availability"],
                   f["availability_fmc"], f["expected_available"]) for f in doc["fleets"]),
        )
    return Table(
        "fleets",
        (Column("system"), Column("site"), Column("systems", Kind.INT),
         Column("availability", _PERCENT), Column("expected available", Kind.NUMBER, 2)),
        tuple((f["system"], f["site"], f["count"], f["availability"],
               f["expected_available"]) for f in doc["fleets"]),
    )


def _fleets_section(doc: dict[str, Any], *, levels: tuple[tuple[float, str], ...] = ()
                    ) -> Section:
    up = sum(f["expected_available"] for f in doc["fleets"])
    total = sum(f["count"] for f in doc["fleets"])
    return Section("Fleets", (
        fleets_table(doc),
        Text(f"Expected available systems: **{up:.1f}** of {total:.0f}."),
        availability_chart(doc, levels=levels),
        Text("Availability is the expected share of systems not waiting for a part "
             "(Sherbrooke's product formula), in steady state with ample repair capacity."),
    ))


def _items_section(doc: dict[str, Any], top: int, currency: str) -> Section:
    operating = {f["site"] for f in doc["fleets"]}
    rows = [r for r in doc["items"] if r["site"] in operating]
    items = sorted(rows, key=lambda r: -r["ebo"])[:top]
    table = Table(
        "backorders",
        (Column("item"), Column("site"), Column("stock", Kind.INT),
         Column("demand/day", Kind.NUMBER, 4), Column("pipeline", Kind.NUMBER, 3),
         Column("EBO", Kind.NUMBER, 3), Column("fill rate", _PERCENT)),
        tuple((r["item"], r["site"], r["stock"], r["demand_per_day"], r["pipeline_mean"],
               r["ebo"], r["fill_rate"]) for r in items),
    )
    return Section(
        f"Items with the most expected backorders at operating sites (top {top})",
        (table, Text(stock_value_line(doc, currency))),
    )


def _approximation_section(comparison: dict[str, Any]) -> Section:
    rows: list[tuple[Cell, ...]] = []
    for name, block in comparison.items():
        for f in block["fleets"]:
            rows.append((name, f["system"], f["site"], f["availability"],
                         100 * f["availability_error"], block["max_abs_ebo_error"]))
    table = Table(
        "approximation",
        (Column("method"), Column("system"), Column("site"), Column("availability", _PERCENT),
         Column("error vs exact", Kind.NUMBER, 3, unit="points"),
         Column("max |ΔEBO|", Kind.NUMBER, 6)),
        tuple(rows),
    )
    return Section("Approximation error", (
        table,
        Text("Error: the method's availability less the exact model's (Graves 1985), in "
             "percentage points."),
    ))


def _plans_section(doc: dict[str, Any], currency: str) -> Section:
    plans = doc["plans"]
    labels = plan_labels(doc)
    avail = Table(
        "plans",
        (Column("system"), Column("site"), Column("systems", Kind.INT),
         Column("held", _PERCENT), *(Column(label, _PERCENT) for label in labels)),
        tuple((f["system"], f["site"], f["count"], f["availability"],
               *(p["fleets"][n]["availability"] for p in plans))
              for n, f in enumerate(doc["fleets"])),
    )
    money = Kind.MONEY
    costs = Table(
        "plan costs",
        (Column("plan"), Column("expected available", Kind.NUMBER, 2),
         Column("stock value", money, unit=currency), Column("to buy", money, unit=currency),
         Column("removed", money, unit=currency)),
        (("held", sum(f["expected_available"] for f in doc["fleets"]), doc["stock_cost"],
          "", ""),
         *((label, sum(f["expected_available"] for f in p["fleets"]), p["stock_cost"],
            p["purchase_cost"], p["removed_cost"]) for label, p in zip(labels, plans,
                                                                       strict=True))),
    )
    return Section("Stock plans", (
        Text("\n".join(f"- {p['message']}" for p in plans)),
        Text("Availability with the stock held and with each plan; costs at the items' "
             "unit costs."),
        avail, costs,
    ))


def shops_section(rows: list[dict[str, Any]]) -> Section:
    """Repair shops with finite channels: load and utilisation (and, simulated, the peak,
    the jobs at the shop and the simulated utilisation), with a line per overloaded shop."""
    simulated = "in_repair_mean" in rows[0]
    cols = [Column("site"), Column("channels", Kind.INT),
            Column("repairs/day", Kind.NUMBER, 3), Column("offered load", Kind.NUMBER, 2),
            Column("utilisation", Kind.NUMBER, 2)]
    if simulated:
        cols += [Column("peak load", Kind.NUMBER, 2), Column("peak day", Kind.NUMBER, 0),
                 Column("in repair", Kind.NUMBER, 2), Column("simulated", Kind.NUMBER, 2)]
    body = []
    for r in rows:
        row: list[Cell] = [r["site"], r["channels"], r["arrivals_per_day"], r["offered_load"],
                           r["utilisation"]]
        if simulated:
            row += [r["peak_offered_load"], r["peak_day"], r["in_repair_mean"],
                    r.get("utilisation_simulated")]
        body.append(tuple(row))
    note = ("Offered load: channels' worth of work (repairs per day × repair days); "
            "utilisation: offered load / channels.")
    note += (" Peak: the highest load of the day-0 and delivered fleets at the tempo of each "
             "day; in repair: simulated time-average jobs at the shop, queued or in service; "
             "simulated: time-average busy channels / channels." if simulated
             else " The availability above assumes unlimited repair capacity.")
    blocks: list[Block] = [Table("repair shops", tuple(cols), tuple(body)), Text(note)]
    warnings = shop_warnings(rows)
    if warnings:
        blocks.append(Text("\n".join(f"- **Overloaded**: {w.removeprefix('warning: ')}"
                                     for w in warnings)))
    return Section("Repair shops", tuple(blocks))


def _evaluation_sections(
    scenario: Scenario, doc: dict[str, Any], *, top: int,
    levels: tuple[tuple[float, str], ...] = (),
) -> list[Section]:
    sections = [_fleets_section(doc, levels=levels)]
    if any(f.get("drivers") for f in doc["fleets"]):
        sections.append(drivers_section(doc["fleets"]))
    sections.append(_items_section(doc, top, scenario.currency))
    if doc.get("approximation"):
        sections.append(_approximation_section(doc["approximation"]))
    if doc.get("plans"):
        sections.append(_plans_section(doc, scenario.currency))
    if doc.get("repair_shops"):
        sections.append(shops_section(doc["repair_shops"]))
    if doc.get("idle_stock"):
        sections.append(idle_section(doc["idle_stock"], scenario.currency,
                                     moved="moves" in doc))
    return sections


def _intro(scenario: Scenario, doc: dict[str, Any]) -> Text:
    return Text(f"Scenario `{scenario.source}`, method **{doc['method']}**, "
                f"{len(scenario.items)} items, {len(scenario.sites)} sites, "
                f"{len(doc['fleets'])} fleets.")


def evaluation_report(scenario: Scenario, doc: dict[str, Any], *, top: int = 15) -> Report:
    """``sustain evaluate``: fleets, the items with the most backorders, the stock held;
    the approximation error (``approximation``), the plans side by side (``plans``) and
    the repair shops (``repair_shops``) when ``doc`` has them."""
    return Report(f"Readiness report: {_name(scenario)}", intro=(_intro(scenario, doc),),
                  sections=tuple(_evaluation_sections(scenario, doc, top=top)))


# -- evaluate --over-time -----------------------------------------------------------


def event_markers(scenario: Scenario, last_day: float) -> tuple[Marker, ...]:
    """The scenario's dated events up to ``last_day``: deliveries and losses on a day
    (markers), tempo changes (spans from their first to their last day)."""
    found: list[Marker] = []
    for d in scenario.deliveries:
        if d.day <= last_day:
            found.append(Marker(float(d.day), f"{d.count} {d.system} delivered to {d.site}"))
    for a in scenario.attrition:
        if a.day is not None and a.count is not None and a.day <= last_day:
            found.append(Marker(float(a.day), f"{a.count} {a.system} lost at {a.site}"))
    for t in scenario.tempo:
        if t.from_day <= last_day:
            where = " ".join(x for x in (t.system, t.site and f"at {t.site}") if x)
            found.append(Marker(float(t.from_day), f"tempo × {t.factor:g}"
                                + (f" ({where})" if where else ""),
                                float(min(t.to_day, last_day))))
    return tuple(sorted(found, key=lambda m: (m.x, m.label)))



def over_time_report(scenario: Scenario, doc: dict[str, Any],
                     picture: str | None = None) -> Report:
    """``sustain evaluate --over-time``: availability per fleet at a few of the days, its
    minimum, and every day's availability as a chart (with the simulator's 95 % band when
    ``doc`` has ``simulated``, from ``--compare``); ``picture``: the path of the plot drawn
    beside the report, relative to it, shown in the Markdown."""
    days = doc["days"]
    shown = over_time_columns(len(days))
    rows = []
    for f in doc["fleets"]:
        low = over_time_minimum(f["series"])
        rows.append((f["system"], f["site"], *(f["series"][n]["availability"] for n in shown),
                     low[1] if low else None, low[0] if low else "",
                     f["series"][-1]["count"]))
    table = Table(
        "over time",
        (Column("system"), Column("site"), *(Column(f"day {days[n]}", _PERCENT) for n in shown),
         Column("min", _PERCENT), Column("on day", Kind.INT),
         Column(f"systems on day {days[-1]}", Kind.NUMBER, 2)),
        tuple(rows),
    )
    chart = Chart(
        name="availability over time",
        title="Availability over time",
        x_title="day",
        y_title="availability (%)",
        series=tuple(
            Series(_fleet_label(f), tuple(float(p["day"]) for p in f["series"]),
                   tuple(p["availability"] for p in f["series"]))
            for f in doc["fleets"]
        ) + _simulated_bands(doc.get("simulated")),
        y_kind=Kind.PERCENT,
        markers=event_markers(scenario, days[-1]),
    )
    every = days[1] - days[0] if len(days) > 1 else 0
    series = Table(
        "series",
        (Column("system"), Column("site"), Column("day", Kind.INT),
         Column("systems present", Kind.NUMBER, 2), Column("availability", _PERCENT),
         Column("expected available", Kind.NUMBER, 2)),
        tuple((f["system"], f["site"], p["day"], p["count"], p["availability"],
               p["expected_available"]) for f in doc["fleets"] for p in f["series"]),
        in_text=False,
    )
    section = Section("Readiness over time", (
        Text(f"Method **{doc['method']}**, days {days[0]} to {days[-1]} every {every} days."),
        table,
        chart,
        series,
        Text("Availability is the expected share of the systems present that are up "
             "(systems under battle-damage repair count as down); systems present are "
             "expected values, so they may be fractional."),
        *((Text(f"![Availability over time per fleet]({picture})"),) if picture else ()),
    ))
    sections = [section]
    if doc.get("simulated"):
        sections.append(_against_simulator(doc["simulated"]))
    return Report(f"Readiness report: {_name(scenario)}",
                  intro=(Text(f"Scenario `{scenario.source}`."),), sections=tuple(sections))


def _simulated_bands(sim: dict[str, Any] | None) -> tuple[Series, ...]:
    """The simulator's mean and 95 % band per fleet (``evaluate --over-time --compare``)."""
    if not sim:
        return ()
    return tuple(
        Series(f"{f['system']} @ {f['site']} (simulated, 95 % band)",
               tuple(float(p["day"]) for p in f["series"]),
               tuple(p["mean"] for p in f["series"]),
               low=tuple(p["lo"] for p in f["series"]),
               high=tuple(p["hi"] for p in f["series"]))
        for f in sim["fleets"]
    )


def _against_simulator(sim: dict[str, Any]) -> Section:
    """Per fleet, the share of days the analytic value lies inside the simulator's band."""
    return Section("Against the simulator", (
        Text(f"The simulator ran {sim['replications']} replications (seed {sim['seed']}) "
             "under the analytic model's assumptions (failures while down, no repair-channel "
             f"limits), after a lead-in of {sim['lead_in_days']} days that fills its "
             "pipelines. docs/method.md explains the gaps that remain."),
        Table("against simulator",
              (Column("system"), Column("site"),
               Column("days inside the 95 % band", _PERCENT)),
              tuple((f["system"], f["site"], f["inside_ci95_share"]) for f in sim["fleets"])),
    ))


def _lowest(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return min(known) if known else None


def over_time_plan_report(scenario: Scenario, doc: dict[str, Any]) -> Report:
    """``sustain optimize --over-time``: each fleet's lowest availability before and after
    buying, the days no purchase can reach in time, the purchases with their need-by and
    order-by days, and availability over time after buying."""
    days = doc["days"]
    mode = "on average over" if doc["average"] else "on every one of"
    money = scenario.currency
    fleets = Table(
        "fleets",
        (Column("system"), Column("site"), Column("target", _PERCENT),
         Column("lowest before", _PERCENT), Column("lowest after", _PERCENT)),
        tuple((f["system"], f["site"], f["target"], _lowest(f["before"]), _lowest(f["after"]))
              for f in doc["fleets"]),
    )
    chart = Chart(
        name="availability over time",
        title="Availability over time after buying",
        x_title="day",
        y_title="availability (%)",
        series=tuple(
            Series(_fleet_label(f), tuple(float(d) for d in days), tuple(f["after"]))
            for f in doc["fleets"]
        ),
        y_kind=Kind.PERCENT,
        markers=event_markers(scenario, days[-1]),
        levels=_target_levels(doc),
    )
    sections = [Section("Fleets", (
        Text(f"Method **{doc['method']}**; targets {mode} the days {days[0]} to {days[-1]} "
             f"({len(days)} days reported)."),
        fleets, chart))]
    if doc["shortfalls"]:
        sections.append(Section("Days no purchase can reach in time", (
            Text("Purchases arrive after their lead times; on these days even unlimited "
                 "stock ordered today would arrive too late to meet the target."),
            Table("shortfalls",
                  (Column("system"), Column("site"), Column("target", _PERCENT),
                   Column("days"), Column("best reachable")),
                  tuple((s["system"], s["site"], s["target"],
                         ", ".join(str(d) for d in s["days"]),
                         ", ".join(f"{100 * b:.1f} %" for b in s["best"]))
                        for s in doc["shortfalls"])),
        )))
    sections.append(Section(f"Purchases ({doc['purchase_cost']:,.0f} {money})", (
        Text("Each line must be on the shelf by its need-by day and ordered by its order-by "
             "day (need-by less the item's procurement lead time)."),
        Table("purchases",
              (Column("item"), Column("site"), Column("qty", Kind.INT),
               Column("need by", Kind.INT, unit="day"), Column("order by", Kind.INT, unit="day"),
               Column("unit cost", Kind.MONEY, unit=money), Column("cost", Kind.MONEY, unit=money)),
              tuple((r["item"], r["site"], r["qty"], r["need_by"], r["order_by"],
                     r["unit_cost"], r["cost"]) for r in doc["purchases"])),
    )))
    return Report(f"Sparing over time: {_name(scenario)}",
                  intro=(Text(f"Scenario `{scenario.source}`."),), sections=tuple(sections))


# -- optimize -----------------------------------------------------------------------


def curve_chart(doc: dict[str, Any], currency: str) -> Chart:
    """The efficient curve: availability overall and per fleet against money spent."""
    points = doc["curve"]
    cost = tuple(float(p["cost"]) for p in points)
    names = list(points[0]["fleets"]) if points else []
    series = [Series(n, cost, tuple(p["fleets"][n] for p in points), style="step")
              for n in names]
    series.append(Series("all systems", cost, tuple(p["availability"] for p in points),
                         style="step"))
    return Chart(
        name="efficient curve",
        title="Efficient curve: availability against money spent",
        x_title=f"purchases ({currency})",
        y_title="availability (%)",
        series=tuple(series),
        y_kind=Kind.PERCENT,
        levels=_target_levels(doc),
    )


def _target_levels(doc: dict[str, Any]) -> tuple[tuple[float, str], ...]:
    targets = sorted({t["target"] for t in doc.get("targets", [])})
    return tuple((t, f"target {100 * t:g} %") for t in targets)


def optimization_report(scenario: Scenario, doc: dict[str, Any], *, top: int = 15) -> Report:
    """``sustain optimize``: the evaluation after buying, the purchases by cost and the
    efficient curve."""
    purchases = sorted(doc["purchases"], key=lambda r: -r["cost"])
    table = Table(
        "purchases",
        (Column("item"), Column("site"), Column("buy", Kind.INT),
         Column("unit cost", Kind.MONEY, unit=scenario.currency),
         Column("cost", Kind.MONEY, unit=scenario.currency)),
        tuple((r["item"], r["site"], r["qty"], r["unit_cost"], r["cost"]) for r in purchases),
    )
    blocks: list[Block] = []
    if doc.get("refinement_stopped"):
        blocks.append(Text(
            "The search for a cheaper plan was stopped by its time budget (refine_seconds): "
            "the plan meets the targets, but a longer search might find a cheaper one."))
    blocks += [table, curve_chart(doc, scenario.currency)]
    levels = _target_levels(doc)
    sections = [before_after_section(doc, scenario.currency),
                *_evaluation_sections(scenario, doc, top=top, levels=levels)]
    sections.append(Section(
        f"Purchases ({doc['purchase_cost']:,.0f} {scenario.currency})", tuple(blocks)))
    if "moves" in doc:
        sections.append(moves_section(doc, scenario.currency))
    return Report(f"Readiness report: {_name(scenario)}", intro=(_intro(scenario, doc),),
                  sections=tuple(sections))


def moves_section(doc: dict[str, Any], currency: str) -> Section:
    """``optimize --redistribute``: the units of stock held to move, the dearest first."""
    money = Kind.MONEY
    table = Table(
        "moves",
        (Column("item"), Column("from"), Column("to"), Column("qty", Kind.INT),
         Column("cost per unit", money, unit=currency), Column("cost", money, unit=currency),
         Column("transit", Kind.NUMBER, 1, unit="days")),
        tuple((r["item"], r["from"], r["to"], r["qty"], r["cost_per_unit"], r["cost"],
               r["days"]) for r in doc["moves"]),
    )
    units = sum(r["qty"] for r in doc["moves"])
    text = (f"Move {units} units of the stock held for {doc['move_cost']:,.0f} {currency}; "
            f"with the purchases the plan costs "
            f"{doc['purchase_cost'] + doc['move_cost']:,.0f} {currency}. The transit time "
            "delays the unit once; steady-state availability does not depend on it."
            if units else "No move of the stock held beats buying.")
    return Section(f"Moves of stock held ({doc['move_cost']:,.0f} {currency})",
                   (Text(text), table))


# -- simulate -----------------------------------------------------------------------


def simulation_report(scenario: Scenario, doc: dict[str, Any], *,
                      cannibalisation: bool = False) -> Report:
    """``sustain simulate``: availability per fleet with its 95 % confidence interval (the
    analytic values with ``--compare``, and why they differ: the terminal's notes, for
    ``scenario`` as simulated and ``cannibalisation`` as the run resolved it), fleet sizes
    of a time-phased run, availability over time with its band, and the repair shops."""
    fleets = doc["fleets"]
    phased = bool(fleets) and "present_mean" in fleets[0]
    analytic = doc.get("analytic")
    cols = [Column("system"), Column("site"), Column("systems", Kind.INT),
            Column("availability", _PERCENT), Column("95 % low", _PERCENT),
            Column("95 % high", _PERCENT)]
    fmc = fmc_shown(fleets)
    if fmc:
        cols.append(Column("FMC", _PERCENT))
    if phased:
        cols += [Column("added", Kind.INT), Column("lost", Kind.NUMBER, 1),
                 Column("present", Kind.NUMBER, 1), Column("up", Kind.NUMBER, 1)]
    if analytic is not None:
        cols += [Column("VARI-METRIC", _PERCENT), Column("METRIC", _PERCENT)]
    rows = []
    for n, f in enumerate(fleets):
        ci = f["availability_ci95"] or (None, None)
        row: list[Cell] = [f["system"], f["site"], f["count"], f["availability"], *ci]
        if fmc:
            row.append(f.get("availability_fmc"))
        if phased:
            row += [f["delivered"], f["lost_mean"], f["present_mean"], f["up_mean"]]
        if analytic is not None:
            row += [analytic[m]["fleets"][n]["availability"] for m in ("vari-metric", "metric")]
        rows.append(tuple(row))
    blocks: list[Block] = [Table("fleets", tuple(cols), tuple(rows))]
    if phased:
        blocks.append(Text("added: systems delivered; lost: mean systems lost by the last "
                           "day; present, up: mean systems present and up (time averages "
                           "after the warm-up)."))
    notes = gap_notes(doc, scenario, cannibalisation=cannibalisation)
    if notes:
        blocks.append(Text("\n".join(f"- {n}" for n in notes)))
    warmup = doc["warmup_days"]
    blocks.append(Chart(
        name="availability over time",
        title="Simulated availability (mean and 95 % confidence band)",
        x_title="day",
        y_title="share of systems up (%)",
        series=tuple(
            Series(_fleet_label(f), tuple(float(p["day"]) for p in f["series"]),
                   tuple(p["mean"] for p in f["series"]),
                   low=tuple(p["lo"] for p in f["series"]),
                   high=tuple(p["hi"] for p in f["series"]))
            for f in fleets if f["series"]
        ),
        y_kind=Kind.PERCENT,
        markers=((Marker(0.0, "warm-up", float(warmup)),) if warmup > 0 else ())
        + event_markers(scenario, float(doc["days"])),
    ))
    sections = [Section("Fleets", tuple(blocks))]
    if doc.get("repair_shops"):
        sections.append(shops_section(doc["repair_shops"]))
    intro = [Text(f"Scenario `{scenario.source}`: {doc['replications']} replications × "
                  f"{doc['days']} days (warm-up {warmup}), seed {doc['seed']}.")]
    if doc.get("stock_plan"):
        intro.append(Text(doc["stock_plan"]["message"]))
    return Report(f"Simulation report: {_name(scenario)}", intro=tuple(intro),
                  sections=tuple(sections))


# -- stockpile ----------------------------------------------------------------------


def _stock_chart(doc: dict[str, Any], c: dict[str, Any]) -> Chart:
    months = doc["months"]
    x = tuple(float(k) for k in range(len(months)))
    series = [Series("partner stock", x, tuple(c["partner_stock"]), style="markers"),
              Series("partner demand", x, tuple(c["demand"]), style="step")]
    levels, owners = [], []
    for r in doc["donors"]:
        if r["consumable"] == c["id"]:
            series.append(Series(f"{r['donor']} stock", x, tuple(r["stock"])))
            if r["floor"] > 0:  # drawn in the colour of the donor's stock
                levels.append((float(r["floor"]), f"{r['donor']} floor"))
                owners.append(len(series) - 1)
    return Chart(
        name=f"stock {c['id']}",
        title=f"{c['id']}: stock at the end of each month",
        x_title="month",
        y_title="units",
        series=tuple(series),
        levels=tuple(levels),
        x_labels=tuple(months),
        level_series=tuple(owners),
    )


def stockpile_report(scenario: Scenario, doc: dict[str, Any], *, top: int = 10) -> Report:
    """``sustain stockpile``: consumables in total, every consumable month by month with
    its stock levels, donors against their floors, and where more production pays."""
    qty = Kind.NUMBER  # flows are whole units, to rounding (stockpile/result.py)
    months = doc["months"]
    summary = []
    for c in doc["consumables"]:
        demand = sum(c["demand"])
        short = doc["total_shortfall"][c["id"]]
        summary.append((c["id"], demand, sum(c["used"]), short,
                        short / demand if demand > 0 else None,
                        c["first_shortfall_month"] or "none"))
    totals = Table(
        "consumables",
        (Column("consumable"), Column("demand", qty, 0), Column("used", qty, 0),
         Column("shortfall", qty, 0), Column("short", _PERCENT),
         Column("first short")),
        tuple(summary),
    )
    monthly = Table(
        "monthly",
        (Column("consumable"), Column("month"), Column("demand", qty, 0),
         Column("arrivals", qty, 0), Column("used", qty, 0), Column("shortfall", qty, 0),
         Column("partner stock", qty, 0), Column("months of cover", qty, 1)),
        tuple((c["id"], m, c["demand"][k], c["arrivals"][k], c["used"][k],
               c["shortfall"][k], c["partner_stock"][k], c["months_of_cover"][k])
              for c in doc["consumables"] for k, m in enumerate(months)),
    )
    donor_rows = []
    for r in doc["donors"]:
        low = min(range(len(months)), key=lambda k: r["stock"][k])
        donor_rows.append((r["donor"], r["consumable"], r["start_stock"], r["floor"],
                           r["stock"][low], months[low], sum(r["sent"]), sum(r["surge"]),
                           sum(r["floor_breach"]), r["breach_month_at_pledge_rate"] or ""))
    donors = Table(
        "donors",
        (Column("donor"), Column("consumable"), Column("start", qty, 0),
         Column("floor", qty, 0), Column("lowest", qty, 0), Column("in"),
         Column("sent", qty, 0), Column("surge", qty, 0), Column("breach", qty, 0),
         Column("at pledges")),
        tuple(donor_rows),
    )
    sections = [
        Section("Consumables", (totals,)),
        Section("Month by month", (
            monthly,
            Text("Months of cover: how many months of the coming demand the partner's "
                 "stock plus every donor's stock above its floor could meet, counted forward "
                 "month by month (the plan delivers just in time, so the partner's own stock "
                 "alone, the months of supply in the JSON, is often 0)."),
            *(_stock_chart(doc, c) for c in doc["consumables"]),
        )),
        Section("Donors: stock against floor", (
            donors,
            Text("breach: unit-months below the floor; at pledges: the first month below "
                 "it if giving at the pledged rate."),
        )),
    ]
    pays = _capacity_rows(doc, top)
    if pays:
        sections.append(Section("Where one more unit of committed production pays", (
            Table("capacity value",
                  (Column("donor"), Column("consumable"), Column("first month"),
                   Column("last month"), Column("months", Kind.INT),
                   Column("lowest", qty, 3), Column("highest", qty, 3)),
                  tuple(pays)),
            Text("Shortfall avoided per unit of production committed in those months."),
        )))
    obj = doc["objective"]
    closing: list[Block] = [Text(
        f"Floor breach {obj['floor_breach']:,.1f} unit-months; weighted shortfall "
        f"{obj['shortfall']:,.1f}; surge bought for {obj['surge_cost']:,.0f} "
        f"{scenario.currency}.")]
    if doc["notes"]:
        closing.append(Text("\n".join(f"- {n}" for n in doc["notes"])))
    sections.append(Section("Objective and notes", tuple(closing)))
    return Report(
        f"Stockpile plan: {_name(scenario)}",
        intro=(Text(f"Scenario `{scenario.source}`, months {months[0]} to {months[-1]}, "
                    f"status **{doc['status']}**."),),
        sections=tuple(sections),
    )


def _capacity_rows(doc: dict[str, Any], top: int) -> list[tuple[Cell, ...]]:
    """Per donor and consumable: the months where one more unit of production avoids
    shortfall, and the range of that value (the largest first)."""
    active = {(r["donor"], r["consumable"]) for r in doc["donors"]}
    windows: dict[tuple[str, str], list[tuple[str, float]]] = {}
    for v in doc["capacity_value"]:
        key = (v["donor"], v["consumable"])
        if key in active and v["shortfall_avoided_per_unit"] > 0:
            windows.setdefault(key, []).append((v["month"], v["shortfall_avoided_per_unit"]))
    ranked = sorted(windows.items(), key=lambda kv: (-max(x for _, x in kv[1]), kv[0]))
    return [(donor, cid, vals[0][0], vals[-1][0], len(vals), min(x for _, x in vals),
             max(x for _, x in vals)) for (donor, cid), vals in ranked[:top]]



# -- oryx -------------------------------------------------------------------------


def oryx_report(result: LossRates) -> Report:
    """Loss rates from Oryx's confirmed losses: the systems matched, the rates per day and
    per system per day (the ``rates`` table, the CSV file), the counts and attribution."""
    loss = "destroyed + captured" + (" + abandoned" if result.abandoned_as_loss else "")
    since = " (first matching row)" if result.start_is_first_match else ""
    matched = Table("systems", (Column("system"), Column("attrition", Kind.INT),
                                Column("damaged", Kind.INT)),
                    tuple((s.name, s.attrition, s.damaged) for s in result.systems))
    rates = Table("rates", (Column("loss"), Column("count", Kind.INT),
                            Column("per day (fleet)", Kind.NUMBER, 4),
                            Column("per system per day", Kind.NUMBER, 6)), (
        (f"attrition ({loss})", result.attrition, result.attrition_per_day,
         result.attrition_per_system_day),
        ("battle damage (damaged)", result.damaged, result.damage_per_day,
         result.damage_per_system_day),
    ))
    return Report(
        "Loss rates from Oryx",
        intro=(Text(f"Table `{result.source}`, systems matching "
                    f"`{' | '.join(result.patterns)}`: {result.start}{since} to "
                    f"{result.end} (exclusive), {result.days} days, a fleet of "
                    f"{result.fleet_size:g}."),),
        sections=(
            Section("Rates", (rates, Text(
                "Confirmed losses are a lower bound; date_recorded is the scrape date, not "
                "the loss date: use periods of a year or more."))),
            Section("Systems matched", (matched, Text(
                f"destroyed {result.destroyed}, captured {result.captured}, abandoned "
                f"{result.abandoned}, damaged {result.damaged}; matching rows outside the "
                f"period: {result.rows_outside_period}."))),
            Section("Source", (Text(result.attribution),)),
        ),
    )
