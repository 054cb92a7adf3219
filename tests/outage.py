"""db_failover_s, one definition for the process drill, the VMs and bench/failover.py."""

from __future__ import annotations


def write_outage_s(acknowledged_at: list[float], fault_time: float) -> float | None:
    """The longest time without an acknowledged write from the fault on. Not the time to the
    first acknowledgement: a write in flight at the fault may be acknowledged at once, and the
    outage come after it. None when no write was acknowledged after the fault."""
    after = sorted(t for t in acknowledged_at if t > fault_time)
    if not after:
        return None
    marks = [fault_time, *after]
    return max(later - earlier for earlier, later in zip(marks, marks[1:]))
