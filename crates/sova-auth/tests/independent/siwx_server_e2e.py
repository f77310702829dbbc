#!/usr/bin/env python3
"""End-to-end SIWX onboarding against a running Sova, driven only by independent implementations:
PyPI `http-message-signatures` 3.0 signs every HTTP request (RFC 9421, it adds Content-Digest itself) and
`eth-account` signs the challenge (EIP-191). Used by crates/sova-server/tests/it/siwx.rs.

stdin: {"base": "http://127.0.0.1:PORT", "secret": <customer_secret>, "alg": "ed25519" | "ecdsa-p256-sha256" |
        "hmac-sha256", "keyid": <registered keyid>, "wallet_key": <hex secp256k1 key>, "external_id": "..."}
stdout: JSON {"steps": [{"name", "status", "body", "headers"}...], "address": <wallet address>}
Exit status 3 when a library is not installed.
"""

import base64
import json
import os
import sys
import uuid
from datetime import datetime, timezone

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

try:
    import requests
    from eth_account import Account
    from eth_account.messages import encode_defunct
    from http_message_signatures import HTTPMessageSigner

    import httpsig_interop as keys
except ImportError as e:  # pragma: no cover
    print(f"missing Python dependency: {e}", file=sys.stderr)
    sys.exit(3)


def main():
    cfg = json.load(sys.stdin)
    algorithm, _ = keys.ALGS[cfg["alg"]]
    base, keyid = cfg["base"], cfg["keyid"]
    resolver_key = {"ed25519": "test-key-ed25519", "ecdsa-p256-sha256": "test-key-ecc-p256",
                    "hmac-sha256": "test-shared-secret"}[cfg["alg"]]

    class Resolver(keys.Keys):
        def resolve_private_key(self, key_id):
            return super().resolve_private_key(resolver_key)

    signer = HTTPMessageSigner(signature_algorithm=algorithm, key_resolver=Resolver())
    session = requests.Session()
    steps = []

    def send(name, method, path, payload=None, idem=None):
        headers = {"Authorization": "Bearer " + cfg["secret"]}
        body = None
        covered = ["@method", "@target-uri", "authorization"]
        if payload is not None:
            body = json.dumps(payload).encode()
            headers["Content-Type"] = "application/json"
            headers["Idempotency-Key"] = idem or str(uuid.uuid4())
            covered += ["content-type", "idempotency-key"]
        req = requests.Request(method, base + path, data=body, headers=headers).prepare()
        signer.sign(req, key_id=keyid, created=datetime.now(timezone.utc), nonce=uuid.uuid4().hex, label="sig1",
                    covered_component_ids=tuple(covered), body=body)
        resp = session.send(req)
        try:
            parsed = resp.json()
        except ValueError:
            parsed = None
        steps.append({"name": name, "status": resp.status_code, "body": parsed, "headers": dict(resp.headers)})
        return resp.status_code, parsed

    acct = Account.from_key(cfg["wallet_key"])
    chain_id = f"eip155:1:{acct.address}"
    idem = str(uuid.uuid4())
    payload = {"chainId": chain_id, "externalId": cfg["external_id"]}
    status, created = send("create", "POST", "/siwx/v1/customers", payload, idem)
    if status != 201:
        print(json.dumps({"steps": steps, "address": acct.address}))
        return
    send("create-replay", "POST", "/siwx/v1/customers", payload, idem)
    customer = created["data"]
    cid = customer["id"]
    _, ch = send("challenge", "GET", f"/siwx/v1/customers/{cid}/challenge")
    text = base64.b64decode(ch["data"]["challenge"]).decode()
    signed = acct.sign_message(encode_defunct(text=text))
    signature = base64.b64encode(bytes(signed.signature)).decode()
    send("sign", "POST", f"/siwx/v1/customers/{cid}/challenge/sign",
         {"ownerId": chain_id, "challenge": ch["data"]["challenge"], "signature": signature})
    send("read", "GET", f"/siwx/v1/customers/{cid}")
    print(json.dumps({"steps": steps, "address": acct.address}))


if __name__ == "__main__":
    main()
