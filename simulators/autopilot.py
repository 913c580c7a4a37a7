"""The agency's staff, automated, for demos where nobody clicks: every tick each document moves
one step through the guide's workflow (register → assign → draft reply → sign → issue), so the
one-stop sees the statuses arrive one by one and then the result.

``step()`` does one tick synchronously (tests call it); ``start()`` runs ticks in a thread.
"""

from __future__ import annotations

import logging
import threading

from simulators.docmgmt import DocMgmtSimulator, DocState
from simulators.errors import ActionRefused

log = logging.getLogger(__name__)


class Autopilot:
    def __init__(self, simulator: DocMgmtSimulator, interval: float = 2.0, notation: str = "CV_LT_MOTCUA") -> None:
        self.simulator = simulator
        self.interval = interval
        self.notation = notation
        accounts = simulator.config.accounts
        # The first specialist handles, the first leader signs (the sample directory has one each).
        self.officer = next((a.username for a in accounts if a.role == "specialist"), None)
        self.leader = next((a.username for a in accounts if a.role == "leader"), None)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="docmgmt-autopilot", daemon=True)

    def step(self) -> list[str]:
        """Move every open document one step; returns what was done, e.g. ``VBDEN-2024-00001: register``."""
        done = []
        sim = self.simulator
        for doc in sim.worklist():
            try:
                if doc.state is DocState.AWAITING_REGISTRATION:
                    sim.register(doc.reference)
                    action = "register"
                elif doc.state is DocState.REGISTERED and self.officer:
                    sim.assign(doc.reference, self.officer)
                    action = f"assign to {self.officer}"
                elif doc.state is DocState.ASSIGNED:
                    sim.draft_reply(doc.reference)
                    action = "draft reply"
                elif doc.state is DocState.DRAFTING and self.leader:
                    sim.sign(doc.reference, self.leader)
                    action = f"sign as {self.leader}"
                elif doc.state is DocState.SIGNED:
                    number = sim.next_number(self.notation)
                    sim.issue(doc.reference, number)
                    action = f"issue {number}"
                else:
                    continue
            except ActionRefused as exc:  # someone acted on it meanwhile; the next tick sees the new state
                log.info("autopilot skipped %s: %s", doc.reference, exc)
                continue
            done.append(f"{doc.reference}: {action}")
        return done

    def start(self) -> Autopilot:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                for line in self.step():
                    log.info("autopilot %s", line)
            except Exception:  # a demo helper must keep going; the log says what broke
                log.exception("autopilot step failed")
