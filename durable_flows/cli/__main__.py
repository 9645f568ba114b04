"""``python -m durable_flows.cli``: the same as the ``durable-flows`` command."""

from . import main

main(prog_name="durable-flows")
