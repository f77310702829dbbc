#!/usr/bin/env python3
"""Independent signers for `tests/siwx_interop.rs`.

stdin: JSON list of {"kind": "eip191" | "solana", "key": <hex private key / ed25519 seed>, "text": <challenge text>}
stdout: JSON list of {"address", "signature_hex", "signature_b64", "hash_hex"} in the same order.

eip191 uses PyPI `eth-account` (`Account.sign_message(encode_defunct(text=...))`); solana uses `cryptography`'s
Ed25519 (OpenSSL) and a base58 encoding of the public key. Exit status 3 when a library is not installed.
"""

import base64
import json
import sys

try:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
    from eth_account import Account
    from eth_account.messages import _hash_eip191_message, encode_defunct
except ImportError as e:  # pragma: no cover
    print(f"missing Python dependency: {e}", file=sys.stderr)
    sys.exit(3)

B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def b58encode(data: bytes) -> str:
    n = int.from_bytes(data, "big")
    out = ""
    while n:
        n, r = divmod(n, 58)
        out = B58[r] + out
    return "1" * (len(data) - len(data.lstrip(b"\0"))) + out


def main():
    out = []
    for item in json.load(sys.stdin):
        if item["kind"] == "eip191":
            msg = encode_defunct(text=item["text"])
            acct = Account.from_key(item["key"])
            signed = acct.sign_message(msg)
            sig = bytes(signed.signature)
            out.append(
                {
                    "address": acct.address,
                    "signature_hex": "0x" + sig.hex(),
                    "signature_b64": base64.b64encode(sig).decode(),
                    "hash_hex": bytes(_hash_eip191_message(msg)).hex(),
                }
            )
        elif item["kind"] == "solana":
            key = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(item["key"]))
            public = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
            sig = key.sign(item["text"].encode("utf-8"))
            out.append(
                {
                    "address": b58encode(public),
                    "signature_hex": "0x" + sig.hex(),
                    "signature_b64": base64.b64encode(sig).decode(),
                    "hash_hex": None,
                }
            )
        else:
            raise SystemExit(f"unknown kind {item['kind']!r}")
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
