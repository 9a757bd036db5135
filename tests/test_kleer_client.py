"""KleerClient's own logic with httpx.MockTransport: headers, unwrapping, retries, error
translation, and the token kept out of reprs, messages and logs. (The client against the real
simulator over HTTP is in test_kleer_simulator.py.)"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import httpx
import pytest

from workbench.errors import (
    InputError,
    KleerAuthError,
    KleerError,
    KleerRejected,
    KleerUnavailable,
)
from workbench.kleer.client import KleerBadAnswer, KleerClient, Retry
from workbench.kleer.config import KleerConfig, token_from_environment

TOKEN = "s3cret-Token-value-991"
BASE = "https://test-api.kleer.se/v1"


class Recorder:
    """A MockTransport handler answering from a script; records every request."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer


def make(handler, *, attempts=4, **kw) -> tuple[KleerClient, list[float]]:
    sleeps: list[float] = []
    client = KleerClient(base_url=BASE, company_id=42, token=TOKEN,
                         transport=httpx.MockTransport(handler),
                         retries=Retry(attempts=attempts, backoff=0.1, max_backoff=0.4, jitter=0.0),
                         sleep=sleeps.append, **kw)
    return client, sleeps


def ok(payload, status=200, **headers):
    return httpx.Response(status, json=payload, headers=headers)


def error(status, message="nope", **headers):
    return httpx.Response(status, json={"message": message}, headers=headers)


# --------------------------------------------------------------------------- requests

def test_every_request_carries_the_token_and_json_headers_on_the_company_path():
    rec = Recorder(ok({"users": []}), ok({"id": 7}), ok({"id": 7}), ok({"id": 7}))
    client, _ = make(rec)
    client.list_users()
    client.create_user({"name": "A B"})
    client.update_user(7, {"name": "A C"})
    client.upsert_contract(7, {"phone": "+46701234567"})
    assert [(r.method, r.url.path) for r in rec.requests] == [
        ("GET", "/v1/company/42/user"), ("PUT", "/v1/company/42/user"),
        ("POST", "/v1/company/42/user/7"), ("POST", "/v1/company/42/payroll/user/7")]
    for r in rec.requests:
        assert r.headers["X-Token"] == TOKEN
        assert r.headers["Accept"] == "application/json"
        assert r.headers["Content-Type"] == "application/json"
    assert json.loads(rec.requests[3].content) == {"phone": "+46701234567"}


def test_list_answers_are_unwrapped_and_unknown_fields_kept():
    users = [{"id": 1, "name": "A", "shoe-size": 44}]
    contracts = [{"user": {"id": 1}, "ssn": "19850312-1231", "future-field": [1]}]
    rec = Recorder(ok({"users": users}), ok({"payroll-user-readables": contracts}))
    client, _ = make(rec)
    assert client.list_users() == users
    assert client.list_contracts() == contracts


def test_a_list_answer_without_its_key_is_an_empty_list_but_a_wrong_shape_is_an_error():
    client, _ = make(Recorder(ok({})))
    assert client.list_users() == []
    client, _ = make(Recorder(ok({"users": {"id": 1}})))
    with pytest.raises(KleerError, match="no 'users' list"):
        client.list_users()


def test_create_returns_the_new_id_and_never_sends_an_id():
    rec = Recorder(ok({"id": 314}))
    client, _ = make(rec)
    assert client.create_user({"id": 5, "name": "Ny Person", "foreign-id": "E1"}) == 314
    assert json.loads(rec.requests[0].content) == {"name": "Ny Person", "foreign-id": "E1"}


def test_foreign_id_is_escaped_into_the_path():
    rec = Recorder(error(404))
    client, _ = make(rec)
    assert client.find_user_by_foreign_id("HR/12 ä") is None
    assert rec.requests[0].url.raw_path.decode() == "/v1/company/42/user/foreign-id/HR%2F12%20%C3%A4"


def test_404_is_none_for_lookups_and_an_error_for_get_user():
    client, _ = make(Recorder(error(404, "Payroll user 3 not found")))
    assert client.get_contract(3) is None
    assert client.find_user_by_foreign_id("E3") is None
    with pytest.raises(KleerRejected) as e:
        client.get_user(3)
    assert e.value.status == 404 and "(GET /user/3)" in str(e.value)


# --------------------------------------------------------------------------- retries

def test_reads_retry_5xx_with_exponential_backoff_then_succeed():
    rec = Recorder(error(503), error(502), error(500), ok({"id": 1, "name": "Me"}))
    client, sleeps = make(rec)
    assert client.me()["name"] == "Me"
    assert len(rec.requests) == 4
    assert sleeps == pytest.approx([0.1, 0.2, 0.4])


def test_backoff_is_capped_and_jitter_only_adds():
    retry = Retry(backoff=0.5, max_backoff=2.0, jitter=0.25)
    delays = [retry.delay(n) for n in range(1, 8)]
    assert all(0.5 * 2 ** min(n, 2) <= d <= 0.5 * 2 ** min(n, 2) * 1.25
               for n, d in enumerate(delays))


def test_reads_give_up_after_the_attempts_with_the_last_status():
    rec = Recorder(error(503, "Service unavailable"))
    client, sleeps = make(rec, attempts=3)
    with pytest.raises(KleerUnavailable) as e:
        client.list_users()
    assert len(rec.requests) == 3 and len(sleeps) == 2
    assert e.value.status == 503 and not e.value.write_may_have_landed
    assert "3 tries" in str(e.value) and "try again later" in str(e.value)


def test_429_waits_for_retry_after_in_seconds():
    rec = Recorder(error(429, **{"Retry-After": "3"}), ok({"users": []}))
    client, sleeps = make(rec)
    assert client.list_users() == []
    assert sleeps == [3.0]


def test_429_understands_an_http_date_retry_after():
    when = format_datetime(datetime.now(timezone.utc) + timedelta(seconds=5), usegmt=True)
    rec = Recorder(error(429, **{"Retry-After": when}), ok({"users": []}))
    client, sleeps = make(rec)
    client.list_users()
    assert 3.5 <= sleeps[0] <= 5.0


def test_a_retry_after_beyond_the_limit_is_raised_at_once():
    rec = Recorder(error(429, **{"Retry-After": "3600"}))
    client, sleeps = make(rec)
    with pytest.raises(KleerUnavailable, match="limiting requests") as e:
        client.list_users()
    assert sleeps == [] and e.value.status == 429


def test_connection_errors_are_retried_for_reads():
    rec = Recorder(httpx.ConnectError("refused"), httpx.ReadTimeout("slow"), ok({"users": []}))
    client, sleeps = make(rec)
    assert client.list_users() == []
    assert len(sleeps) == 2


def test_an_unreachable_kleer_says_what_to_check():
    client, _ = make(Recorder(httpx.ConnectError("refused")), attempts=2)
    with pytest.raises(KleerUnavailable, match="check the base URL in Settings"):
        client.me()


# --------------------------------------------------------------------------- writes

@pytest.mark.parametrize("failure", [error(500, "Internal Server Error"), error(503), error(504),
                                     httpx.ReadTimeout("slow"),
                                     httpx.RemoteProtocolError("peer closed connection")])
def test_a_write_is_never_retried_once_it_may_have_landed(failure):
    rec = Recorder(failure, ok({"id": 9}))
    client, sleeps = make(rec)
    with pytest.raises(KleerUnavailable) as e:
        client.create_user({"name": "A B", "foreign-id": "E1"})
    assert len(rec.requests) == 1 and sleeps == []
    assert e.value.write_may_have_landed is True
    assert "may have been saved" in str(e.value) and e.value.method == "PUT"


def test_a_refused_or_never_sent_write_is_retried():
    rec = Recorder(error(429, **{"Retry-After": "1"}), httpx.ConnectError("refused"), ok({"id": 9}))
    client, sleeps = make(rec)
    assert client.create_user({"name": "A B"}) == 9
    assert len(rec.requests) == 3 and sleeps[0] == 1.0


@pytest.mark.parametrize("answer", [
    error(500, "Tekniskt fel"),
    httpx.Response(500, text="<?xml version='1.0'?><error><message>Tekniskt fel</message></error>",
                   headers={"content-type": "application/xml"})])
def test_500_tekniskt_fel_on_a_write_is_a_deterministic_rejection_not_may_have_landed(answer):
    rec = Recorder(answer, ok({"id": 9}))
    client, sleeps = make(rec)
    with pytest.raises(KleerRejected) as e:
        client.update_user(3, {"id": 3, "name": "A B", "email": "a@b.se", "active": True})
    assert (e.value.status, e.value.message) == (500, "Tekniskt fel")
    assert not isinstance(e.value, KleerUnavailable) and len(rec.requests) == 1 and sleeps == []


def test_4xx_on_a_write_is_rejected_with_kleers_message():
    client, _ = make(Recorder(error(400, "a payroll contract needs ssn and employment-start-date")))
    with pytest.raises(KleerRejected) as e:
        client.upsert_contract(3, {"phone": "+46701234567"})
    assert e.value.status == 400 and "needs ssn" in e.value.message
    assert not isinstance(e.value, KleerUnavailable)


# --------------------------------------------------------------------------- errors

def test_401_and_403_are_auth_errors_that_say_what_to_fix():
    client, _ = make(Recorder(error(401, "Invalid token")))
    with pytest.raises(KleerAuthError) as e:
        client.me()
    assert e.value.status == 401 and "KLEER_TOKEN" in str(e.value)
    client, _ = make(Recorder(error(403, "No access")))
    with pytest.raises(KleerAuthError) as e:
        client.me()
    assert e.value.status == 403 and "company id" in str(e.value) and "42" in str(e.value)


def test_an_xml_error_body_still_gives_kleers_message():
    xml = "<?xml version='1.0'?><error><message>Tekniskt fel</message></error>"
    client, _ = make(Recorder(httpx.Response(400, text=xml,
                                             headers={"content-type": "application/xml"})))
    with pytest.raises(KleerRejected) as e:
        client.get_user(1)
    assert e.value.message == "Tekniskt fel"


def test_a_non_json_success_points_at_the_base_url():
    client, _ = make(Recorder(httpx.Response(200, text="<html>login</html>",
                                             headers={"content-type": "text/html"})))
    with pytest.raises(KleerBadAnswer, match=r"GET /user/me cannot be read: text/html, not JSON "
                                             r"\(check the base URL"):
        client.me()


# --------------------------------------------------------------------------- the token

def test_the_token_is_not_in_repr_messages_or_logs(caplog):
    echo = error(400, f"bad header X-Token: {TOKEN}")
    rec = Recorder(error(503), httpx.ConnectError("refused"), echo, error(401, TOKEN),
                   httpx.RemoteProtocolError("dropped"))
    client, _ = make(rec)
    caught: list[Exception] = []
    with caplog.at_level(logging.DEBUG):
        for call in (client.me, client.me, lambda: client.create_user({"name": "X"})):
            try:
                call()
            except KleerError as e:
                caught.append(e)
    assert len(caught) == 3 and len(rec.requests) == 5
    assert TOKEN not in repr(client) and TOKEN not in repr(client.config)
    for e in caught:
        assert TOKEN not in str(e) and TOKEN not in repr(e)
        assert all(TOKEN not in str(v) for v in vars(e).values())
    assert "***" in str(caught[1])  # the echoed token was scrubbed, the rest kept
    assert caplog.records, "retries are logged"
    for record in caplog.records:
        assert TOKEN not in record.getMessage()


@pytest.mark.parametrize("token", ["", "   ", "två ord", "tab\there", "åäö-token"])
def test_a_missing_or_malformed_token_is_refused_without_echoing_it(token):
    with pytest.raises(InputError) as e:
        KleerClient(base_url=BASE, company_id=1, token=token)
    assert "token" in str(e.value) and (not token.strip() or token not in str(e.value))


def test_token_from_environment(monkeypatch):
    monkeypatch.setenv("KLEER_TOKEN", "  abc  ")
    assert token_from_environment() == "abc"
    monkeypatch.setenv("KLEER_TOKEN", " ")
    assert token_from_environment() is None
    monkeypatch.delenv("KLEER_TOKEN")
    assert token_from_environment() is None


# --------------------------------------------------------------------------- config

def test_config_normalises_and_validates():
    cfg = KleerConfig("https://api.kleer.se/v1/", "7")
    assert (cfg.base_url, cfg.company_id) == ("https://api.kleer.se/v1", 7)
    assert cfg.company_url == "https://api.kleer.se/v1/company/7"
    assert KleerConfig("http://127.0.0.1:8765/v1", 1).base_url.startswith("http://127")
    with pytest.raises(InputError, match="plain http"):
        KleerConfig("http://api.kleer.se/v1", 1)
    with pytest.raises(InputError, match="must look like"):
        KleerConfig("api.kleer.se", 1)
    with pytest.raises(InputError, match="whole number"):
        KleerConfig("https://api.kleer.se/v1", "abc")


def test_an_injected_httpx_client_is_used_and_left_open():
    rec = Recorder(ok({"users": []}))
    http = httpx.Client(transport=httpx.MockTransport(rec))
    with KleerClient(base_url=BASE, company_id=1, token=TOKEN, client=http) as client:
        client.list_users()
    assert len(rec.requests) == 1 and not http.is_closed
    http.close()


# --------------------------------------------------------------------------- every answer shape

@pytest.mark.parametrize("answer,expected", [
    (ok({"id": 9}), 9),
    (ok({"created": {"id": 9}}), 9),
    (httpx.Response(200, text="<?xml version='1.0'?><created><id>9</id></created>",
                    headers={"content-type": "application/xml"}), 9),
    (ok({"id": "9"}), 9),
    (ok({}), None),
    (httpx.Response(200, content=b""), None),
    (ok({"created": {"id": "abc"}}), None),
    (ok({"saved": None}), None),
    (ok([1, 2]), None),
])
def test_create_reads_every_created_shape_and_none_when_no_id_is_readable(answer, expected):
    client, _ = make(Recorder(answer))
    assert client.create_user({"name": "A B", "foreign-id": "E1"}) == expected


@pytest.mark.parametrize("answer", [httpx.Response(200, content=b""), ok({"saved": {"id": 3}}),
                                    ok({"ok": True}), ok({"id": 3}),
                                    httpx.Response(204, content=b"")])
def test_an_update_succeeds_on_every_success_body(answer):
    client, _ = make(Recorder(answer))
    assert client.update_user(3, {"name": "A B"}) is None
    assert client.upsert_contract(3, {"phone": "1"}) is None


@pytest.mark.parametrize("payload,problem", [
    ({"users": [{"name": "No Id"}]}, "users[0] has no 'id'"),
    ({"users": [{"id": 1}, {"id": "abc"}]}, "users[1] has 'id' \"abc\", not a whole number"),
    ({"users": [None]}, "users[0] is null, not an object"),
    ({"users": [{"id": 1.5}]}, "users[0] has 'id' 1.5, not a whole number"),
    ({"users": [{"id": True}]}, "users[0] has 'id' true, not a whole number"),
    ({"users": [{"id": 2**70}]}, "not a whole number"),
    ({"users": {"id": 1}}, "no 'users' list"),
    ({"user": []}, "no 'users' list (keys user)"),
    ([{"id": 1}], "no 'users' list (list)"),
])
def test_a_malformed_user_list_is_one_readable_kleer_error(payload, problem):
    client, _ = make(Recorder(ok(payload)))
    with pytest.raises(KleerBadAnswer) as e:
        client.list_users()
    assert problem in str(e.value) and "GET /user" in str(e.value)
    assert isinstance(e.value, KleerError) and "\n" not in str(e.value)


def test_a_malformed_contract_or_single_answer_is_a_kleer_error():
    client, _ = make(Recorder(ok({"payroll-user-readables": [{"user": {"id": "x"}}]})))
    with pytest.raises(KleerBadAnswer, match=r"payroll-user-readables\[0\] has a 'user' without"):
        client.list_contracts()
    client, _ = make(Recorder(ok({"name": "no id"})))
    with pytest.raises(KleerBadAnswer, match="GET /user/3 cannot be read: the answer has no 'id'"):
        client.get_user(3)
    client, _ = make(Recorder(httpx.Response(200, content=b"null")))
    with pytest.raises(KleerBadAnswer, match="the answer is null"):
        client.me()
    client, _ = make(Recorder(httpx.Response(200, content=b"")))
    with pytest.raises(KleerBadAnswer, match="not JSON"):  # an empty read is not success
        client.get_contract(3)


def test_ids_sent_as_digit_strings_become_ints():
    client, _ = make(Recorder(ok({"users": [{"id": "7", "name": "A"}]})))
    assert client.list_users() == [{"id": 7, "name": "A"}]


@pytest.mark.parametrize("depth", [40, 100_000])
def test_deeply_nested_json_is_a_kleer_error_not_a_recursion_error(depth):
    body = b'{"users": ' + b"[" * depth + b"]" * depth + b"}"
    client, _ = make(Recorder(httpx.Response(200, content=body,
                                             headers={"content-type": "application/json"})))
    with pytest.raises(KleerBadAnswer, match="nested deeper than 32 levels"):
        client.list_users()


@pytest.mark.parametrize("status", [400, 500])
def test_no_contract_is_recognised_by_the_dialects_status_without_retrying(status):
    rec = Recorder(error(status, "Tekniskt fel"))
    client, sleeps = make(rec, dialect={"name": "strict", "no_contract_status": status})
    assert client.get_contract(5) is None
    assert len(rec.requests) == 1 and sleeps == []
    plain, _ = make(Recorder(error(status, "Tekniskt fel")), attempts=1)
    with pytest.raises(KleerError):  # without the dialect it stays an error
        plain.get_contract(5)


def test_update_user_full_sends_the_whole_user_without_nulls():
    rec = Recorder(httpx.Response(200, content=b""))
    client, _ = make(rec)
    current = {"id": 3, "foreign-id": "E3", "name": "A B", "email": "a@b.se", "active": True,
               "internal-id": 1003, "dimension-entry": {"id": 77}}
    client.update_user_full(current, {"active": False, "internal-id": None})
    sent = json.loads(rec.requests[0].content)
    assert rec.requests[0].url.path.endswith("/company/42/user/3")
    assert sent == {"id": 3, "foreign-id": "E3", "name": "A B", "email": "a@b.se",
                    "active": False, "internal-id": 1003}
    with pytest.raises(ValueError, match="must carry email"):
        client.update_user_full({"id": 3, "name": "A B", "active": True}, {})


# --------------------------------------------------------------------------- the token file

def test_the_token_file_must_be_private(tmp_path):
    from workbench.kleer.config import token_from_file

    path = tmp_path / "token"
    path.write_text("file-token-123\n")
    path.chmod(0o644)
    with pytest.raises(InputError, match="can be read by others.*chmod 600"):
        token_from_file(path)
    path.chmod(0o600)
    assert token_from_file(path) == "file-token-123"
    with pytest.raises(InputError, match="cannot read the token file"):
        token_from_file(tmp_path / "missing")


# --------------------------------------------------------------------------- the limiter's hook

class Gate:
    """A limiter that records what the client tells it (the :class:`Limiter` protocol)."""

    def __init__(self, log):
        self.log, self.level = log, 4

    def acquire(self):
        self.log.append("acquire")

    def release(self, status, seconds, retry_after=None):
        self.log.append(("release", status, seconds is not None, retry_after))


def test_every_attempt_passes_the_gate_and_a_429_is_waited_out_there_not_slept_again():
    log: list = []

    def handler(request):
        log.append("sent")
        return rec(request)

    rec = Recorder(error(429, **{"Retry-After": "3"}), error(503), ok({"id": 9}))
    client, sleeps = make(handler, limiter=Gate(log))
    assert client.get_user(9) == {"id": 9}
    assert log == ["acquire", "sent", ("release", 429, True, 3.0),
                   "acquire", "sent", ("release", 503, True, None),
                   "acquire", "sent", ("release", 200, True, None)]
    # the 429's Retry-After is the limiter's pause for the whole client: no sleep of its own;
    # the 503's backoff is slept outside the gate (released before, acquired after)
    assert sleeps == [0.1]


def test_429s_under_a_limiter_keep_the_attempts_for_failures():
    log: list = []
    rec = Recorder(*[error(429, **{"Retry-After": "1"})] * 6, ok({"users": []}))
    client, sleeps = make(rec, attempts=2, limiter=Gate(log))
    assert client.list_users() == [] and len(rec.requests) == 7 and sleeps == []
    # a list's time says nothing of Kleer's load: its latency is not judged
    assert all(entry[2] is False for entry in log if entry != "acquire")
    # ... but not for ever: past Retry.rate_limited, a 429 uses up the attempts as without one
    rec, sleeps = Recorder(error(429, **{"Retry-After": "1"})), []
    client = KleerClient(base_url=BASE, company_id=42, token=TOKEN, sleep=sleeps.append,
                         transport=httpx.MockTransport(rec), limiter=Gate([]),
                         retries=Retry(attempts=2, rate_limited=3, jitter=0.0))
    with pytest.raises(KleerUnavailable, match="limiting requests"):
        client.list_users()
    assert len(rec.requests) == 3 + 2 and sleeps == [1.0]


def test_a_lost_answer_is_released_as_no_answer_and_the_clone_shares_the_pool():
    log: list = []
    rec = Recorder(httpx.ReadError("reset"), ok({"users": []}))
    client, _ = make(rec)
    gated = client.with_limiter(Gate(log))
    assert client.limiter is None and gated.limiter is not None
    assert gated.list_users() == []
    assert log == ["acquire", ("release", None, False, None), "acquire",
                   ("release", 200, False, None)]
    gated.close()  # the clone does not own the pool: the original still works
    assert client.list_users() == []


@pytest.mark.parametrize("item", [
    b'{"id": 1, "name": "\\u00c5sa", "salary": 1.5, "nested": {"a": [1, {"b": null}]}}',
    b'{"id": 2, "big": 1180591620717411303424}',  # beyond 64 bits
    b'{"id": 3, "score": NaN, "inf": -Infinity}',
    b'{"id": 4, "name": "lone \\ud800 surrogate"}',
    b'{"id": 5, "name": "first", "name": "last"}',  # the last of a repeated key
])
def test_list_answers_are_read_exactly_as_json_reads_them(item):
    """Every answer means what json.loads makes of it (a faster parser was tried and read
    integers beyond 64 bits as floats: this keeps any such swap honest)."""
    body = b'{"users": [' + item + b"]}"
    client, _ = make(Recorder(httpx.Response(200, content=body,
                                             headers={"content-type": "application/json"})))
    got = client.list_users()
    assert json.dumps(got) == json.dumps(json.loads(body)["users"])  # NaN == NaN as text


def test_an_answer_that_is_not_json_still_names_itself():
    client, _ = make(Recorder(httpx.Response(200, content=b'{"users": [1,',
                                             headers={"content-type": "application/json"})))
    with pytest.raises(KleerBadAnswer, match="application/json, not JSON"):
        client.list_users()
