"""``python -m connector outbox list|stats|pause|resume|retry``, ``exchange show`` and ``worker``
(the delivery worker as its own process)."""

from __future__ import annotations

import argparse
import dataclasses
import json
from datetime import datetime

from connector.cli.support import EXIT_INVALID, CliError, add_settings_options, settings_of, store_of
from connector.clock import utcnow
from connector.edxml import to_plain
from connector.ops.logs import configure_logging
from connector.serving.runtime import build_axis_poller, build_runtime, build_worker
from connector.store import BreakerState, OutboxState


def _outbox_list(args: argparse.Namespace) -> int:
    items = store_of(args).outbox_items(state=args.state)
    if args.json:
        print(json.dumps([to_plain(i) for i in items], ensure_ascii=False, indent=2, default=str))
        return 0
    if not items:
        print(f"no outbox items{f' in state {args.state}' if args.state else ''}")
    for i in items:
        # A finished item has no next attempt: when it finished instead.
        when = (
            f"done={i.updated_at:%Y-%m-%d %H:%M:%S}"
            if i.state in (OutboxState.DELIVERED, OutboxState.DEAD)
            else f"next={i.next_attempt_at:%Y-%m-%d %H:%M:%S}"
        )
        print(
            f"{i.item_id:5} {i.state:9} {i.operation:15} {i.system_id:15} {i.mode.value:4} attempts={i.attempts} "
            f"{when} exchange={i.exchange_id}"
            + (f"\n      last error: {i.last_error}" if i.last_error else "")
            + (f"\n      partner reference: {i.partner_reference}" if i.partner_reference else "")
        )
    return 0


def _outbox_retry(args: argparse.Namespace) -> int:
    store = store_of(args, write=True)
    item = store.outbox_item(args.item_id)
    if item is None:
        raise CliError(f"no outbox item {args.item_id}", EXIT_INVALID)
    if not store.retry(args.item_id, utcnow()):
        raise CliError(f"outbox item {args.item_id} is {item.state}; only dead items can be retried", EXIT_INVALID)
    print(f"outbox item {args.item_id} ({item.operation} to {item.system_id}) is due again")
    return 0


def _age(since: datetime | None, now: datetime) -> str:
    if since is None:
        return "-"
    seconds = int((now - since).total_seconds())
    sign, seconds = ("in ", -seconds) if seconds < 0 else ("", seconds)
    hours, rest = divmod(seconds, 3600)
    text = f"{hours}h{rest // 60:02d}m" if hours else f"{rest // 60}m{rest % 60:02d}s" if rest >= 60 else f"{rest}s"
    return sign + text + ("" if sign else " ago")


def _outbox_stats(args: argparse.Namespace) -> int:
    store = store_of(args)
    now = utcnow()
    stats, queues = store.outbox_stats(now), store.partner_queues()
    if args.json:
        plain = {
            "at": now.isoformat(),
            "stats": [dataclasses.asdict(s) for s in stats],
            "partners": [dataclasses.asdict(q) for q in queues.values()],
        }
        print(json.dumps(plain, ensure_ascii=False, indent=2, default=str))
        return 0
    if not stats:
        print("the outbox is empty")
    else:
        print(f"{'partner':18} {'state':10} {'count':>7} {'oldest':>12} {'next attempt':>12} {'in flight':>9}")
    for s in stats:
        print(
            f"{s.system_id:18} {s.state:10} {s.count:7} {_age(s.oldest_created_at, now):>12} "
            f"{_age(s.next_attempt_at, now) if s.next_attempt_at else '-':>12} {s.in_flight:9}"
        )
    for q in queues.values():
        if q.paused:
            print(
                f"{q.system_id}: PAUSED {_age(q.paused_at, now)}" + (f" ({q.pause_reason})" if q.pause_reason else "")
            )
        if q.breaker is BreakerState.OPEN:
            print(f"{q.system_id}: breaker OPEN since {q.breaker_since:%Y-%m-%d %H:%M:%S} UTC ({q.last_error or '-'})")
    return 0


def _outbox_pause(args: argparse.Namespace) -> int:
    store = store_of(args, write=True)
    if store.system(args.system_id) is None:
        raise CliError(f"no system {args.system_id!r} in the directory", EXIT_INVALID)
    pause = args.action == "pause"
    changed = store.set_paused(args.system_id, pause, utcnow(), args.reason if pause else None)
    done = "paused: nothing is sent to it until resumed" if pause else "resumed: its due items go out now"
    print(f"{args.system_id} {done}" if changed else f"{args.system_id} was already {'paused' if pause else 'running'}")
    return 0


def _exchange_show(args: argparse.Namespace) -> int:
    store = store_of(args)
    found = [store.exchange(args.key)] if store.exchange(args.key) else store.exchanges_for_dossier(args.key)
    if not found:
        raise CliError(f"no exchange with id or dossier {args.key!r}", EXIT_INVALID)
    for x in found:
        print(f"Exchange {x.exchange_id}  [{x.state.value}]")
        print(f"  dossier {x.dossier_code} (one-stop no. {x.onestop_number or '-'}), procedure {x.procedure_code}")
        print(
            f"  {x.kind.value} from {x.source_organ}/{x.sender_username} to {x.agency_organ} "
            f"{x.queue} queue of {x.target_account}"
        )
        print(f"  document {x.document_id} code {x.document_code or '-'}")
        if x.result_code:
            print(
                f"  result {x.result_code} issued {x.result_issue_date:%Y/%m/%d} by "
                f"{x.result_signer or '-'} ({x.result_position or '-'})"
            )
        print("  timeline:")
        for e in store.timeline(x.exchange_id):
            code = f" [{e.status_code}]" if e.status_code else ""
            print(f"    {e.at:%Y-%m-%d %H:%M:%S}  {e.state.value:12}{code:5} {e.actor:28} {e.note or ''}")
    return 0


def _worker(args: argparse.Namespace) -> int:
    settings = settings_of(args)
    configure_logging(settings.log_format)
    runtime = build_runtime(settings)
    worker = build_worker(runtime, "worker")
    poller = build_axis_poller(runtime).start() if settings.delivery.axis_poll_interval > 0 else None
    print(f"delivery worker on {settings.effective_database_url}", flush=True)
    try:
        worker.prepare()
        worker.run()
    finally:
        if poller is not None:
            poller.stop()
        runtime.close()
    return 0


def add_delivery_commands(commands: argparse._SubParsersAction) -> None:
    outbox = commands.add_parser("outbox", help="the delivery outbox")
    sub = outbox.add_subparsers(dest="action", required=True)
    listing = sub.add_parser("list", help="list outbox items")
    listing.add_argument("--state", type=OutboxState, choices=list(OutboxState))
    listing.add_argument("--json", action="store_true")
    add_settings_options(listing)
    listing.set_defaults(run=_outbox_list)
    stats = sub.add_parser("stats", help="per partner and state: counts, oldest item, next attempt, in flight")
    stats.add_argument("--json", action="store_true")
    add_settings_options(stats)
    stats.set_defaults(run=_outbox_stats)
    pause = sub.add_parser("pause", help="stop delivering to a partner system (a planned maintenance window)")
    pause.add_argument("system_id", metavar="SYSTEM_ID")
    pause.add_argument("--reason", help="shown by outbox stats")
    resume = sub.add_parser("resume", help="deliver to a paused partner system again")
    resume.add_argument("system_id", metavar="SYSTEM_ID")
    for command in (pause, resume):
        add_settings_options(command)
        command.set_defaults(run=_outbox_pause)
    retry = sub.add_parser("retry", help="send a dead letter again")
    retry.add_argument("item_id", type=int, metavar="ID")
    add_settings_options(retry)
    retry.set_defaults(run=_outbox_retry)
    exchange = commands.add_parser("exchange", help="exchanges")
    sub = exchange.add_subparsers(dest="action", required=True)
    show = sub.add_parser("show", help="an exchange and its timeline, by id or dossier code/number")
    show.add_argument("key", metavar="ID|DOSSIER_CODE")
    add_settings_options(show)
    show.set_defaults(run=_exchange_show)
    worker = commands.add_parser("worker", help="run the delivery worker as its own process")
    add_settings_options(worker)
    worker.set_defaults(run=_worker)
