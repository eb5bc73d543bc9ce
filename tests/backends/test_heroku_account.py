"""One Heroku budget per API key: shared formation lists, batched updates, pacing, status.

Everything runs the real Heroku client against the project's Heroku emulator
on loopback. The account's clock (and the emulator's, for its token regain)
is a list the test moves; threads are joined with a bound.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import httpx
import pytest

from autoscalebot.backends import heroku_account
from autoscalebot.backends.base import ScalerError
from autoscalebot.backends.heroku import HerokuScaler
from autoscalebot.backends.heroku_account import HerokuAccount, RequestBudget
from autoscalebot.config import build_settings
from autoscalebot.emulator.heroku import HerokuEmulator

KEY = "acct-planted-key-81c4e2"
PATIENCE = 30.0  # seconds any thread of a test may take


@pytest.fixture
def now() -> list[float]:
    return [1000.0]


@pytest.fixture
def heroku(now: list[float]) -> Iterator[HerokuEmulator]:
    with HerokuEmulator(api_key=KEY, clock=lambda: now[0]) as emulator:
        emulator.add_app("shop", formation={"web": 2, "worker": 1, "urgent": 3})
        emulator.add_app("blog", formation={"web": 1, "worker": 0})
        yield emulator


def settings(url: str, app: str, process_type: str, key: str = KEY):
    return build_settings(
        {
            "HEROKU_APP_NAME": app,
            "HEROKU_API_KEY": key,
            "HEROKU_API_URL": url,
            "PROCESS_TYPE": process_type,
        }
    )


def scalers(account: HerokuAccount, url: str, *formations: str) -> dict[str, HerokuScaler]:
    """``"shop/web"`` -> a scaler of that formation on ``account``."""
    return {
        name: HerokuScaler(settings(url, *name.split("/")), account=account) for name in formations
    }


def gets(heroku: HerokuEmulator, path: str) -> int:
    return sum(1 for r in heroku.requests if r.method == "GET" and r.path == path)


def run_together(calls: dict[str, object]) -> dict[str, object]:
    """Run every call on its own thread, started at once; name -> result or exception."""
    results: dict[str, object] = {}
    start = threading.Barrier(len(calls))

    def run(name: str, call) -> None:
        start.wait(PATIENCE)
        try:
            results[name] = call()
        except Exception as exc:  # noqa: BLE001 - handed to the test
            results[name] = exc

    threads = [threading.Thread(target=run, args=item, daemon=True) for item in calls.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(PATIENCE)
    assert not any(t.is_alive() for t in threads), "a call was still running"
    return results


# ---- one formation list per app ----


def test_process_types_of_one_app_share_one_formation_list_per_period(heroku, now):
    account = HerokuAccount(heroku.url, KEY, clock=lambda: now[0])
    shop = scalers(account, heroku.url, "shop/web", "shop/worker", "shop/urgent")
    assert {name: s.current() for name, s in shop.items()} == {
        "shop/web": 2,
        "shop/worker": 1,
        "shop/urgent": 3,
    }
    assert gets(heroku, "/apps/shop/formation") == 1
    assert [r.path for r in heroku.requests] == ["/apps/shop/formation"]

    heroku.set_quantity("shop", "worker", 4)  # by hand, on the dashboard
    now[0] += account.refresh_interval() + 0.1
    assert shop["shop/worker"].current() == 4
    assert shop["shop/web"].current() == 2
    assert gets(heroku, "/apps/shop/formation") == 2
    assert shop["shop/web"].budget()["shared_reads"] == 3


def test_simultaneous_reads_of_one_app_send_one_request(heroku, now):
    account = HerokuAccount(heroku.url, KEY, clock=lambda: now[0])
    shop = scalers(account, heroku.url, "shop/web", "shop/worker", "shop/urgent")
    heroku.set_latency(0.2)  # the first read is still in flight when the others ask
    results = run_together({name: s.current for name, s in shop.items()})
    assert results == {"shop/web": 2, "shop/worker": 1, "shop/urgent": 3}
    assert gets(heroku, "/apps/shop/formation") == 1


def test_a_lone_process_type_reads_its_own_formation(heroku, now):
    account = HerokuAccount(heroku.url, KEY, clock=lambda: now[0])
    (web,) = scalers(account, heroku.url, "blog/web").values()
    assert web.current() == 1
    assert [r.path for r in heroku.requests] == ["/apps/blog/formation/web"]


def test_a_read_after_a_scale_never_answers_from_before_it(heroku, now):
    account = HerokuAccount(heroku.url, KEY, clock=lambda: now[0])
    shop = scalers(account, heroku.url, "shop/web", "shop/worker")
    assert shop["shop/web"].current() == 2 and shop["shop/worker"].current() == 1
    assert shop["shop/web"].scale_to(5) == 5
    assert shop["shop/web"].current() == 5  # the confirming read went to Heroku
    assert shop["shop/worker"].current() == 1  # and the others share it
    assert gets(heroku, "/apps/shop/formation") == 2


def test_readiness_of_one_app_shares_one_dyno_list_and_a_repeat_reads_again(heroku, now):
    account = HerokuAccount(heroku.url, KEY, clock=lambda: now[0])
    shop = scalers(account, heroku.url, "shop/web", "shop/worker", "shop/urgent")
    lists_only = shop["shop/web"].min_refresh_seconds()
    assert [s.readiness() for s in shop.values()] == [(2, 0), (1, 0), (3, 0)]
    assert gets(heroku, "/apps/shop/dynos") == 1
    heroku.crash_dyno("shop", "web.1")
    assert shop["shop/web"].readiness() == (1, 0)  # its own second ask reads anew
    assert gets(heroku, "/apps/shop/dynos") == 2
    # A refresh round now reads two lists of the app: the period doubles.
    assert shop["shop/web"].min_refresh_seconds() == pytest.approx(2 * lists_only)


# ---- one batch update per app ----


def test_two_process_types_scaled_at_once_go_out_as_one_batch(heroku, now):
    account = HerokuAccount(heroku.url, KEY, clock=lambda: now[0], batch_window=5.0)
    shop = scalers(account, heroku.url, "shop/web", "shop/worker")
    results = run_together(
        {
            "web": lambda: shop["shop/web"].scale_to(4),
            "worker": lambda: shop["shop/worker"].scale_to(2),
        }
    )
    assert results == {"web": 4, "worker": 2}
    (patch,) = heroku.patches("shop")
    assert sorted(patch["updates"], key=lambda u: u["type"]) == [
        {"type": "web", "quantity": 4},
        {"type": "worker", "quantity": 2},
    ]
    assert (heroku.quantity("shop", "web"), heroku.quantity("shop", "worker")) == (4, 2)


def test_a_lone_scale_is_a_single_update(heroku, now):
    account = HerokuAccount(heroku.url, KEY, clock=lambda: now[0], batch_window=0.01)
    shop = scalers(account, heroku.url, "shop/web", "shop/worker")
    assert shop["shop/worker"].scale_to(3) == 3
    assert heroku.patches("shop") == [{"quantity": 3}]
    assert [r.path for r in heroku.requests] == ["/apps/shop/formation/worker"]


def test_a_batch_heroku_refuses_for_one_type_still_scales_the_other(heroku, now):
    heroku.add_app("tiny", formation={"web": 1, "worker": 0}, size="eco")
    account = HerokuAccount(heroku.url, KEY, clock=lambda: now[0], batch_window=5.0)
    tiny = scalers(account, heroku.url, "tiny/web", "tiny/worker")
    results = run_together(
        {
            "web": lambda: tiny["tiny/web"].scale_to(2),
            "worker": lambda: tiny["tiny/worker"].scale_to(1),
        }
    )
    assert results["worker"] == 1 and heroku.quantity("tiny", "worker") == 1
    refused = results["web"]
    assert isinstance(refused, ScalerError) and refused.kind == "invalid"
    assert "web" in str(refused) and heroku.quantity("tiny", "web") == 1


# ---- pacing ----


def test_refreshes_leave_room_for_scaling_and_slow_as_the_pool_runs_low(now):
    budget = RequestBudget(lambda: now[0])
    assert budget.refresh_rate() == 4500 * 0.75  # a quarter left to scaling and the user
    for _ in range(900):
        budget.record("scale")
    assert budget.refresh_rate() == 4500 * 0.75 - 900  # scaling comes first
    now[0] += 3600
    assert budget.refresh_rate() == 4500 * 0.75
    budget.saw_remaining(562)  # half the reserve (1125) left: refreshes at half pace
    assert budget.refresh_rate() == pytest.approx(4500 * 0.75 * 562 / 1125)
    now[0] += 451  # Heroku regains 75 a minute: the pace comes back with the pool
    assert budget.refresh_rate() == 4500 * 0.75


def test_min_refresh_seconds_counts_apps_not_process_types(heroku, now):
    account = HerokuAccount(heroku.url, KEY, clock=lambda: now[0])
    shop = scalers(account, heroku.url, "shop/web", "shop/worker", "shop/urgent")
    one_app = shop["shop/web"].min_refresh_seconds()
    assert one_app == pytest.approx(3600 / 3375)
    scalers(account, heroku.url, "blog/web")
    assert shop["shop/web"].min_refresh_seconds() == pytest.approx(2 * one_app)


def test_a_low_rate_limit_remaining_slows_refreshes_before_any_429(heroku, now):
    account = HerokuAccount(heroku.url, KEY, clock=lambda: now[0])
    shop = scalers(account, heroku.url, "shop/web", "shop/worker")
    shop["shop/web"].current()
    roomy = shop["shop/web"].min_refresh_seconds()
    for _ in range(10):  # the engine asks every 2 s: every ask reads while the pool is full
        now[0] += 2
        shop["shop/web"].current()
    assert gets(heroku, "/apps/shop/formation") == 11

    heroku.set_rate_limit_remaining(150)  # the user's own tools emptied the pool
    shop["shop/web"].current()  # (still fresh: no request)
    now[0] += 2
    shop["shop/web"].current()  # this answer says 149 left
    low = shop["shop/web"].min_refresh_seconds()
    assert low > 5 * roomy
    before = gets(heroku, "/apps/shop/formation")
    for _ in range(10):
        now[0] += 2
        shop["shop/web"].current()
        shop["shop/worker"].current()
    assert gets(heroku, "/apps/shop/formation") - before <= 3
    assert all(r.status != 429 for r in heroku.requests)
    # A scale is never held back by the pacing, nor is the read that confirms it.
    assert shop["shop/web"].scale_to(3) == 3 and shop["shop/web"].current() == 3


def test_the_read_right_before_a_scale_is_never_paced(heroku, now):
    account = HerokuAccount(heroku.url, KEY, clock=lambda: now[0])
    shop = scalers(account, heroku.url, "shop/web", "shop/worker")
    heroku.set_rate_limit_remaining(150)
    assert shop["shop/web"].current() == 2
    assert shop["shop/web"].min_refresh_seconds() > 5
    heroku.set_quantity("shop", "web", 5)  # by hand
    now[0] += 2
    assert shop["shop/web"].current() == 2  # a refresh this soon gets the last list
    assert shop["shop/web"].current_fresh() == 5
    assert shop["shop/worker"].current() == 1 and gets(heroku, "/apps/shop/formation") == 2


def test_a_429_backs_off_every_formation_on_the_key_then_calls_again(heroku, now):
    account = HerokuAccount(heroku.url, KEY, clock=lambda: now[0])
    shop = scalers(account, heroku.url, "shop/web", "shop/worker")
    (blog,) = scalers(account, heroku.url, "blog/web").values()
    heroku.set_rate_limit_remaining(0)
    with pytest.raises(ScalerError) as first:
        shop["shop/web"].current()
    assert first.value.kind == "rate_limited" and first.value.retry_after == 60
    sent = len(heroku.requests)
    now[0] += 30
    for call in (shop["shop/worker"].current, blog.current, lambda: blog.scale_to(2)):
        with pytest.raises(ScalerError) as quiet:
            call()
        assert quiet.value.kind == "rate_limited" and quiet.value.retry_after == pytest.approx(30)
    assert len(heroku.requests) == sent  # nothing was sent during the back-off
    assert blog.budget()["backoff_s"] == pytest.approx(30)
    now[0] += 31  # the pool has regained 75 requests
    assert blog.current() == 1 and shop["shop/worker"].current() == 1


def test_retry_after_is_honoured(now):
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            429,
            headers={"Retry-After": "7", "RateLimit-Remaining": "0"},
            json={"id": "rate_limit", "message": "Your account reached the API rate limit"},
        )

    client = httpx.Client(transport=httpx.MockTransport(handler))
    scaler = HerokuScaler(
        settings("https://api.heroku.com", "shop", "web"), client=client, clock=lambda: now[0]
    )
    with pytest.raises(ScalerError) as limited:
        scaler.current()
    assert (limited.value.kind, limited.value.retry_after) == ("rate_limited", 7)
    assert scaler.budget()["backoff_s"] == 7
    scaler.close()


# ---- status ----


def test_budget_reports_what_the_process_spends_on_the_key(heroku, now):
    account = HerokuAccount(heroku.url, KEY, clock=lambda: now[0])
    shop = scalers(account, heroku.url, "shop/web", "shop/worker")
    (blog,) = scalers(account, heroku.url, "blog/web").values()
    assert blog.budget()["remaining"] is None  # nothing asked yet
    shop["shop/web"].current()
    blog.current()
    blog.scale_to(2)
    blog.current()
    blog.app_url()
    report = shop["shop/worker"].budget()
    assert report == {
        "used_last_hour": len(heroku.requests),
        "limit": 4500,
        "remaining": heroku.rate_limit_remaining(),
        "formations": 3,
        "apps": 2,
        "refresh_every_s": round(shop["shop/web"].min_refresh_seconds(), 1),
        "shared_reads": 0,
        "backoff_s": 0.0,
    }
    assert report["used_last_hour"] == 5
    now[0] += 3601
    assert blog.budget()["used_last_hour"] == 0
    assert KEY not in repr(report) + repr(account)


# ---- one account per key in the process ----


def test_scalers_on_one_key_share_one_account_closed_with_the_last(heroku):
    def mine() -> list[HerokuAccount]:
        return [a for a in heroku_account.accounts() if a.base_url == heroku.url]

    web = HerokuScaler(settings(heroku.url, "shop", "web"))
    worker = HerokuScaler(settings(heroku.url, "shop", "worker"))
    other_key = HerokuScaler(settings(heroku.url, "shop", "urgent", key="another-key-4410"))
    assert len(mine()) == 2
    assert web.budget()["formations"] == 2 and other_key.budget()["formations"] == 1
    assert web.current() == 2 and worker.current() == 1
    assert worker.budget()["used_last_hour"] == 1  # one list for both
    assert KEY not in repr(heroku_account.accounts())
    web.close()
    web.close()  # twice is harmless
    assert worker.current() == 1
    worker.close()
    other_key.close()
    assert mine() == []


def test_many_threads_scaling_and_reading_stay_consistent(heroku):
    names = ["shop/web", "shop/worker", "shop/urgent", "blog/web", "blog/worker"]
    built = {n: HerokuScaler(settings(heroku.url, *n.split("/"))) for n in names}
    reads = {n: 0 for n in names}

    def work(name: str) -> list[int]:
        scaler, seen = built[name], []
        for i in range(20):
            seen.append(scaler.current())
            reads[name] += 1
            if i % 5 == 4:
                wanted = (i // 5) + 1
                assert scaler.scale_to(wanted) == wanted
                assert scaler.current() == wanted
                seen.append(wanted)
        return seen

    try:
        results = run_together({n: (lambda n=n: work(n)) for n in names})
        problems = {n: r for n, r in results.items() if isinstance(r, Exception)}
        assert problems == {}
        for name in names:
            app, process_type = name.split("/")
            assert heroku.quantity(app, process_type) == 4 == results[name][-1]
        formation_gets = sum(1 for r in heroku.requests if r.method == "GET")
        assert formation_gets < sum(reads.values()) + 20  # lists were shared
        assert built["shop/web"].budget()["used_last_hour"] == len(heroku.requests)
    finally:
        for scaler in built.values():
            scaler.close()
