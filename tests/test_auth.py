"""POST /api/v1/auth (seed 004) and strict JWT checks on every merchant route."""

from __future__ import annotations

import base64
import json
import time

import jwt
import pytest

from chalicelib.auth.tokens import ALGORITHM, ISSUER, TokenKind

SIGNING_KEY = "test-signing-key-that-is-long-enough-for-hs256"
AUTH_FIELDS = {"access_token", "access_token_claims", "access_token_expires_in", "access_token_expires_at",
               "refresh_token", "refresh_token_expires_in", "refresh_token_expires_at"}


def claims(merchant_id: str, **overrides):
    now = int(time.time())
    return {"iss": ISSUER, "aud": TokenKind.ACCESS.value, "sub": merchant_id, "iat": now, "exp": now + 600, **overrides}


def list_with(api, token: str):
    return api.call("GET", "/api/v1/receipts", headers={"authorization": f"Bearer {token}"})


def test_api_key_and_refresh_token_give_every_seed_field(api, merchant):
    by_key = api.call("POST", "/api/v1/auth", {"api_key": merchant["api_key"], "api_secret": merchant["api_secret"]})
    assert by_key.status_code == 200 and set(by_key.json) == AUTH_FIELDS
    body = by_key.json
    assert body["access_token_claims"]["sub"] == merchant["merchant_id"]
    assert body["access_token_expires_at"] - body["access_token_expires_in"] == body["access_token_claims"]["iat"]
    header = json.loads(base64.urlsafe_b64decode(body["access_token"].split(".")[0] + "=="))
    assert header["alg"] == "HS256"
    refreshed = api.call("POST", "/api/v1/auth", {"refresh_token": body["refresh_token"]})
    assert refreshed.status_code == 200 and set(refreshed.json) == AUTH_FIELDS
    assert list_with(api, refreshed.json["access_token"]).status_code == 200


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")  # HS512 with an HS256 key, on purpose
@pytest.mark.parametrize("case", ["expired", "tampered", "alg_none", "wrong_audience", "refresh_as_access",
                                  "edge_as_access", "wrong_key", "no_exp", "no_sub", "garbage", "hs512"])
def test_bad_tokens_are_401(api, merchant, case):
    mid = merchant["merchant_id"]
    if case == "expired":
        token = jwt.encode(claims(mid, iat=int(time.time()) - 7200, exp=int(time.time()) - 3600), SIGNING_KEY, ALGORITHM)
    elif case == "tampered":
        head, payload, sig = jwt.encode(claims(mid), SIGNING_KEY, ALGORITHM).split(".")
        forged = base64.urlsafe_b64encode(json.dumps(claims("someone-else")).encode()).rstrip(b"=").decode()
        token = ".".join((head, forged, sig))
    elif case == "alg_none":
        token = jwt.encode(claims(mid), None, algorithm="none")
    elif case == "wrong_audience":
        token = jwt.encode(claims(mid, aud="someone-else"), SIGNING_KEY, ALGORITHM)
    elif case == "refresh_as_access":
        token = api.call("POST", "/api/v1/auth", {"api_key": merchant["api_key"],
                                                  "api_secret": merchant["api_secret"]}).json["refresh_token"]
    elif case == "edge_as_access":
        token = jwt.encode(claims(mid, aud=TokenKind.EDGE.value), SIGNING_KEY, ALGORITHM)
    elif case == "wrong_key":
        token = jwt.encode(claims(mid), "another-key-that-is-long-enough-for-hs256!", ALGORITHM)
    elif case == "no_exp":
        token = jwt.encode({k: v for k, v in claims(mid).items() if k != "exp"}, SIGNING_KEY, ALGORITHM)
    elif case == "no_sub":
        token = jwt.encode({k: v for k, v in claims(mid).items() if k != "sub"}, SIGNING_KEY, ALGORITHM)
    elif case == "hs512":
        token = jwt.encode(claims(mid), SIGNING_KEY, "HS512")
    else:
        token = "not.a.jwt"
    r = list_with(api, token)
    assert r.status_code == 401 and r.json["code"] == "E_AUTHENTICATION", (case, r.body)


@pytest.mark.parametrize("body", [{"api_key": "key_x", "api_secret": "nope"}, {"refresh_token": "x.y.z"},
                                  {"api_key": "k"}, {"api_key": "k", "api_secret": "s", "refresh_token": "r"}])
def test_bad_credentials(api, merchant, body):
    r = api.call("POST", "/api/v1/auth", body)
    assert r.status_code in (400, 401) and r.json["code"] in ("E_AUTHENTICATION", "E_FAILED_SCHEMA_VALIDATION")


def test_secrets_are_stored_hashed_and_never_logged(api, merchant, capsys):
    from chalicelib.aws import clients as aws
    from chalicelib.core.settings import settings

    wrong = dict(api_key=merchant["api_key"], api_secret=merchant["api_secret"] + "x")
    api.call("POST", "/api/v1/auth", wrong)
    api.call("POST", "/api/v1/auth", {"api_key": merchant["api_key"], "api_secret": merchant["api_secret"]})
    logged = capsys.readouterr()
    assert merchant["api_secret"] not in logged.out + logged.err
    assert merchant["api_secret"][:-1] not in logged.out + logged.err
    items = aws.client("dynamodb").scan(TableName=settings().table("tenants"))["Items"]
    assert merchant["api_secret"] not in json.dumps(items), "only a digest of the secret is stored"
