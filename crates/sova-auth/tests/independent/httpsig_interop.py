#!/usr/bin/env python3
"""Independent RFC 9421 implementation (PyPI `http-message-signatures` 3.0) for `tests/httpsig_interop.rs`.

    httpsig_interop.py sign <created-unix-seconds>   -> JSON list of requests signed by the Python library
    httpsig_interop.py verify                        <- JSON list of requests signed by sova-auth, on stdin
                                                     -> JSON list of {"alg", "ok", "error"}

Keys are the RFC 9421 appendix B.1 test keys (test-key-rsa, test-key-rsa-pss, test-key-ecc-p256,
test-key-ed25519, test-shared-secret). Exit status 3 when the library is not installed.
"""

import base64
import json
import sys
import uuid
from datetime import datetime, timedelta, timezone

try:
    import requests
    from cryptography.hazmat.primitives.serialization import load_pem_private_key, load_pem_public_key
    from http_message_signatures import HTTPMessageSigner, HTTPMessageVerifier, HTTPSignatureKeyResolver
    from http_message_signatures.algorithms import ECDSA_P256_SHA256, ED25519, HMAC_SHA256, RSA_PSS_SHA512
except ImportError as e:  # pragma: no cover
    print(f"missing Python dependency: {e}", file=sys.stderr)
    sys.exit(3)

ORIGIN = "https://api.sova.test"

SHARED_SECRET = base64.b64decode(
    "uzvJfB4u3N0Jy4T7NZ75MDVcr8zSTInedJtkgcu46YW4XByzNJjxBdtjUkdJPBtbmHhIDi6pcl8jsasjlTMtDQ=="
)

PRIVATE = {
    "test-key-ed25519": """-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEIJ+DYvh6SEqVTm50DFtMDoQikTmiCqirVv9mWG9qfSnF
-----END PRIVATE KEY-----
""",
    "test-key-ecc-p256": """-----BEGIN EC PRIVATE KEY-----
MHcCAQEEIFKbhfNZfpDsW43+0+JjUr9K+bTeuxopu653+hBaXGA7oAoGCCqGSM49
AwEHoUQDQgAEqIVYZVLCrPZHGHjP17CTW0/+D9Lfw0EkjqF7xB4FivAxzic30tMM
4GF+hR6Dxh71Z50VGGdldkkDXZCnTNnoXQ==
-----END EC PRIVATE KEY-----
""",
    "test-key-rsa-pss": """-----BEGIN PRIVATE KEY-----
MIIEvgIBADALBgkqhkiG9w0BAQoEggSqMIIEpgIBAAKCAQEAr4tmm3r20Wd/Pbqv
P1s2+QEtvpuRaV8Yq40gjUR8y2Rjxa6dpG2GXHbPfvMs8ct+Lh1GH45x28Rw3Ry5
3mm+oAXjyQ86OnDkZ5N8lYbggD4O3w6M6pAvLkhk95AndTrifbIFPNU8PPMO7Oyr
FAHqgDsznjPFmTOtCEcN2Z1FpWgchwuYLPL+Wokqltd11nqqzi+bJ9cvSKADYdUA
AN5WUtzdpiy6LbTgSxP7ociU4Tn0g5I6aDZJ7A8Lzo0KSyZYoA485mqcO0GVAdVw
9lq4aOT9v6d+nb4bnNkQVklLQ3fVAvJm+xdDOp9LCNCN48V2pnDOkFV6+U9nV5oy
c6XI2wIDAQABAoIBAQCUB8ip+kJiiZVKF8AqfB/aUP0jTAqOQewK1kKJ/iQCXBCq
pbo360gvdt05H5VZ/RDVkEgO2k73VSsbulqezKs8RFs2tEmU+JgTI9MeQJPWcP6X
aKy6LIYs0E2cWgp8GADgoBs8llBq0UhX0KffglIeek3n7Z6Gt4YFge2TAcW2WbN4
XfK7lupFyo6HHyWRiYHMMARQXLJeOSdTn5aMBP0PO4bQyk5ORxTUSeOciPJUFktQ
HkvGbym7KryEfwH8Tks0L7WhzyP60PL3xS9FNOJi9m+zztwYIXGDQuKM2GDsITeD
2mI2oHoPMyAD0wdI7BwSVW18p1h+jgfc4dlexKYRAoGBAOVfuiEiOchGghV5vn5N
RDNscAFnpHj1QgMr6/UG05RTgmcLfVsI1I4bSkbrIuVKviGGf7atlkROALOG/xRx
DLadgBEeNyHL5lz6ihQaFJLVQ0u3U4SB67J0YtVO3R6lXcIjBDHuY8SjYJ7Ci6Z6
vuDcoaEujnlrtUhaMxvSfcUJAoGBAMPsCHXte1uWNAqYad2WdLjPDlKtQJK1diCm
rqmB2g8QE99hDOHItjDBEdpyFBKOIP+NpVtM2KLhRajjcL9Ph8jrID6XUqikQuVi
4J9FV2m42jXMuioTT13idAILanYg8D3idvy/3isDVkON0X3UAVKrgMEne0hJpkPL
FYqgetvDAoGBAKLQ6JZMbSe0pPIJkSamQhsehgL5Rs51iX4m1z7+sYFAJfhvN3Q/
OGIHDRp6HjMUcxHpHw7U+S1TETxePwKLnLKj6hw8jnX2/nZRgWHzgVcY+sPsReRx
NJVf+Cfh6yOtznfX00p+JWOXdSY8glSSHJwRAMog+hFGW1AYdt7w80XBAoGBAImR
NUugqapgaEA8TrFxkJmngXYaAqpA0iYRA7kv3S4QavPBUGtFJHBNULzitydkNtVZ
3w6hgce0h9YThTo/nKc+OZDZbgfN9s7cQ75x0PQCAO4fx2P91Q+mDzDUVTeG30mE
t2m3S0dGe47JiJxifV9P3wNBNrZGSIF3mrORBVNDAoGBAI0QKn2Iv7Sgo4T/XjND
dl2kZTXqGAk8dOhpUiw/HdM3OGWbhHj2NdCzBliOmPyQtAr770GITWvbAI+IRYyF
S7Fnk6ZVVVHsxjtaHy1uJGFlaZzKR4AGNaUTOJMs6NadzCmGPAxNQQOCqoUjn4XR
rOjr9w349JooGXhOxbu8nOxX
-----END PRIVATE KEY-----
""",
}

PUBLIC = {
    "test-key-ed25519": """-----BEGIN PUBLIC KEY-----
MCowBQYDK2VwAyEAJrQLj5P/89iXES9+vFgrIy29clF9CC/oPPsw3c5D0bs=
-----END PUBLIC KEY-----
""",
    "test-key-ecc-p256": """-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEqIVYZVLCrPZHGHjP17CTW0/+D9Lf
w0EkjqF7xB4FivAxzic30tMM4GF+hR6Dxh71Z50VGGdldkkDXZCnTNnoXQ==
-----END PUBLIC KEY-----
""",
    # RFC 9421 B.1.1 test-key-rsa (the Rust side signs rsa-pss-sha512 with it: its PKCS#1 private key loads there).
    "test-key-rsa": """-----BEGIN RSA PUBLIC KEY-----
MIIBCgKCAQEAhAKYdtoeoy8zcAcR874L8cnZxKzAGwd7v36APp7Pv6Q2jdsPBRrw
WEBnez6d0UDKDwGbc6nxfEXAy5mbhgajzrw3MOEt8uA5txSKobBpKDeBLOsdJKFq
MGmXCQvEG7YemcxDTRPxAleIAgYYRjTSd/QBwVW9OwNFhekro3RtlinV0a75jfZg
kne/YiktSvLG34lw2zqXBDTC5NHROUqGTlML4PlNZS5Ri2U4aCNx2rUPRcKIlE0P
uKxI4T+HIaFpv8+rdV6eUgOrB2xeI1dSFFn/nnv5OoZJEIB+VmuKn3DCUcCZSFlQ
PSXSfBDiUGhwOw76WuSSsf1D4b/vLoJ10wIDAQAB
-----END RSA PUBLIC KEY-----
""",
}

ALGS = {
    "ed25519": (ED25519, "test-key-ed25519"),
    "ecdsa-p256-sha256": (ECDSA_P256_SHA256, "test-key-ecc-p256"),
    "hmac-sha256": (HMAC_SHA256, "test-shared-secret"),
    "rsa-pss-sha512": (RSA_PSS_SHA512, "test-key-rsa-pss"),
}


class Keys(HTTPSignatureKeyResolver):
    def resolve_public_key(self, key_id):
        if key_id == "test-shared-secret":
            return SHARED_SECRET
        return load_pem_public_key(PUBLIC[key_id].encode())

    def resolve_private_key(self, key_id):
        if key_id == "test-shared-secret":
            return SHARED_SECRET
        return load_pem_private_key(PRIVATE[key_id].encode(), password=None)


def dump(req, alg, key_id, body):
    return {
        "alg": alg,
        "keyid": key_id,
        "method": req.method,
        "url": req.url,
        "headers": [[k, v] for k, v in req.headers.items()],
        "body_b64": base64.b64encode(body or b"").decode(),
    }


def sign(created_unix):
    created = datetime.fromtimestamp(created_unix, timezone.utc)
    out = []
    for alg, (algorithm, key_id) in ALGS.items():
        signer = HTTPMessageSigner(signature_algorithm=algorithm, key_resolver=Keys())
        # POST with a body: the library adds Content-Digest (sha-256) and covers it because body= is given.
        body = json.dumps({"chainId": "eip155:1:0xab16a96D359eC26a11e2C2b3d8f8B8942d5Bfcdb", "externalId": alg}).encode()
        req = requests.Request(
            "POST",
            ORIGIN + "/siwx/v1/customers",
            data=body,
            headers={
                "Authorization": "Bearer sk_test_tenant",
                "Content-Type": "application/json",
                "Idempotency-Key": str(uuid.UUID(int=0x0123456789ABCDEF0123456789ABCDEF)),
            },
        ).prepare()
        signer.sign(
            req,
            key_id=key_id,
            created=created,
            nonce=f"n-{alg}",
            label="sig1",
            covered_component_ids=("@method", "@target-uri", "authorization", "content-type", "idempotency-key"),
            body=body,
        )
        out.append(dump(req, alg, key_id, body))
        # GET without a body, covering @authority + @path + @query instead of @target-uri, without alg.
        req = requests.Request(
            "GET",
            ORIGIN + "/siwx/v1/customers/6f1c2d9e-0000-4000-8000-000000000001/challenge?fresh=1&x=a%20b",
            headers={"Authorization": "Bearer sk_test_tenant"},
        ).prepare()
        signer.sign(
            req,
            key_id=key_id,
            created=created,
            label="pyhms",
            include_alg=False,
            covered_component_ids=("@method", "@authority", "@path", "@query", "authorization"),
        )
        out.append(dump(req, alg, key_id, None))
    json.dump(out, sys.stdout)


def verify():
    results = []
    for item in json.load(sys.stdin):
        algorithm, _ = ALGS[item["alg"]]
        body = base64.b64decode(item["body_b64"])
        req = requests.Request(item["method"], item["url"], data=body or None).prepare()
        req.headers.clear()
        for k, v in item["headers"]:
            req.headers[k] = v
        verifier = HTTPMessageVerifier(signature_algorithm=algorithm, key_resolver=Keys())
        try:
            verifier.verify(req, max_age=timedelta(minutes=5), body=body if body else None)
            results.append({"alg": item["alg"], "ok": True, "error": None})
        except Exception as e:  # noqa: BLE001 - report any failure to the Rust side
            results.append({"alg": item["alg"], "ok": False, "error": f"{type(e).__name__}: {e}"})
    json.dump(results, sys.stdout)


if __name__ == "__main__":
    if sys.argv[1:2] == ["sign"]:
        sign(int(sys.argv[2]))
    elif sys.argv[1:2] == ["verify"]:
        verify()
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
