"""The search gate's shares (service/admission.py) without a server: searches are held open by an event,
never by a clock."""

from __future__ import annotations

import threading

import anyio
import pytest

from figvault.pipeline.page_images import RENDER_SLOTS
from figvault.service.admission import Overloaded, SearchGate, render_gate


def test_a_tenant_past_its_share_is_refused_and_another_tenant_is_not() -> None:
    release = threading.Event()
    outcomes: dict[str, object] = {}

    def held() -> str:
        assert release.wait(30)
        return "done"

    async def search(gate: SearchGate, name: str, tenant: str) -> None:
        try:
            outcomes[name] = await gate.run(held, caller=f"{tenant}/{name}", tenant=tenant)
        except Overloaded as exc:
            outcomes[name] = exc

    async def main() -> None:
        gate = SearchGate(concurrency=1, queue=4, queue_timeout_s=30, per_caller=2, per_tenant=2)
        async with anyio.create_task_group() as tasks:
            for name in ("ana", "bob"):  # two callers of tenant a: its share
                tasks.start_soon(search, gate, name, "a")
                await anyio.wait_all_tasks_blocked()
            await search(gate, "cid", "a")  # a third of tenant a: refused at once
            tasks.start_soon(search, gate, "dan", "b")  # tenant b: queued
            await anyio.wait_all_tasks_blocked()
            assert gate.waiting == 2
            release.set()
        assert gate.running == 0 and gate.waiting == 0 and not gate._held and not gate._turns

    anyio.run(main)
    refused = outcomes["cid"]
    assert isinstance(refused, Overloaded) and refused.status == 429
    assert "of your tenant" in str(refused) and refused.retry_after >= 1
    assert [outcomes[n] for n in ("ana", "bob", "dan")] == ["done"] * 3


def test_a_search_that_gave_up_waiting_leaves_nothing_behind() -> None:
    release = threading.Event()

    async def main() -> None:
        gate = SearchGate(concurrency=1, queue=4, queue_timeout_s=0.05, per_caller=4, per_tenant=4)
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(gate.run, lambda: release.wait(30), "x", "t")
            await anyio.wait_all_tasks_blocked()
            with pytest.raises(Overloaded) as late:
                await gate.run(lambda: None, "y", "t")
            assert late.value.status == 503
            assert gate.waiting == 0 and "caller:y" not in gate._held and not gate._turns
            release.set()
        assert gate.running == 0 and not gate._held

    anyio.run(main)


def _held_searches(release: threading.Event, order: list[str], outcomes: dict[str, object]) -> object:
    """A search routine for a gate: ``name``'s search runs (recorded in ``order``) once ``release`` is set."""

    async def search(gate: SearchGate, name: str, caller: str, tenant: str) -> None:
        def held() -> str:
            order.append(name)
            assert release.wait(30)
            return "done"

        try:
            outcomes[name] = await gate.run(held, caller=caller, tenant=tenant)
        except Overloaded as exc:
            outcomes[name] = exc

    return search


def test_a_tenant_under_its_fair_share_takes_a_waiting_place_of_the_tenant_holding_the_most() -> None:
    """Two tenants at their shares fill the gate; a third is still served: the newest waiting search of the
    tenant holding the most gives up its place (429, its own tenant's share). Before, the third tenant got
    the gate-full 429 until the others let go."""
    release = threading.Event()
    order: list[str] = []
    outcomes: dict[str, object] = {}
    search = _held_searches(release, order, outcomes)

    async def main() -> None:
        gate = SearchGate(concurrency=1, queue=4, queue_timeout_s=30, per_caller=5, per_tenant=3)
        async with anyio.create_task_group() as tasks:
            for name, tenant in (("a1", "a"), ("a2", "a"), ("a3", "a"), ("b1", "b"), ("b2", "b")):
                tasks.start_soon(search, gate, name, f"{tenant}/ana", tenant)
                await anyio.wait_all_tasks_blocked()
            assert gate.running == 1 and gate.waiting == 4  # full: a holds 3 places, b 2
            tasks.start_soon(search, gate, "c1", "c/cid", "c")
            await anyio.wait_all_tasks_blocked()
            assert "c1" not in outcomes, outcomes["c1"]  # waiting for a turn, not refused
            assert gate.waiting == 4 and gate._held["tenant:a"] == 2
            await search(gate, "a4", "a/ana", "a")  # a at its fair share now: refused, as its tenant's
            release.set()
        assert gate.running == 0 and gate.waiting == 0 and not gate._held and not gate._turns

    anyio.run(main)
    for name in ("a3", "a4"):
        refused = outcomes[name]
        assert isinstance(refused, Overloaded) and refused.status == 429, (name, refused)
        assert "of your tenant" in str(refused) and refused.retry_after >= 1
    assert [outcomes[n] for n in ("a1", "a2", "b1", "b2", "c1")] == ["done"] * 5
    assert order == ["a1", "b1", "c1", "a2", "b2"]  # turns by tenant: b and c had none yet


def test_free_slots_go_round_the_tenants_before_a_tenant_s_callers() -> None:
    """Three callers of tenant a and one of tenant b wait: b's searches alternate with a's. Before, turns
    went round the callers, so a tenant with more accounts got more of the slots (b waited behind all 3)."""
    release = threading.Event()
    order: list[str] = []
    outcomes: dict[str, object] = {}
    search = _held_searches(release, order, outcomes)

    async def main() -> None:
        gate = SearchGate(concurrency=1, queue=8, queue_timeout_s=30)
        async with anyio.create_task_group() as tasks:
            for name, caller, tenant in (
                ("x", "a/x", "a"),
                ("p", "a/p", "a"),
                ("q", "a/q", "a"),
                ("r", "a/r", "a"),
                ("s1", "b/s", "b"),
                ("s2", "b/s", "b"),
            ):
                tasks.start_soon(search, gate, name, caller, tenant)
                await anyio.wait_all_tasks_blocked()
            release.set()
        assert gate.running == 0 and gate.waiting == 0 and not gate._held and not gate._turns

    anyio.run(main)
    assert all(v == "done" for v in outcomes.values()), outcomes
    assert order == ["x", "s1", "p", "s2", "q", "r"]


def test_a_caller_under_its_part_of_its_tenants_share_takes_a_waiting_place_of_its_tenant() -> None:
    """One account of a tenant holds its tenant's whole share; another account of the tenant is still
    served: the newest waiting search of the account holding the most gives up its place (429). Before,
    the second account got the tenant's 429 until the first let go."""
    release = threading.Event()
    order: list[str] = []
    outcomes: dict[str, object] = {}
    search = _held_searches(release, order, outcomes)

    async def main() -> None:
        gate = SearchGate(concurrency=1, queue=5, queue_timeout_s=30, per_caller=6, per_tenant=4)
        async with anyio.create_task_group() as tasks:
            for name in ("x1", "x2", "x3", "x4"):  # the tenant's share, all of one account
                tasks.start_soon(search, gate, name, "a/x", "a")
                await anyio.wait_all_tasks_blocked()
            tasks.start_soon(search, gate, "y1", "a/y", "a")
            await anyio.wait_all_tasks_blocked()
            assert "y1" not in outcomes, outcomes["y1"]  # waiting for a turn, not refused
            assert gate._held["tenant:a"] == 4 and gate._held["caller:a/x"] == 3
            await search(gate, "x5", "a/x", "a")  # x past its part now: refused
            release.set()
        assert gate.running == 0 and gate.waiting == 0 and not gate._held and not gate._turns
        assert not gate._callers_of

    anyio.run(main)
    for name in ("x4", "x5"):
        refused = outcomes[name]
        assert isinstance(refused, Overloaded) and refused.status == 429, (name, refused)
        assert "of your tenant" in str(refused)
    assert order == ["x1", "y1", "x2", "x3"]


def test_render_gate_serves_a_third_tenant_before_the_busy_tenants_next_renders() -> None:
    """The page renders' gate (``render_gate``): two tenants hold both slots and each queue another render;
    a third tenant's render, queued after theirs, gets the next free slot. One caller holds one place only:
    its second render, waiting or not, is refused as its own (never both slots)."""
    release = {name: threading.Event() for name in ("a1", "b1", "a2", "b2", "c1")}
    order: list[str] = []
    outcomes: dict[str, object] = {}

    def render(name: str) -> str:
        order.append(name)
        assert release[name].wait(30)
        return name

    async def view(gate: SearchGate, name: str, caller: str) -> None:
        try:
            outcomes[name] = await gate.run(lambda: render(name), caller=caller, tenant=name[0])
        except Overloaded as exc:
            outcomes[name] = exc

    async def main() -> None:
        gate = render_gate()
        async with anyio.create_task_group() as tasks:
            for name, caller in (("a1", "a/x"), ("b1", "b/x"), ("a2", "a/y"), ("b2", "b/y"), ("c1", "c/x")):
                tasks.start_soon(view, gate, name, caller)
                await anyio.wait_all_tasks_blocked()
            await view(gate, "a1-again", "a/x")  # a1's caller again, its render running: its own 429
            assert gate.running == RENDER_SLOTS and gate.waiting == 3
            release["a1"].set()
            while len(order) < 3:
                await anyio.sleep(0.01)
            for event in release.values():
                event.set()
        assert gate.running == 0 and gate.waiting == 0

    anyio.run(main)
    assert order[:3] == ["a1", "b1", "c1"]
    refused = outcomes["a1-again"]
    assert isinstance(refused, Overloaded) and refused.status == 429 and refused.whose == "caller"
    assert all(outcomes[n] == n for n in release)
