"""How many requests an apply keeps in flight, against the simulator over real HTTP: the
adaptive default slows down on 429 (a token bucket), 503 bursts and rising latency, and still
does every operation exactly once; a pinned level (``--concurrency``, ``concurrency=``, the
Settings' pin) is never exceeded; the level and its changes reach the progress, the result and
the batch record. Each test is bounded: tens of operations, a few seconds at most."""

from __future__ import annotations

from typing import Any

import pytest

from workbench import apply as applying
from workbench.cli import main
from workbench.concurrency import AdaptiveLimiter

from .sync_support import close_workbench, open_workbench, person, tally


@pytest.fixture
def creates(workspace_path, kleer_sim):
    """A factory: ``creates(n)`` → (workbench, plan) of n creates into an empty company."""
    opened = []

    def make(n: int):
        hr = [person(i) for i in range(n)]
        wb = open_workbench(workspace_path, kleer_sim, hr, [])
        opened.append(wb)
        wb.decide([{"hr_id": r["hr_id"], "action": "export"} for r in hr])
        return wb, wb.plan("export")

    yield make
    for wb in opened:
        close_workbench(wb)


def cuts(summary: dict[str, Any], reason: str) -> list[dict]:
    return [c for c in summary["changes"] if c["reason"].startswith(reason) and c["to"] < c["from"]]


def test_a_token_bucket_is_met_with_429s_slowed_down_for_and_nothing_fails(creates, kleer_sim):
    wb, plan = creates(30)  # ~62 requests: 20 at once, then 10 a second
    kleer_sim.set_faults(rate_limit=10, rate_burst=20)
    result = wb.apply(plan)
    assert result.counts_dict == {"done": 30}
    limited = kleer_sim.state()["fault_answers"]
    summary = result.concurrency
    assert limited >= 1 and summary["counts"]["429"] == limited  # the client met every 429
    assert summary["mode"] == "adaptive" and cuts(summary, "429 Too Many Requests")
    tally(wb, plan, kleer_sim.dump(), kleer_sim.state(), seeded=0)  # each create exactly once
    batch = wb.workspace.batches.get(result.batch_id)
    assert batch["concurrency"] == summary and batch["counts"] == {"done": 30}
    assert "429" in wb.batches().iloc[0]["concurrency"] and f"{limited} × 429" in str(result)


def test_bursts_of_503_halve_the_level_at_once_and_it_grows_back(creates, kleer_sim):
    wb, plan = creates(40)
    bursts: list[int] = []

    def burst(done: int, total: int, op_id: str) -> None:
        if done in (4, 20):
            bursts.append(done)
            kleer_sim.set_faults(fail_next=3, fail_status=503)

    result = wb.apply(plan, on_progress=burst)
    assert bursts == [4, 20] and result.counts_dict == {"done": 40}
    summary = result.concurrency
    assert summary["counts"]["503"] == 6 == kleer_sim.state()["fault_answers"]
    halved = cuts(summary, "503 Service Unavailable")
    assert halved and all(c["to"] == max(1, c["from"] // 2) for c in halved)
    last_cut = max(i for i, c in enumerate(summary["changes"]) if c in halved)
    assert any(c["reason"] == "answers fast and clean" for c in summary["changes"][last_cut:])
    tally(wb, plan, kleer_sim.dump(), kleer_sim.state(), seeded=0)


def test_rising_latency_lowers_the_level_before_anything_is_refused(creates, kleer_sim):
    wb, plan = creates(40)
    limiter = AdaptiveLimiter(8, ceiling=32)
    switched: list[int] = []

    def slower(done: int, total: int, op_id: str) -> None:
        if done == 12:
            switched.append(len(limiter.changes))
            kleer_sim.set_faults(latency_ms=150)

    kleer_sim.set_faults(latency_ms=10)
    with kleer_sim.client() as client:
        result = applying.apply(plan, wb.workspace, client, "Ada", slower, limiter=limiter)
    assert result.counts_dict == {"done": 40} and kleer_sim.state()["fault_answers"] == 0
    after = [c for c in limiter.changes[switched[0]:] if c.reason.startswith("latency rising")]
    assert after and all(c.new < c.old for c in after)
    assert result.concurrency["changes_total"] == len(limiter.changes)


def test_a_pinned_concurrency_is_never_exceeded_and_the_progress_says_so(creates, kleer_sim):
    wb, plan = creates(24)
    kleer_sim.set_faults(latency_ms=30)  # long enough for requests to overlap
    details: list[str] = []
    result = wb.apply(plan, concurrency=3,
                      on_progress=lambda done, total, op_id, detail="": details.append(detail))
    assert result.counts_dict == {"done": 24}
    assert kleer_sim.state()["max_in_flight"] == 3  # reached, never passed
    assert result.concurrency["mode"] == "pinned" and result.concurrency["changes"] == []
    assert set(details) == {"concurrency 3 (pinned)"} and len(details) == 24


def test_the_settings_ceiling_caps_the_adaptive_level_and_the_pin_holds_it(creates, kleer_sim):
    wb, plan = creates(30)
    wb.update_settings(concurrency_ceiling=4)
    kleer_sim.set_faults(latency_ms=30)
    details: list[str] = []
    result = wb.apply(plan, on_progress=lambda d, t, o, detail="": details.append(detail))
    assert result.ok and result.concurrency["mode"] == "adaptive"
    assert result.concurrency["peak"] <= 4 and kleer_sim.state()["max_in_flight"] <= 4
    assert all(d.startswith("concurrency ") and "(adaptive" in d for d in details)
    wb.update_settings(concurrency_pinned=True)
    assert wb.settings.concurrency_pinned is True
    limiter = wb.limiter()
    assert (limiter.level, limiter.summary()["mode"]) == (4, "pinned")
    assert wb.limiter(2).level == 2  # a number given to apply wins over the Settings


def test_the_cli_pins_the_level_with_concurrency_and_prints_it(creates, kleer_sim, tmp_path,
                                                               monkeypatch, capsys):
    wb, plan = creates(12)
    path = wb.workspace.path
    (tmp_path / "plan.json").write_text(plan.to_json(), encoding="utf-8")
    monkeypatch.setenv("KLEER_TOKEN", kleer_sim.token)
    kleer_sim.set_faults(latency_ms=30)
    assert main(["apply", str(tmp_path / "plan.json"), "--workspace", str(path),
                 "--concurrency", "2"]) == 0
    out = capsys.readouterr().out
    assert kleer_sim.state()["max_in_flight"] == 2
    assert "· concurrency 2 (pinned)" in out and "concurrency pinned, ended at 2" in out


def test_the_ceiling_setting_is_checked_and_set_from_the_terminal(wb, capsys):
    from workbench.errors import InputError

    with pytest.raises(InputError, match="between 1 and 64, not 0"):
        wb.update_settings(concurrency_ceiling=0)
    with pytest.raises(InputError, match="whole number"):
        wb.update_settings(concurrency_ceiling="many")
    path = str(wb.workspace.path)
    assert main(["settings", "--workspace", path, "--concurrency-ceiling", "8",
                 "--concurrency-pinned", "yes"]) == 0
    assert "concurrency_ceiling    8" in capsys.readouterr().out
    assert (wb.settings.concurrency_ceiling, wb.settings.concurrency_pinned) == (8, True)
    assert wb.limiter().summary()["mode"] == "pinned" and wb.limiter().level == 8


def test_a_background_apply_adapts_too_and_its_status_carries_the_live_level(creates, kleer_sim):
    wb, plan = creates(20)
    wb.update_settings(concurrency_ceiling=5)
    kleer_sim.set_faults(latency_ms=20)
    started = wb.start_apply(plan, token=kleer_sim.token)
    final = wb.wait_apply(started.batch_id, timeout=60)
    assert final.state == "done" and final.result.counts_dict == {"done": 20}
    assert final.detail.startswith("concurrency ") and "(adaptive" in final.detail
    assert final.result.concurrency["mode"] == "adaptive"
    assert kleer_sim.state()["max_in_flight"] <= 5  # the Settings' ceiling holds here too
