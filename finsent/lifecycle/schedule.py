"""The retraining schedule: standard cron expressions on APScheduler.

:func:`build_scheduler` runs a job's ``run("cron")`` on a cron expression (``retrain.cron`` in the
settings), one run at a time. Cron's day-of-week field is translated by :func:`standard_cron`,
because APScheduler counts days from Monday where cron counts from Sunday.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from finsent.core.errors import ConfigError

if TYPE_CHECKING:
    from apscheduler.schedulers.base import BaseScheduler

__all__ = ["JOB_ID", "ScheduledJob", "build_scheduler", "next_run", "standard_cron"]

#: Id of the retraining job in the scheduler.
JOB_ID = "retrain"
_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")


class ScheduledJob(Protocol):
    """What the scheduler runs (``finsent.lifecycle.job.RetrainJob``)."""

    def run(self, trigger: str = "manual", *, force: bool = False) -> Any:
        """Run once; ``trigger`` says what started the run."""
        ...


def _day(token: str) -> int:
    if token[:1].isalpha():
        return _DAYS.index(token[:3].lower())
    value = int(token)
    if not 0 <= value <= 7:
        raise ValueError(f"day {value} out of range 0-7")
    return value


def _days(part: str) -> set[int]:
    body, _, step_s = part.partition("/")
    step = int(step_s) if step_s else 1
    if step < 1:
        raise ValueError("step must be positive")
    if body == "*":
        lo, hi = 0, 6
    elif "-" in body:
        first, last = body.split("-", 1)
        lo, hi = _day(first), _day(last)
        if hi < lo:
            raise ValueError("range runs backwards")
    else:
        lo = hi = _day(body)
        if step_s:  # "a/n": from a to the end of the week
            hi = 6
    return {d % 7 for d in range(lo, hi + 1, step)}


def standard_cron(expr: str) -> str:
    """``expr`` with its day-of-week field spelled in names.

    Standard cron counts days from Sunday (0 or 7 = Sunday, 1-5 = Monday to Friday); APScheduler's
    ``from_crontab`` counts from Monday, so ``1-5`` would mean Tuesday to Saturday. Names are
    unambiguous to both.

    Raises:
        ValueError: Not five fields, or a day-of-week it cannot read.
    """
    fields = expr.split()
    if len(fields) != 5:
        raise ValueError(f"expected 5 fields, got {len(fields)}")
    if fields[4] != "*":
        try:
            days = set().union(*(_days(p) for p in fields[4].split(",")))
        except (ValueError, IndexError) as exc:
            raise ValueError(f"day-of-week {fields[4]!r}: {exc}") from None
        fields[4] = ",".join(_DAYS[d] for d in sorted(days))
    return " ".join(fields)


def build_scheduler(job: ScheduledJob, *, cron: str, blocking: bool = True) -> BaseScheduler:
    """An APScheduler scheduler running ``job.run("cron")`` on ``cron`` (UTC).

    One run at a time (``max_instances=1``, missed runs coalesced); the job's own lock also keeps
    runs of other processes apart.

    Raises:
        ConfigError: The cron expression is invalid (the message names the setting).
    """
    from apscheduler.schedulers.background import BackgroundScheduler
    from apscheduler.schedulers.blocking import BlockingScheduler
    from apscheduler.triggers.cron import CronTrigger

    try:
        trigger = CronTrigger.from_crontab(standard_cron(cron), timezone="UTC")
    except ValueError as exc:
        raise ConfigError(
            f"FINSENT_RETRAIN__CRON (retrain.cron) {cron!r} is not a cron expression: {exc}"
        ) from None
    scheduler = (BlockingScheduler if blocking else BackgroundScheduler)(timezone="UTC")
    scheduler.add_job(
        job.run,
        trigger,
        args=["cron"],
        id=JOB_ID,
        max_instances=1,
        coalesce=True,
        misfire_grace_time=3600,
    )
    return scheduler


def next_run(scheduler: BaseScheduler) -> datetime | None:
    """When the scheduler's retraining job fires next (None: never)."""
    fire: datetime | None = scheduler.get_job(JOB_ID).trigger.get_next_fire_time(None, datetime.now(UTC))
    return fire
