"""Print the README's topic table, generated from the entity catalog.

    python scripts/topic_table.py            # print the Markdown table
    python scripts/topic_table.py --write    # replace the block between the markers in README.md
    python scripts/topic_table.py --check    # exit 1 when README.md is stale

The table lives between ``<!-- topics:start -->`` and ``<!-- topics:end -->`` so the
README cannot drift from what the bridge really publishes.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from carnet.catalog.model import Encoding, Entity, ParseContext  # noqa: E402
from carnet.catalog.table import ENTITIES  # noqa: E402
from carnet.mqtt.events import (  # noqa: E402
    COMMAND_FAILED,
    COMMAND_FAILED_DESCRIPTION,
    FAMILIES,
    RULES,
)
from carnet.vendor.carnet_app.vehicles import CAPABILITIES  # noqa: E402
from scripts import doc_block  # noqa: E402

# The vehicle decides its charge currents; the table shows a Car-Net vehicle's.
CARNET = ParseContext(charge_currents=CAPABILITIES.charge_currents)

START = "<!-- topics:start -->"
END = "<!-- topics:end -->"

_PAYLOADS = {
    Encoding.NUMBER: "number",
    Encoding.SWITCH: "`ON` / `OFF`",
    Encoding.OPEN_CLOSED: "`OPEN` / `CLOSED`",
    Encoding.BOOLEAN: "`true` / `false`",
    Encoding.TIMESTAMP: "ISO 8601 timestamp",
    Encoding.LOCATION: '`{"latitude":…,"longitude":…}`',
}
_DYNAMIC_UNITS = {
    "distance": "km or mi, as the car reports",
    "temperature": "°F or °C, as the account",
    "speed": "km/h or mph, as the car reports",
}


def _payload(item: Entity) -> str:
    if item.key == "lock":
        return "`LOCKED` / `UNLOCKED` / `LOCKING` / `UNLOCKING`"
    if item.device_class == "lock":
        return "`LOCKED` / `UNLOCKED`"
    options = item.options_for(CARNET.charge_currents)
    if options:
        return " / ".join(f"`{option}`" for option in options)
    text = _PAYLOADS.get(item.encoding, "")
    # Units the vendor decides (distances, temperatures) are named by device class.
    unit = item.unit or (_DYNAMIC_UNITS.get(item.device_class or "") if item.reported else None)
    return f"{text} ({unit})" if text and unit else text


def _ha(item: Entity) -> str:
    return f"{item.component} ({item.device_class})" if item.device_class else item.component


def _row(item: Entity) -> str:
    buttons = [e for e in ENTITIES if e.writes == item.key]
    if item.encoding is Encoding.NONE and item.command is None:  # a view over other values
        topic = "—"
        kind = f"{_ha(item)} over " + ", ".join(f"`{key}`" for key in item.requires)
    else:
        topic = f"`<base>/<vehicle>/{item.key}`" if item.encoding is not Encoding.NONE else "—"
        kind = _ha(item)
        if buttons:
            kind = f"buttons: {item.name.lower()}, " + ", ".join(b.name.lower() for b in buttons)
    accepts = item.command.accepted(CARNET) if item.command else ""
    return f"| `{item.key}` | {topic} | {kind} | {_payload(item)} | {accepts} |"


def event_table() -> str:
    """The Markdown table of every event on ``<base>/<vehicle>/event``, by family."""
    names = {family.key: family for family in FAMILIES}
    lines = [
        "| `event_type` | Home Assistant event entity | when |",
        "| --- | --- | --- |",
    ]
    for rule in RULES:
        family = names[rule.family]
        entity_id = f"event.<vehicle>_{family.key}"
        lines.append(f"| `{rule.event_type}` | `{entity_id}` | {rule.description} |")
    command = next(family for family in FAMILIES if not family.watches)
    lines.append(
        f"| `{COMMAND_FAILED}` | `event.<vehicle>_{command.key}` | {COMMAND_FAILED_DESCRIPTION} |"
    )
    return "\n".join(lines)


def table() -> str:
    """The Markdown table of every attribute, in catalog order, then the events."""
    lines = [
        "| attribute | state topic | Home Assistant | payload | `/set` accepts |",
        "| --- | --- | --- | --- | --- |",
    ]
    lines += [_row(item) for item in ENTITIES if item.writes is None]
    events = (
        "**Events** on `<base>/<vehicle>/event` (not retained), JSON "
        '`{"event_type": …}` with the fields named below:'
    )
    return "\n".join(lines) + f"\n\n{events}\n\n{event_table()}"


def render(readme: str) -> str:
    """``readme`` with the block between the markers replaced by the current table."""
    start, end = readme.find(START), readme.find(END)
    if start < 0 or end < start:
        raise ValueError(f"README has no {START} … {END} block")
    return f"{readme[: start + len(START)]}\n{table()}\n{readme[end:]}"


def main(argv: list[str] | None = None) -> int:
    return doc_block.run(argv, description=__doc__.splitlines()[0], option="--readme",
                         default=ROOT / "README.md", script="topic_table.py", table=table,
                         render=render)


if __name__ == "__main__":
    sys.exit(main())
