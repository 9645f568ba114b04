"""One-line summaries of events for span tags and output events (as upstream's tracing shows them).

Duck-typed on pydantic events (this package imports nothing from durable_flows):
``Name(field=value, ...)`` with the declared fields, the dict-like extras
(``_data``) and a stop event's ``result``; long strings and collections are
shortened, and the whole line is capped. Never raises: tracing must not fail a run.
"""

from __future__ import annotations

from typing import Any

#: Longest line a summary may be, and longest string value shown inside it.
MAX_LINE = 200
MAX_STRING = 50


def summarize_value(value: Any) -> str:
    """``value`` shortened for a summary: long strings cut, big lists and dicts counted."""
    if isinstance(value, str) and len(value) > MAX_STRING:
        return repr(value[:MAX_STRING] + "...")
    if isinstance(value, list) and len(value) > 3:
        return f"[{len(value)} items]"
    if isinstance(value, dict) and len(value) > 3:
        return f"{{{len(value)} keys}}"
    return repr(value)


def summarize_event(event: Any) -> str:
    """``Name(field=value, ...)``, at most :data:`MAX_LINE` characters."""
    cls = type(event)
    try:
        fields: list[tuple[str, Any]] = []
        if "_result" in getattr(event, "__private_attributes__", {}):  # a StopEvent
            result = getattr(event, "_result", None)
            if result is not None:
                fields.append(("result", result))
        fields += [(name, getattr(event, name, None)) for name in getattr(cls, "model_fields", {})]
        extras = getattr(event, "_data", None)
        if isinstance(extras, dict):
            fields += list(extras.items())
        line = f"{cls.__name__}({', '.join(f'{k}={summarize_value(v)}' for k, v in fields)})"
    except Exception:  # noqa: BLE001 - a summary never fails the run
        line = cls.__name__
    return line if len(line) <= MAX_LINE else line[: MAX_LINE - 3] + "..."
