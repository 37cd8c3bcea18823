"""Sending a broadcast to a contact list at the floor (issue 23): `bench/run_all.py --only listsend`.

A list's calls carry their contact and `needs_consent`: every claim checks, in its own query,
that the contact still has a consent in force for the broadcast's purpose
(calls/audience_recipients.consent_in_force_expression), besides the stop list and the limits
that any claim checks. This row measures that path against the same floor as "bulk send":

- for each size (1,000 and 10,000; `--quick`: 100 and 400), a list of contacts of their own
  numbers, each with a consent in force for "information" (bulk-created before the worker
  starts, not measured), read by `list_recipients` as the send page does;
- one warmed-up worker (`db_worker`, 20 in flight, 100 ms sandbox latency); just before each
  send, the floor: the bare 20-thread pool over the client on as many other numbers
  (`bench/pool.py send`);
- the broadcast recorded as one to the list (`create_broadcast(..., contacts=...)`, plan with the
  basis "consent") and timed as "bulk send": from the enqueue until no call is queued/sending.
  Checked: every call carries its contact and `needs_consent`, and every one was sent.

Target: <= 1.10 x the floor of the same run. The note also gives, for the smaller size, the
same worker sending as many pasted numbers right after (the "bulk send" row's path).
"""

from __future__ import annotations

import datetime

IN_FLIGHT = 20


def seed_list(bench, count: int) -> dict[str, int]:
    """A list of `count` contacts (numbers of their own), each with a consent in force; {number: contact id}."""
    from audiences.contact_models import Consent, Contact, ContactList, Membership
    from calls.audience_recipients import list_recipients

    numbers = bench.numbers(count)
    club = ContactList.objects.create(name=f"bench list of {count} from {numbers[0]}")
    people = [Contact(number=n, name=f"Житель {i}", extra={"кв": str(i % 300)}) for i, n in enumerate(numbers)]
    Contact.objects.bulk_create(people, batch_size=1000)
    ids = list(Contact.objects.filter(number__in=numbers).values_list("pk", flat=True))
    Membership.objects.bulk_create([Membership(contact_list=club, contact_id=pk) for pk in ids], batch_size=1000)
    given = datetime.date(2026, 11, 1)
    Consent.objects.bulk_create(
        [Consent(contact_id=pk, purpose="information", kind="written", given_at=given) for pk in ids], batch_size=1000
    )
    found = list_recipients([club], "information")
    if len(found.to_call) != count:
        raise RuntimeError(f"the list gives {len(found.to_call)} contacts to call, expected {count}: {found.counts}")
    return found.to_call


def consent_calls(broadcast_pk: int) -> tuple[int, int]:
    """(calls carrying a contact and needs_consent, of them sent) of the broadcast."""
    from calls.models import Call

    calls = Call.objects.filter(broadcast_id=broadcast_pk, needs_consent=True, contact__isnull=False)
    return calls.count(), calls.filter(call_id__isnull=False).exclude(call_id="").count()


def run(bench, row_class) -> None:
    sizes = bench.s["listsend"]
    latency_ms = bench.s["latency_ms"]
    bench.ensure_voice_message()
    bench.h.set_latency(latency_ms)
    lists = {count: seed_list(bench, count) for count in sizes}
    bench.start_workers(1)
    results = {}
    try:
        for index, count in enumerate(sizes):
            timeout = max(120, 10 * count * latency_ms / 1000 / IN_FLIGHT)
            floor = bench.floor(count)
            result = bench.broadcast(count, timeout, contacts=lists[count])
            marked, sent = consent_calls(result["broadcast"])
            row = bench.send_row(f"bulk send to a list of {count:,} contacts", count, 1, result, floor, 1.10)
            row.note = f"{marked} calls with needs_consent, {sent} of them sent; " + row.note
            if marked != count or sent != count:
                row.result = "ERROR"
            if index == 0:
                pasted = bench.broadcast(count, timeout)
                result["pasted"] = pasted
                row.note += (
                    f"; the same worker, {count} pasted numbers right after: {pasted['wall']:.2f} s "
                    f"(the list's send is {result['wall'] / pasted['wall']:.3f} x this)"
                )
            results[count] = {"send": result, "floor": floor}
            bench.add(row)
    finally:
        bench.h.stop_workers()
        bench.purge_tasks()
    bench.data["listsend"] = {str(count): value for count, value in results.items()}
