"""Which offers interact: the groups whose gains a pick can change.

The measure is a sum over fleets.  A fleet's systems up depend on the pipelines of
the items installed in its system type, and those on the demand of every fleet whose
systems use the same items (directly or through the item tree) and on the spares at
every site; its share of consumable usage met depends on every fleet and partner
demand drawing on the same consumable.  So system types are joined when they share
an item or a consumable (a ``usage`` row of the stockpile section), and the joining
is closed (a fleet's systems up drive its consumable usage, which moves the share of
another fleet using the consumable, whose items may be shared with a third).  An
offer belongs to the group of what it changes:

- ``systems``: its system type (its fleet's items, and the consumables that type uses);
- ``spares``: the system types the item (or the item it is part of) is installed in;
- ``consumable``: the system types that use the consumable.

Offers of different groups do not interact: taking one leaves the gain of the other
unchanged, because they change disjoint sets of fleets.
"""

from __future__ import annotations

from collections.abc import Sequence

from sustain.scenario.model import Offer, Scenario


class _Union:
    """Disjoint sets over string keys (union by linking, path halving)."""

    def __init__(self) -> None:
        self.up: dict[str, str] = {}

    def find(self, x: str) -> str:
        self.up.setdefault(x, x)
        while self.up[x] != x:
            self.up[x] = self.up[self.up[x]]
            x = self.up[x]
        return x

    def join(self, keys: Sequence[str]) -> None:
        for other in keys[1:]:
            a, b = self.find(keys[0]), self.find(other)
            if a != b:
                self.up[b] = a


def item_systems(scenario: Scenario) -> dict[str, list[str]]:
    """For each item, the system types it is installed in, itself or through the
    items it is part of (the item tree)."""
    parent = {x.id: x.parent for x in scenario.items}
    own = {x.id: [i.system for i in x.installed_in] for x in scenario.items}
    out: dict[str, list[str]] = {}
    for item in own:
        systems: list[str] = []
        node: str | None = item
        seen: set[str] = set()
        while node is not None and node in own and node not in seen:
            seen.add(node)
            systems += own[node]
            node = parent.get(node)
        out[item] = list(dict.fromkeys(systems))
    return out


def offer_groups(scenario: Scenario, offers: Sequence[Offer] | None = None) -> tuple[int, ...]:
    """For each offer (of ``scenario`` unless given), a group number: two offers
    interact only if their numbers are equal (module docstring).  An offer that changes
    no fleet (an item installed nowhere, a consumable no system uses) is a group of
    its own."""
    offers = scenario.offers if offers is None else offers
    u = _Union()
    for s in scenario.systems:
        u.find("system:" + s.id)
    by_item = item_systems(scenario)
    for systems in by_item.values():
        u.join(["system:" + s for s in systems])
    if scenario.stockpile is not None:
        for row in scenario.stockpile.usage:
            u.join(["consumable:" + row.consumable, "system:" + row.system])
    keys: list[str | None] = []
    for o in offers:
        if o.kind == "systems" and o.system is not None:
            keys.append(u.find("system:" + o.system))
        elif o.kind == "spares" and o.item is not None:
            users = by_item.get(o.item)
            keys.append(u.find("system:" + users[0]) if users else "item:" + o.item)
        elif o.kind == "consumable" and o.consumable is not None:
            keys.append(u.find("consumable:" + o.consumable))
        else:
            keys.append(None)
    ids: dict[str, int] = {}
    out: list[int] = []
    for n, key in enumerate(keys):
        out.append(-1 - n if key is None else ids.setdefault(key, len(ids)))
    return tuple(out)
