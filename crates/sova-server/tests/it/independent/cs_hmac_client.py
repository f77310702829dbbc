#!/usr/bin/env python3
"""An independent Cs-* client (Python standard library only), written from seed 004 and spec/hmac.md.

Reads SOVA_URL, CS_ACCESS_KEY, CS_SECRET_KEY, CS_PASSPHRASE from the environment, makes a few signed requests and
prints one JSON line per request: {"name", "status", "body"}.
"""
import base64
import hashlib
import hmac
import json
import os
import time
import urllib.error
import urllib.request

BASE = os.environ["SOVA_URL"]
KEY = os.environ["CS_ACCESS_KEY"]
SECRET = os.environ["CS_SECRET_KEY"]
PASS = os.environ["CS_PASSPHRASE"]


def signature(prehash: bytes) -> str:
    return base64.b64encode(hmac.new(SECRET.encode(), prehash, hashlib.sha256).digest()).decode()


def call(name, method, target, body=b"", form="pipe"):
    ts = str(int(time.time()))
    if form == "pipe":
        prehash = f"{ts}|{method}|{target}|".encode() + body
    else:  # the document's prose: plain concatenation
        prehash = f"{ts}{method}{target}".encode() + body
    req = urllib.request.Request(BASE + target, data=body or None, method=method)
    req.add_header("Cs-Access-Key", KEY)
    req.add_header("Cs-Signature", signature(prehash))
    req.add_header("Cs-Timestamp", ts)
    req.add_header("Cs-Passphrase", PASS)
    if body:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req) as r:
            status, data = r.status, r.read()
    except urllib.error.HTTPError as e:
        status, data = e.code, e.read()
    print(json.dumps({"name": name, "status": status, "body": json.loads(data)}))


# A body with unusual spacing and key order: the server must verify these exact bytes.
user = b'{ "last_name":"Hmac",  "first_name":"Py", "email":"py@example.com",\n "user_type":"individual" }'
call("create_user", "POST", "/sovx/v1/users", user)
call("list_users_query", "GET", "/sovx/v1/users?filter%5Blimit%5D=5&filter[sort]=created_at%20DESC")
call("concat_form", "GET", "/sovx/v1/users?filter[limit]=2", form="concat")
