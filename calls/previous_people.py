"""The people of a previous broadcast, by what became of them: for a new broadcast to them.

A person is a number called by broadcast X. What became of them is the outcome
(calls/outcomes.py, the same words as every page) of their **last attempt that was
made**, following every later attempt of the same person:

- automatic retries (same broadcast, `first_attempt`/`attempt`);
- deliberate resends (`resend_of`: another broadcast, one per broadcast sent again), and
  the retries and resends of those, to any depth (one recursive query).

Attempts are ordered by their primary key (each one is recorded after the one it
follows). Attempts never made (canceled by a stop, skipped for the stop list or a
per-number limit) are passed over: a person whose retry was canceled by a stop is
judged by the attempt that rang. People chosen by outcome:

- did not answer, busy, failed, answered: the last attempt's outcome ("failed" includes
  calls Exolve refused, as everywhere);
- not reached after all attempts: the last attempt is final and unanswered (no answer,
  busy, failed). Retries are created in the transaction that records the final status
  (calls/statistics.py), so a final last attempt means nothing more is pending.

Never chosen: people still being called (a pending attempt), people never called
(every attempt canceled or skipped) and people whose last attempt is unknown (it may
have rung: calling them again could ring them twice).

A broadcast made from X's people (calls/from_broadcast.py) is not an attempt of X's:
it is a broadcast of its own (perhaps another message), followed up from its own page.

Two queries whatever the size: the broadcasts of the family (X and its resends, one
recursive query), then the people (streamed) or their counts.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from django.db import connection, models
from django.db.models import Count, Max, Q
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from .models import Broadcast, Call, CallState
from .outcomes import Outcome, outcome_q

# Calls listed by the command or stored for a preview are read in chunks of this many.
CHUNK = 2000


class PreviousOutcome(models.TextChoices):
    NO_ANSWER = "no_answer", _("did not answer")
    BUSY = "busy", _("busy")
    FAILED = "failed", _("failed")
    ANSWERED = "answered", _("answered")
    NOT_REACHED = "not_reached", _("not reached after all attempts")


# Other words the command accepts for an outcome (as the calls' own outcome is named).
ALIASES = {"completed": PreviousOutcome.ANSWERED}
NOT_MADE = (CallState.CANCELED, CallState.SKIPPED)


def _condition(outcome: str) -> Q:
    """The condition on a person's last attempt for `outcome` (calls/outcomes.py's meaning)."""
    if outcome == PreviousOutcome.ANSWERED:
        return outcome_q(Outcome.COMPLETED)
    if outcome == PreviousOutcome.NOT_REACHED:
        return outcome_q(Outcome.NO_ANSWER) | outcome_q(Outcome.BUSY) | outcome_q(Outcome.FAILED)
    return outcome_q(outcome)


class UnknownOutcome(ValueError):
    """An outcome that is none of PreviousOutcome; `str()` says which ones are."""


def parse_outcomes(values) -> list[str]:
    """The outcomes named in `values` ("no_answer,busy" or a list of them), each once, in PreviousOutcome's order."""
    if isinstance(values, str):
        values = [values]
    named = [part.strip().lower() for value in values for part in str(value).split(",") if part.strip()]
    chosen = set()
    for name in named:
        name = ALIASES.get(name, name)
        if name not in PreviousOutcome.values:
            raise UnknownOutcome(
                gettext("“%(name)s” is not an outcome to choose people by; choose among: %(choices)s.")
                % {"name": name[:40], "choices": ", ".join(PreviousOutcome.values)}
            )
        chosen.add(name)
    return [outcome for outcome in PreviousOutcome.values if outcome in chosen]


def describe(broadcast: Broadcast, outcomes) -> str:
    """ "From broadcast #12: did not answer, busy", the words pages and the new broadcast's name use."""
    labels = ", ".join(str(PreviousOutcome(outcome).label) for outcome in outcomes)
    return gettext("From broadcast #%(pk)s: %(outcomes)s") % {"pk": broadcast.pk, "outcomes": labels}


def family(broadcast: Broadcast) -> list[int]:
    """The ids of `broadcast` and of every broadcast that sends its calls again, to any depth (one query).

    A call sent again is marked `resent_at` (calls/recording.py), so only those are
    followed, each by its `resend_of` index (a correlated LIMIT 1). Run on its own, so
    the people's query gets the ids as values the planner can estimate (as a subquery, a
    recursive CTE is guessed at thousands of rows and the calls table scanned whole).
    """
    quote = connection.ops.quote_name
    table = quote(Call._meta.db_table)
    of_broadcast = quote(Call._meta.get_field("broadcast").column)
    resend_of = quote(Call._meta.get_field("resend_of").column)
    resent_at = quote(Call._meta.get_field("resent_at").column)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH RECURSIVE family(id) AS (
                SELECT id FROM {quote(Broadcast._meta.db_table)} WHERE id = %s
                UNION
                SELECT (
                    SELECT resend.{of_broadcast} FROM {table} resend WHERE resend.{resend_of} = original.id LIMIT 1
                )
                FROM {table} original JOIN family ON original.{of_broadcast} = family.id
                WHERE original.{resent_at} IS NOT NULL
            )
            SELECT id FROM family
            """,
            [broadcast.pk],
        )
        return [row[0] for row in cursor.fetchall() if row[0] is not None]


def last_attempts(broadcast: Broadcast):
    """Each person's last attempt that was made, among `broadcast` and its resends (a queryset of calls)."""
    made = Call.objects.filter(broadcast_id__in=family(broadcast)).exclude(state__in=NOT_MADE)
    last = made.order_by().values("destination").annotate(last=Max("pk")).values("last")
    return Call.objects.filter(pk__in=last)


def counts(broadcast: Broadcast) -> dict[str, int]:
    """How many people of `broadcast` each outcome chooses (two queries)."""
    aggregates = {outcome: Count("pk", filter=_condition(outcome)) for outcome in PreviousOutcome.values}
    return last_attempts(broadcast).order_by().aggregate(**aggregates)


def counted_choices(broadcast: Broadcast) -> list[tuple[str, str, int]]:
    """(outcome, label, people) for the broadcast page's "New broadcast to these people" form; [] when nobody."""
    found = counts(broadcast)
    if not any(found.values()):
        return []
    return [(outcome, str(label), found[outcome]) for outcome, label in PreviousOutcome.choices]


def matching(broadcast: Broadcast, outcomes):
    """The last attempts of the people `outcomes` choose (a queryset; nobody without an outcome)."""
    condition = Q(pk__in=[])
    for outcome in outcomes:
        condition |= _condition(outcome)
    return last_attempts(broadcast).filter(condition)


@dataclass(frozen=True)
class Person:
    number: str
    details: dict  # what the list said of them (name, other columns), as their calls kept it
    time_zone: str  # "" when not known from the number or the list
    # Its calls came from a contact list (called again only with the contact's consent), and the contact
    # (None once deleted: then not called again).
    from_list: bool = False
    contact_id: int | None = None


def people(broadcast: Broadcast, outcomes) -> Iterator[Person]:
    """The people `outcomes` choose, one per number, in the order of their last attempts (streamed)."""
    rows = matching(broadcast, outcomes).order_by("pk")
    rows = rows.values_list("destination", "details", "time_zone", "needs_consent", "contact_id")
    for number, details, time_zone, from_list, contact_id in rows.iterator(chunk_size=CHUNK):
        yield Person(number, details if isinstance(details, dict) else {}, time_zone or "", from_list, contact_id)
