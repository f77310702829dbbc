#!/usr/bin/env python3
"""An independent exchange client built from the vendor's rules with PyPI `eth-account` and the standard library.

Environment: SOVA_URL, CHAIN_ID, MASTER_KEY (0x hex private key of a funded master wallet), ACCOUNT_ID.
It registers an API key (AddAPIKey typed data signed by the master), places a limit order signed by that key,
cancels it, and revokes the key (revokeAPIKey signed by the master), printing one JSON line per answer:
{"step": ..., "status": <HTTP status>, "body": <envelope>}.
Nothing is shared with Sova's Rust code: payloads are `json.dumps(..., separators=(",", ":"))` in the vendor's field
order, hashed with eth_utils.keccak, and the EIP-712 data is encoded and signed by eth-account.

Exit status 3 (with a message on stderr) when eth-account is not installed.
"""

import json
import os
import sys
import time
import urllib.error
import urllib.request

try:
    from eth_account import Account
    from eth_utils import keccak
except ImportError as e:  # pragma: no cover
    print(f"eth-account is not installed ({e}); run: pip install eth-account", file=sys.stderr)
    sys.exit(3)

URL = os.environ["SOVA_URL"].rstrip("/")
CHAIN_ID = int(os.environ.get("CHAIN_ID", "286623"))
MASTER = Account.from_key(os.environ["MASTER_KEY"])
ACCOUNT_ID = int(os.environ["ACCOUNT_ID"])
API = Account.create()
NAME = "py-bot"

DOMAIN_TYPE = [
    {"name": "name", "type": "string"},
    {"name": "version", "type": "string"},
    {"name": "chainId", "type": "uint256"},
    {"name": "verifyingContract", "type": "address"},
]
_last = [0]


def nonce():
    _last[0] = max(int(time.time() * 1000), _last[0] + 1)
    return _last[0]


def domain(name):
    return {"name": name, "version": "1", "chainId": CHAIN_ID,
            "verifyingContract": "0x0000000000000000000000000000000000000000"}


def wire(sig, type_byte):
    v = sig.v - 27 if sig.v >= 27 else sig.v
    return "0x" + (bytes([type_byte]) + sig.r.to_bytes(32, "big") + sig.s.to_bytes(32, "big") + bytes([v])).hex()


def send(step, method, path, body, headers):
    req = urllib.request.Request(URL + path, data=body.encode(), method=method,
                                 headers={"Content-Type": "application/json", **headers})
    try:
        with urllib.request.urlopen(req) as r:
            status, text = r.status, r.read()
    except urllib.error.HTTPError as e:
        status, text = e.code, e.read()
    print(json.dumps({"step": step, "status": status, "body": json.loads(text)}), flush=True)


def action(step, account, domain_name, action_type, method, path, params, key_name=None):
    body = json.dumps(params, separators=(",", ":"))
    payload = '{"type":"%s","params":%s}' % (action_type, body)
    n = nonce()
    typed = {
        "types": {"EIP712Domain": DOMAIN_TYPE,
                  "ExchangeAction": [{"name": "payloadHash", "type": "bytes32"}, {"name": "nonce", "type": "uint64"}]},
        "primaryType": "ExchangeAction",
        "domain": domain(domain_name),
        "message": {"payloadHash": keccak(text=payload), "nonce": n},
    }
    sig = Account.sign_typed_data(account.key, full_message=typed)
    headers = {"X-API-Sign": wire(sig, 0x02 if domain_name == "universal" else 0x01), "X-API-Nonce": str(n),
               "X-API-Chain": str(CHAIN_ID)}
    if key_name:
        headers["X-API-Key"] = key_name
    send(step, method, path, body, headers)


def add_api_key():
    n = nonce()
    typed = {
        "types": {"EIP712Domain": DOMAIN_TYPE,
                  "AddAPIKey": [{"name": "accountID", "type": "uint64"}, {"name": "name", "type": "string"},
                                {"name": "keyType", "type": "uint8"}, {"name": "publicKey", "type": "bytes"},
                                {"name": "expiresAt", "type": "uint64"}, {"name": "nonce", "type": "uint64"}]},
        "primaryType": "AddAPIKey",
        "domain": domain("universal"),
        "message": {"accountID": ACCOUNT_ID, "name": NAME, "keyType": 1, "publicKey": bytes.fromhex(API.address[2:]),
                    "expiresAt": 0, "nonce": n},
    }
    sig = Account.sign_typed_data(MASTER.key, full_message=typed)
    body = json.dumps({"accountID": ACCOUNT_ID, "name": NAME, "type": 1, "publicKey": API.address, "expiresAt": 0},
                      separators=(",", ":"))
    send("addAPIKey", "POST", f"/api/v1/user/{MASTER.address}/api-keys", body,
         {"X-API-Sign": wire(sig, 0x02), "X-API-Nonce": str(n), "X-API-Chain": str(CHAIN_ID)})


def main():
    add_api_key()
    order = {"accountID": ACCOUNT_ID, "symbolID": 1, "clOrdID": "py-1", "side": 1, "type": 1, "timeInForce": 1,
             "price": "20000.5", "quantity": "0.01"}
    action("newOrder", API, "spot", "newOrder", "POST", "/api/v1/spot/trade/orders", order, NAME)
    cancel = {"accountID": ACCOUNT_ID, "symbolID": 1, "clOrdID": "py-c1", "origClOrdID": "py-1"}
    action("cancelOrder", API, "spot", "cancelOrder", "DELETE", "/api/v1/spot/trade/orders", cancel, NAME)
    revoke = {"accountID": ACCOUNT_ID, "name": NAME}
    action("revokeAPIKey", MASTER, "universal", "revokeAPIKey", "DELETE", f"/api/v1/user/{MASTER.address}/api-keys",
           revoke)


if __name__ == "__main__":
    main()
