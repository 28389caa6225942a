"""The search gate's shares (service/admission.py) without a server: searches are held open by an event,
never by a clock."""

from __future__ import annotations

import threading

import anyio
import pytest

from figvault.service.admission import Overloaded, SearchGate


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
